"""A person's own account: name, language, password. Never commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import User
from carebridge.auth.passwords import check_password_strength, hash_password, verify_password
from carebridge.auth.principal import Principal
from carebridge.auth.service import check_not_locked, count_failure, end_sessions
from carebridge.errors import InvalidInput, NotFound
from carebridge.kit import i18n
from carebridge.kit.i18n import N_


async def own_user(session: AsyncSession, principal: Principal) -> User:
    user = await session.get(User, principal.user_id)
    if user is None:
        raise NotFound(N_("no such user"))
    return user


def check_locale(locale: str | None) -> str | None:
    """'' or None means: follow the browser."""
    if not locale:
        return None
    if locale not in i18n.SUPPORTED:
        raise InvalidInput(N_("unsupported language"), details={"field": "locale", "supported": i18n.SUPPORTED})
    return locale


async def update_profile(session: AsyncSession, principal: Principal, *, display_name: str | None = None,
                         locale: str | None = None, set_locale: bool = False) -> User:
    # Everything is checked before anything is assigned: a bad language must not save the name.
    if display_name is not None:
        display_name = display_name.strip()
        if not 1 <= len(display_name) <= 100:
            raise InvalidInput(N_("display name must be 1-100 characters"), details={"field": "display_name"})
    locale = check_locale(locale) if set_locale else None
    user = await own_user(session, principal)
    if display_name is not None:
        user.display_name = display_name
    if set_locale:
        user.locale = locale
    await session.flush()
    return user


async def change_password(session: AsyncSession, principal: Principal, *, current: str, new: str,
                          keep_session_id: int | None) -> int:
    """Ends every other session (a changed password is often a response to a leaked one) and
    returns how many were ended. A wrong current password counts towards the lockout."""
    user = await own_user(session, principal)
    check_not_locked(session, user, principal.ip)
    if not await verify_password(user.password_hash, current):
        count_failure(session, user)
        raise InvalidInput(N_("the current password is not right"), details={"field": "current_password"},
                           code="bad_credentials")
    check_password_strength(new, username=user.username)
    if new == current:
        raise InvalidInput(N_("the new password must differ from the current one"),
                           details={"field": "new_password"})
    user.password_hash = await hash_password(new)
    ended = await end_sessions(session, user.id, keep_id=keep_session_id)
    await audit.append(session, audit.Entry(action="change_password", outcome="success", actor=principal.actor(),
                                            resource_type="User", resource_id=user.id,
                                            detail={"sessions_ended": ended}))
    return ended
