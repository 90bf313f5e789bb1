"""Users, roles, sign-in with lockout, server-side sessions and API tokens. Never commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import ADMIN_ROLES, ApiToken, Role, RoleAssignment, User, WebSession
from carebridge.auth.passwords import check_password_strength, hash_password, hasher, verify_password
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, TooManyAttempts
from carebridge.kit import events
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.ids import new_token, token_digest
from carebridge.network.models import Facility

TOKEN_PREFIX = "cbt_"  # noqa: S105 - a label that makes leaked tokens easy to spot, not a secret
MAX_TOKEN_DAYS = 3650


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
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise InvalidInput(N_("username must be 1-64 characters without spaces"), details={"field": "username"})
    display_name = display_name.strip()
    if not 1 <= len(display_name) <= 100:
        raise InvalidInput(N_("display name must be 1-100 characters"), details={"field": "display_name"})
    if await session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(N_("this username is taken"), details={"field": "username", "username": username})
    for role, facility_id in roles:  # all checked before the user row is written
        await check_role(session, role, facility_id)
    if password is not None:
        check_password_strength(password, username=username)
        password_hash = await hash_password(password)
    user = User(username=username, display_name=display_name, password_hash=password_hash,
                email=email, phone=phone, patient_id=patient_id)
    session.add(user)
    await session.flush()
    for role, facility_id in roles:
        await assign_role(session, user.id, role, facility_id)
    return user


async def check_role(session: AsyncSession, role: Role | str, facility_id: int | None) -> Role:
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidInput(N_("unknown role"), details={"field": "role", "role": str(role)}) from exc
    if (role == Role.platform_admin) != (facility_id is None):
        raise InvalidInput(N_("platform_admin has no facility; every other role needs one"),
                           details={"field": "facility_id"})
    if facility_id is not None and await session.get(Facility, facility_id) is None:
        raise InvalidInput(N_("that facility does not exist"), details={"field": "facility_id",
                                                                        "facility_id": facility_id})
    return role


async def assign_role(session: AsyncSession, user_id: int, role: Role | str, facility_id: int | None) -> None:
    role = await check_role(session, role, facility_id)
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


async def second_factor_required(session: AsyncSession, user: User) -> bool:
    """Required (not merely chosen): admin roles, and staff of facilities that enforce it."""
    rows = (await session.execute(
        select(RoleAssignment.role, Facility.require_mfa)
        .outerjoin(Facility, Facility.id == RoleAssignment.facility_id)
        .where(RoleAssignment.user_id == user.id)
    )).all()
    return any(role in ADMIN_ROLES or (bool(require) and role != Role.patient) for role, require in rows)


async def needs_second_factor(session: AsyncSession, user: User) -> bool:
    """TOTP is asked at sign-in from everyone who must have it and from anyone who enrolled."""
    return user.totp_enabled or await second_factor_required(session, user)


@dataclass(frozen=True)
class SessionRef:
    """What a request keeps of its web session. A plain value, not the ORM row: a rolled-back
    transaction expires ORM rows, and the error page drawn after it still needs the CSRF token."""

    id: int
    user_id: int
    csrf_token: str
    mfa_verified: bool

    @classmethod
    def of(cls, row: WebSession) -> SessionRef:
        return cls(row.id, row.user_id, row.csrf_token, row.mfa_verified)


@dataclass
class SignIn:
    user: User
    token: str
    web_session: WebSession
    second_factor_pending: bool


def check_not_locked(session: AsyncSession, user: User, ip: str) -> None:
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        _audit_sign_in(session, user, "locked", ip)
        raise TooManyAttempts(N_("too many failed attempts; try again later"),
                              details={"retry_after": max(1, int((user.locked_until - now).total_seconds()))})


async def check_credentials(session: AsyncSession, username: str, password: str, *, ip: str = "") -> User:
    """The password step shared by browser sign-in and token requests: lockout, timing, audit."""
    user = await session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is not None:
        check_not_locked(session, user, ip)
    valid = await verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        if user is not None:
            count_failure(session, user)
        _audit_sign_in(session, user, "failure", ip, username=username)
        raise NotAuthenticated(N_("wrong username or password"), code="bad_credentials")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, utcnow()
    if hasher().check_needs_rehash(user.password_hash):
        # Bulk-imported one-time passwords are hashed cheaply (they are random, not guessable);
        # the first real sign-in moves the hash to the configured production cost.
        user.password_hash = await hash_password(password)
    return user


async def sign_in(session: AsyncSession, username: str, password: str, *, ip: str = "") -> SignIn:
    user = await check_credentials(session, username, password, ip=ip)
    pending = await needs_second_factor(session, user)
    token, web_session = await start_session(session, user, ip=ip, mfa_verified=not pending)
    await audit.append(session, audit.Entry(
        action="sign_in", outcome="pending_mfa" if pending else "success",
        actor=audit.Actor(user_id=user.id, name=user.display_name, ip=ip),
        resource_type="User", resource_id=user.id))
    return SignIn(user, token, web_session, pending)


async def complete_sign_in(session: AsyncSession, pending: WebSession | SessionRef, user: User, *,
                           ip: str) -> tuple[str, WebSession]:
    """After the second factor: the half-signed-in session ends and a fresh one (new cookie value)
    starts, so a session id seen before the second factor is worth nothing after it."""
    await end_session(session, pending)
    return await start_session(session, user, ip=ip, mfa_verified=True)


def count_failure(session: AsyncSession, user: User) -> None:
    """One failed password or code. Written in a transaction of its own, since the request's will
    usually roll back with the 401; reaching the limit locks the account and ends its
    half-signed-in sessions, so the password must be given again after the lock."""
    settings = get_settings()
    user_id, limit, minutes = user.id, settings.login_max_failures, settings.login_lockout_minutes

    async def _write(own: AsyncSession) -> None:
        # An UPDATE ... RETURNING, not read-then-write: parallel guesses must each be counted.
        failures = await own.scalar(update(User).where(User.id == user_id)
                                    .values(failed_logins=User.failed_logins + 1).returning(User.failed_logins))
        if failures is not None and failures >= limit:
            now = utcnow()
            await own.execute(update(User).where(User.id == user_id).values(
                failed_logins=0, locked_until=now + dt.timedelta(minutes=minutes)))
            await own.execute(update(WebSession).where(
                WebSession.user_id == user_id, WebSession.mfa_verified.is_(False),
                WebSession.ended_at.is_(None)).values(ended_at=now))

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
        mfa_verified=mfa_verified, expires_at=utcnow() + dt.timedelta(hours=hours), ip=ip[:64],
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


async def end_session(session: AsyncSession, web_session: WebSession | SessionRef) -> None:
    await session.execute(update(WebSession).where(WebSession.id == web_session.id, WebSession.ended_at.is_(None))
                          .values(ended_at=utcnow()).execution_options(synchronize_session=False))


async def end_sessions(session: AsyncSession, user_id: int, *, keep_id: int | None = None) -> int:
    """Ends every open session of the user except `keep_id`; returns how many ended."""
    query = update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
    if keep_id is not None:
        query = query.where(WebSession.id != keep_id)
    result = await session.execute(query.values(ended_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


async def list_sessions(session: AsyncSession, user_id: int) -> list[WebSession]:
    return list((await session.scalars(
        select(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None),
                                 WebSession.expires_at > utcnow(), WebSession.mfa_verified.is_(True))
        .order_by(WebSession.created_at.desc(), WebSession.id.desc())
    )).all())


async def create_api_token(
    session: AsyncSession, principal: Principal, name: str, expires_days: int | None = None
) -> tuple[str, ApiToken]:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput(N_("token name must be 1-100 characters"), details={"field": "name"})
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise InvalidInput(N_("expiry must be between 1 and 3650 days"), details={"field": "expires_days"})
    secret = TOKEN_PREFIX + new_token()
    expires = utcnow() + dt.timedelta(days=expires_days) if expires_days else None
    token = ApiToken(user_id=principal.user_id, name=name, token_digest=token_digest(secret),
                     prefix=secret[:12], expires_at=expires)
    session.add(token)
    await session.flush()
    await audit.append(session, audit.Entry(action="create", outcome="success", actor=principal.actor(),
                                            resource_type="ApiToken", resource_id=token.id,
                                            detail={"name": name, "via": principal.via}))
    return secret, token


async def list_api_tokens(session: AsyncSession, principal: Principal) -> list[ApiToken]:
    return list((await session.scalars(
        select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.id.desc())
    )).all())


async def revoke_api_token(session: AsyncSession, principal: Principal, token_id: int) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None or token.user_id != principal.user_id:
        raise NotFound(N_("no such token"))
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
        await session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
                              .execution_options(synchronize_session=False))
    return user
