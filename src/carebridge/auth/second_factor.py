"""TOTP second factor (RFC 6238: 30 s steps, 6 digits, one step of clock drift either way) and
single-use recovery codes. Never commits."""

from __future__ import annotations

import base64
import hmac
import re
import secrets

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import RecoveryCode, User
from carebridge.auth.principal import Principal
from carebridge.auth.service import check_not_locked, count_failure, second_factor_required
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.ids import token_digest

ISSUER = "CareBridge"
DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
_TOTP_SHAPE = re.compile(r"^\d{6}$")


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def current_step() -> int:
    return int(utcnow().timestamp()) // STEP_SECONDS


def provisioning_uri(user: User) -> str:
    return _totp(user.totp_secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """An SVG data: URI (the page's CSP allows img-src data:), so no QR ever leaves the server."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


async def begin_enrolment(session: AsyncSession, user: User, *, restart: bool = False) -> str:
    """The secret is kept but not in force until a code from it is confirmed."""
    if user.totp_enabled:
        raise Conflict(N_("a second factor is already set up"), code="already_enrolled")
    if restart or not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        user.totp_last_step = None
        await session.flush()
    return user.totp_secret


async def confirm_enrolment(session: AsyncSession, user: User, code: str, actor: Principal) -> list[str]:
    if user.totp_enabled:
        raise Conflict(N_("a second factor is already set up"), code="already_enrolled")
    if not user.totp_secret:
        raise InvalidInput(N_("start setting up the second factor first"), code="not_enrolling")
    if not await _accept_totp(session, user, _normalise(code)):
        raise InvalidInput(N_("that code is not right; check the clock on your phone and try again"),
                           details={"field": "code"}, code="bad_code")
    user.totp_enabled = True
    codes = await issue_recovery_codes(session, user)
    await audit.append(session, audit.Entry(action="enrol_mfa", outcome="success", actor=actor.actor(),
                                            resource_type="User", resource_id=user.id))
    return codes


async def _accept_totp(session: AsyncSession, user: User, code: str) -> bool:
    if not _TOTP_SHAPE.match(code) or not user.totp_secret:
        return False
    totp, now_step = _totp(user.totp_secret), current_step()
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue  # RFC 6238 §5.2: a code, once accepted, is never accepted again
        if hmac.compare_digest(totp.generate_otp(step), code):
            return await _claim_step(session, user, step)
    return False


async def _claim_step(session: AsyncSession, user: User, step: int) -> bool:
    # Conditional UPDATE: of two requests racing with the same code only one changes the row.
    result = await session.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


async def issue_recovery_codes(session: AsyncSession, user: User) -> list[str]:
    """Ten fresh codes replace any earlier ones; only their digests are stored."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
        session.add(RecoveryCode(user_id=user.id, code_digest=token_digest(raw)))
    await session.flush()
    return codes


async def unused_recovery_codes(session: AsyncSession, user_id: int) -> int:
    return await session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0


async def _use_recovery_code(session: AsyncSession, user: User, code: str) -> bool:
    if len(code) != 16:
        return False
    result = await session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_digest == token_digest(code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def verify_second_factor(session: AsyncSession, user: User, code: str, *, ip: str) -> str:
    """A TOTP code or a recovery code; wrong codes count towards the same lockout as passwords.
    Returns which kind was used."""
    check_not_locked(session, user, ip)
    if not user.totp_enabled:
        raise Forbidden(N_("set up a second factor first"), code="second_factor_not_enrolled")
    code = _normalise(code)
    kind = "totp" if _TOTP_SHAPE.match(code) else "recovery_code"
    ok = await (_accept_totp if kind == "totp" else _use_recovery_code)(session, user, code)
    entry = audit.Entry(action="verify_mfa", outcome="success" if ok else "failure",
                        actor=audit.Actor(user_id=user.id, name=user.display_name, ip=ip),
                        resource_type="User", resource_id=user.id, detail={"kind": kind})
    if not ok:
        count_failure(session, user)
        audit.append_even_if_rolled_back(session, entry)
        raise NotAuthenticated(N_("that code is not right"), code="bad_code", details={"field": "code"})
    user.failed_logins = 0
    await audit.append(session, entry)
    return kind


async def disable_own(session: AsyncSession, user: User, code: str, actor: Principal) -> None:
    """Only for people who chose a second factor: where it is required it cannot be switched off."""
    if await second_factor_required(session, user):
        raise Forbidden(N_("your role requires a second factor; it cannot be turned off"),
                        code="second_factor_required")
    if not user.totp_enabled:
        raise Conflict(N_("no second factor is set up"), code="not_enrolled")
    await verify_second_factor(session, user, code, ip=actor.ip)
    await clear(session, user)
    await audit.append(session, audit.Entry(action="disable_mfa", outcome="success", actor=actor.actor(),
                                            resource_type="User", resource_id=user.id))


async def clear(session: AsyncSession, user: User) -> None:
    user.totp_secret, user.totp_enabled, user.totp_last_step = None, False, None
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    await session.flush()
