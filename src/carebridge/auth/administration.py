"""User administration. Platform admins manage everyone; a facility admin manages the people who
work only at the facilities they administer, may grant roles only there, and never platform_admin.
People outside an admin's reach are 'not found'. Never commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth import second_factor
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.auth.service import assign_role, create_user, end_sessions
from carebridge.errors import Forbidden, InvalidInput, NotFound
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.network.models import Facility


@dataclass
class UserRow:
    user: User
    roles: list[tuple[str, int | None, str]] = field(default_factory=list)  # role, facility id, facility name


def managed_facilities(principal: Principal) -> set[int] | None:
    """None means every facility (platform admin)."""
    if principal.is_platform_admin:
        return None
    managed = principal.facilities_with(Role.facility_admin)
    if not managed:
        raise Forbidden(N_("only administrators can manage users"))
    return managed


def _visible_clause(managed: set[int] | None):  # noqa: ANN202 - a SQLAlchemy clause
    if managed is None:
        return User.id.is_not(None)
    return User.id.in_(select(RoleAssignment.user_id).where(RoleAssignment.facility_id.in_(managed)))


async def list_users(session: AsyncSession, principal: Principal, *, q: str = "", cursor: str | None = None,
                     limit: int = 50) -> Page[UserRow]:
    managed = managed_facilities(principal)
    query = select(User).where(_visible_clause(managed)).order_by(User.id)
    if q.strip():
        pattern = f"%{q.strip().lower()}%"
        query = query.where(or_(User.username.like(pattern), User.display_name.ilike(pattern)))
    after = decode_cursor(cursor)
    if after:
        if not isinstance(after[0], int):
            raise InvalidInput(N_("cursor is not valid"))
        query = query.where(User.id > after[0])
    users = list((await session.scalars(query.limit(check_limit(limit) + 1))).all())
    more = len(users) > limit
    users = users[:limit]
    rows = await with_roles(session, users)
    return Page(rows, encode_cursor([users[-1].id]) if more else None)


async def with_roles(session: AsyncSession, users: list[User]) -> list[UserRow]:
    rows = {u.id: UserRow(u) for u in users}
    if rows:
        found = await session.execute(
            select(RoleAssignment.user_id, RoleAssignment.role, RoleAssignment.facility_id, Facility.name)
            .outerjoin(Facility, Facility.id == RoleAssignment.facility_id)
            .where(RoleAssignment.user_id.in_(rows)).order_by(RoleAssignment.id))
        for user_id, role, facility_id, name in found:
            rows[user_id].roles.append((role, facility_id, name or ""))
    return list(rows.values())


async def access_user(session: AsyncSession, principal: Principal, user_id: int, *, manage: bool = False) -> UserRow:
    """Fetches a user the admin may see; with manage=True also checks they may change the account
    itself (a person who also works elsewhere is not one facility's to switch off)."""
    managed = managed_facilities(principal)
    user = await session.scalar(select(User).where(User.id == user_id, _visible_clause(managed)))
    if user is None:
        raise NotFound(N_("no such user"))
    row = (await with_roles(session, [user]))[0]
    if manage and managed is not None:
        outside = [r for r, fid, _ in row.roles if fid is None or fid not in managed]
        if outside:
            raise Forbidden(N_("this person also has roles elsewhere; ask a platform administrator"))
    return row


def check_may_grant(principal: Principal, role: str, facility_id: int | None) -> None:
    managed = managed_facilities(principal)
    if managed is None:
        return
    if role == Role.platform_admin or facility_id not in managed:
        raise Forbidden(N_("you can grant roles only at the facilities you administer"))


async def create_staff_user(session: AsyncSession, principal: Principal, *, username: str, display_name: str,
                            role: str, facility_id: int | None, password: str | None = None,
                            email: str = "", phone: str = "") -> tuple[User, str | None]:
    """Returns the user and, when no password was given, a generated one to hand over once."""
    check_may_grant(principal, role, facility_id)
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    user = await create_user(session, username=username, display_name=display_name, password=password,
                             roles=[(role, facility_id)], email=email.strip()[:200], phone=phone.strip()[:40])
    await audit.append(session, audit.Entry(
        action="create", outcome="success", actor=principal.actor(), resource_type="User", resource_id=user.id,
        facility_id=facility_id, detail={"username": user.username, "role": role}))
    return user, generated


async def grant_role(session: AsyncSession, principal: Principal, user_id: int, role: str,
                     facility_id: int | None) -> UserRow:
    check_may_grant(principal, role, facility_id)
    row = await access_user(session, principal, user_id)
    await assign_role(session, row.user.id, role, facility_id)
    await audit.append(session, audit.Entry(
        action="grant_role", outcome="success", actor=principal.actor(), resource_type="User",
        resource_id=user_id, facility_id=facility_id, detail={"role": role}))
    return (await with_roles(session, [row.user]))[0]


async def set_active(session: AsyncSession, principal: Principal, user_id: int, active: bool) -> UserRow:
    if user_id == principal.user_id and not active:
        raise InvalidInput(N_("you cannot deactivate your own account"))
    row = await access_user(session, principal, user_id, manage=True)
    if row.user.is_active != active:
        row.user.is_active = active
        if not active:
            await end_sessions(session, user_id)
        await audit.append(session, audit.Entry(
            action="activate" if active else "deactivate", outcome="success", actor=principal.actor(),
            resource_type="User", resource_id=user_id))
    return row


async def reset_second_factor(session: AsyncSession, principal: Principal, user_id: int) -> UserRow:
    """For a lost phone: the person enrols again at their next sign-in. Their sessions end, since
    whoever holds the phone may be holding a session too."""
    if user_id == principal.user_id:
        raise InvalidInput(N_("ask another administrator to reset your own second factor"))
    row = await access_user(session, principal, user_id, manage=True)
    await second_factor.clear(session, row.user)
    await end_sessions(session, user_id)
    await audit.append(session, audit.Entry(
        action="reset_mfa", outcome="success", actor=principal.actor(), resource_type="User", resource_id=user_id))
    return row
