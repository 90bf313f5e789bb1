"""Users, roles, sign-in with lockout, server-side sessions and API tokens. Never commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import ADMIN_ROLES, ApiToken, Role, RoleAssignment, User, WebSession
from carebridge.auth.passwords import check_password_strength, hash_password, verify_password
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, TooManyAttempts
from carebridge.kit.clock import utcnow
from carebridge.kit.ids import new_token, token_digest
from carebridge.network.models import Facility

TOKEN_PREFIX = "cbt_"


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    password: str | None,
    roles: list[tuple[Role | str, int | None]] = (),
    email: str = "",
    phone: str = "",
    patient_id: int | None = None,
    password_hash: str | None = None,
) -> User:
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise InvalidInput("username must be 1-64 characters", details={"field": "username"})
    if await session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"username '{username}' is taken", details={"field": "username"})
    if password is not None:
        check_password_strength(password)
        password_hash = await hash_password(password)
    user = User(username=username, display_name=display_name, password_hash=password_hash,
                email=email, phone=phone, patient_id=patient_id)
    session.add(user)
    await session.flush()
    for role, facility_id in roles:
        await assign_role(session, user.id, role, facility_id)
    return user


async def assign_role(session: AsyncSession, user_id: int, role: Role | str, facility_id: int | None) -> None:
    role = Role(role)
    if (role == Role.platform_admin) != (facility_id is None):
        raise InvalidInput("platform_admin has no facility; every other role needs one")
    if facility_id is not None and await session.get(Facility, facility_id) is None:
        raise InvalidInput(f"facility {facility_id} does not exist", details={"field": "facility_id"})
    exists = await session.scalar(
        select(RoleAssignment.id).where(
            RoleAssignment.user_id == user_id, RoleAssignment.role == role.value,
            RoleAssignment.facility_id.is_(None) if facility_id is None
            else RoleAssignment.facility_id == facility_id,
        )
    )
    if not exists:
        session.add(RoleAssignment(user_id=user_id, role=role.value, facility_id=facility_id))
        await session.flush()


async def load_principal(session: AsyncSession, user: User, *, via: str, ip: str = "") -> Principal:
    rows = await session.execute(
        select(RoleAssignment.role, RoleAssignment.facility_id).where(RoleAssignment.user_id == user.id)
    )
    return Principal(
        user_id=user.id, username=user.username, display_name=user.display_name,
        roles=frozenset((r, f) for r, f in rows), patient_id=user.patient_id, via=via, ip=ip,
    )


async def needs_second_factor(session: AsyncSession, user: User) -> bool:
    """TOTP is required for admins, for staff of facilities that enforce it, and for anyone enrolled."""
    if user.totp_enabled:
        return True
    rows = (await session.execute(
        select(RoleAssignment.role, Facility.require_mfa)
        .outerjoin(Facility, Facility.id == RoleAssignment.facility_id)
        .where(RoleAssignment.user_id == user.id)
    )).all()
    return any(role in ADMIN_ROLES or bool(require) for role, require in rows)


@dataclass
class SignIn:
    user: User
    token: str
    web_session: WebSession
    second_factor_pending: bool


async def sign_in(session: AsyncSession, username: str, password: str, *, ip: str = "") -> SignIn:
    settings = get_settings()
    user = await session.scalar(select(User).where(User.username == username.strip().lower()))
    now = utcnow()
    if user is not None and user.locked_until and user.locked_until > now:
        _audit_sign_in(session, user, "locked", ip)
        raise TooManyAttempts("too many failed sign-ins; try again later",
                              details={"retry_after": int((user.locked_until - now).total_seconds())})
    valid = await verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        if user is not None:
            await _count_failure(session, user, settings.login_max_failures, settings.login_lockout_minutes)
        _audit_sign_in(session, user, "failure", ip, username=username)
        raise NotAuthenticated("wrong username or password", code="bad_credentials")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    pending = await needs_second_factor(session, user)
    token, web_session = await start_session(session, user, ip=ip, mfa_verified=not pending)
    await audit.append(session, audit.Entry(
        action="sign_in", outcome="pending_second_factor" if pending else "success",
        actor=audit.Actor(user_id=user.id, name=user.display_name, ip=ip),
        resource_type="User", resource_id=user.id))
    return SignIn(user, token, web_session, pending)


async def _count_failure(session: AsyncSession, user: User, max_failures: int, minutes: int) -> None:
    # Counted in its own transaction: the request's will roll back with the 401.
    user_id = user.id

    async def _write(own: AsyncSession) -> None:
        row = await own.get(User, user_id)
        row.failed_logins += 1
        if row.failed_logins >= max_failures:
            row.locked_until = utcnow() + dt.timedelta(minutes=minutes)
            row.failed_logins = 0

    from carebridge.kit import events

    events.always(session, _write)


def _audit_sign_in(session: AsyncSession, user: User | None, outcome: str, ip: str, username: str = "") -> None:
    audit.append_even_if_rolled_back(session, audit.Entry(
        action="sign_in", outcome=outcome,
        actor=audit.Actor(user_id=user.id if user else None, name=user.display_name if user else "", ip=ip),
        resource_type="User", resource_id=user.id if user else "",
        detail={} if user else {"username": username[:64]}))


async def start_session(session: AsyncSession, user: User, *, ip: str, mfa_verified: bool) -> tuple[str, WebSession]:
    token = new_token()
    hours = get_settings().session_hours
    web_session = WebSession(
        token_digest=token_digest(token), user_id=user.id, csrf_token=new_token(24),
        mfa_verified=mfa_verified, expires_at=utcnow() + dt.timedelta(hours=hours), ip=ip,
    )
    session.add(web_session)
    await session.flush()
    return token, web_session


async def resolve_session(session: AsyncSession, token: str) -> tuple[WebSession, User] | None:
    row = (await session.execute(
        select(WebSession, User).join(User, User.id == WebSession.user_id).where(
            WebSession.token_digest == token_digest(token), WebSession.ended_at.is_(None),
            WebSession.expires_at > utcnow(), User.is_active.is_(True),
        )
    )).first()
    return (row[0], row[1]) if row else None


async def end_session(session: AsyncSession, web_session: WebSession) -> None:
    web_session.ended_at = utcnow()


async def create_api_token(
    session: AsyncSession, principal: Principal, name: str, expires_days: int | None = None
) -> tuple[str, ApiToken]:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("token name must be 1-100 characters", details={"field": "name"})
    secret = TOKEN_PREFIX + new_token()
    expires = utcnow() + dt.timedelta(days=expires_days) if expires_days else None
    token = ApiToken(user_id=principal.user_id, name=name, token_digest=token_digest(secret),
                     prefix=secret[:12], expires_at=expires)
    session.add(token)
    await session.flush()
    await audit.append(session, audit.Entry(action="create", outcome="success", actor=principal.actor(),
                                            resource_type="ApiToken", resource_id=token.id))
    return secret, token


async def list_api_tokens(session: AsyncSession, principal: Principal) -> list[ApiToken]:
    return list((await session.scalars(
        select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.id.desc())
    )).all())


async def revoke_api_token(session: AsyncSession, principal: Principal, token_id: int) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None or token.user_id != principal.user_id:
        raise NotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await audit.append(session, audit.Entry(action="revoke", outcome="success", actor=principal.actor(),
                                                resource_type="ApiToken", resource_id=token.id))
    return token


async def resolve_api_token(session: AsyncSession, secret: str) -> User | None:
    now = utcnow()
    token = await session.scalar(select(ApiToken).where(
        ApiToken.token_digest == token_digest(secret), ApiToken.revoked_at.is_(None)))
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    # Only touch last_used_at once a minute: a write per API call would serialise SQLite.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        await session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return user
