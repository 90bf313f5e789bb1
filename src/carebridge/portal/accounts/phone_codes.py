"""One-time sign-in codes: six digits, stored only as a keyed digest, valid five minutes, a few
attempts each, the newest code of a phone the only one that works; asking for codes is throttled
per phone and per address. Never commits.

Each check is counted with a conditional UPDATE (`attempts < limit`), so parallel guesses cannot
exceed the limit, and a right code is spent with `consumed_at IS NULL`, so it opens one session
only. A wrong code is answered with a result, not an exception: the route returns its 401 without
rolling back, so the spent attempt stays counted."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.config import get_settings
from carebridge.errors import InvalidInput, TooManyAttempts
from carebridge.kit import events
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.accounts.models import PhoneCode
from carebridge.portal.accounts.senders import CodeSender
from carebridge.records.identifiers import check_phone, mask_phone, normalise_phone

log = logging.getLogger(__name__)
CODE_DIGITS = 6


class CodeCheck(StrEnum):
    ok = "ok"
    wrong = "wrong"
    expired = "expired"  # no live code: never sent, expired, replaced, used, or out of attempts


@dataclass(frozen=True)
class CheckResult:
    outcome: CodeCheck
    attempts_left: int = 0


@dataclass(frozen=True)
class CodeSent:
    phone: str
    expires_at: dt.datetime
    resend_after: int  # seconds
    minutes: int  # how long the code lives


def check_sign_in_phone(raw: str) -> str:
    phone = check_phone(raw or "")
    if not phone:
        raise InvalidInput(N_("enter your mobile phone number"), details={"field": "phone"})
    return phone


def normalise_login(raw: str) -> str:
    """A phone number typed with spaces or dashes is still the user name of a phone account."""
    text = (raw or "").strip()
    phone = normalise_phone(text)
    return phone if phone.lstrip("+").isdigit() else text


def digest(phone: str, code: str) -> str:
    """Keyed with the server secret: a million codes are nothing to hash, so a plain hash of a
    leaked table would give every live code back."""
    key = get_settings().require_secret().encode()
    return hmac.new(key, f"portal-code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


async def serialise(session: AsyncSession, key: str) -> None:
    """Makes concurrent transactions on the same key queue (PostgreSQL advisory lock until commit).
    SQLite needs nothing: every transaction there holds the write lock from its start."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


async def _throttle(session: AsyncSession, phone: str, ip: str, now: dt.datetime) -> None:
    settings = get_settings()
    hour_ago = now - dt.timedelta(hours=1)
    latest = await session.scalar(select(func.max(PhoneCode.created_at)).where(PhoneCode.phone == phone))
    resend = dt.timedelta(seconds=settings.portal_code_resend_seconds)
    if latest is not None and latest > now - resend:
        raise TooManyAttempts(N_("a code was sent moments ago; wait a little before asking again"),
                              code="code_resend_too_soon",
                              details={"retry_after": max(1, int((latest + resend - now).total_seconds()) + 1)})
    for column, value, limit in ((PhoneCode.phone, phone, settings.portal_code_per_phone_hour),
                                 (PhoneCode.ip, ip, settings.portal_code_per_address_hour)):
        if column is PhoneCode.ip and not ip:
            continue
        sent = await session.scalar(select(func.count()).select_from(PhoneCode)
                                    .where(column == value, PhoneCode.created_at > hour_ago))
        if sent >= limit:
            oldest = await session.scalar(select(func.min(PhoneCode.created_at))
                                          .where(column == value, PhoneCode.created_at > hour_ago))
            raise TooManyAttempts(N_("too many codes were asked for; try again later"), code="too_many_codes",
                                  details={"retry_after": max(1, int((oldest + dt.timedelta(hours=1) - now)
                                                                     .total_seconds()) + 1)})


async def request_code(session: AsyncSession, raw_phone: str, *, ip: str, sender: CodeSender) -> CodeSent:
    phone = check_sign_in_phone(raw_phone)
    ip = ip[:64]
    await serialise(session, f"portal-code:{phone}")
    now = utcnow()
    await _throttle(session, phone, ip, now)
    settings = get_settings()
    # Only the newest code works: an older one still on its way is not a second key to guess.
    await session.execute(update(PhoneCode).where(PhoneCode.phone == phone, PhoneCode.consumed_at.is_(None),
                                                  PhoneCode.expires_at > now).values(expires_at=now))
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    row = PhoneCode(phone=phone, code_digest=digest(phone, code), ip=ip, created_at=now,
                    expires_at=now + dt.timedelta(minutes=settings.portal_code_minutes))
    session.add(row)
    await session.flush()
    await audit.append(session, audit.Entry(
        action="send_code", outcome="success", actor=audit.Actor(ip=ip), resource_type="PhoneCode",
        resource_id=row.id, detail={"phone": mask_phone(phone), "channel": sender.name}))
    minutes = settings.portal_code_minutes

    async def _send() -> None:
        try:
            await sender.send(phone, code, minutes)
        except Exception:  # the user sees no code and asks again; the code is useless to anyone else
            log.exception("sending a sign-in code to %s failed", mask_phone(phone))

    events.after_commit(session, _send)
    return CodeSent(phone, row.expires_at, settings.portal_code_resend_seconds, minutes)


async def check_code(session: AsyncSession, raw_phone: str, code: str, *, ip: str) -> CheckResult:
    """Spends one attempt of the phone's live code. `ok` also spends the code itself."""
    phone = check_sign_in_phone(raw_phone)
    code = (code or "").strip()
    now, limit = utcnow(), get_settings().portal_code_attempts
    live = await session.scalar(select(PhoneCode.id).where(
        PhoneCode.phone == phone, PhoneCode.consumed_at.is_(None), PhoneCode.expires_at > now)
        .order_by(PhoneCode.id.desc()).limit(1))
    attempts = None
    if live is not None:
        attempts = await session.scalar(
            update(PhoneCode).where(PhoneCode.id == live, PhoneCode.attempts < limit, PhoneCode.consumed_at.is_(None))
            .values(attempts=PhoneCode.attempts + 1).returning(PhoneCode.attempts))
    if attempts is None:
        _audit_check(session, phone, ip, "expired")
        return CheckResult(CodeCheck.expired)
    stored = await session.scalar(select(PhoneCode.code_digest).where(PhoneCode.id == live))
    if not (len(code) == CODE_DIGITS and code.isdigit() and hmac.compare_digest(stored, digest(phone, code))):
        _audit_check(session, phone, ip, "wrong")
        return CheckResult(CodeCheck.wrong, max(0, limit - attempts))
    spent = await session.execute(update(PhoneCode).where(PhoneCode.id == live, PhoneCode.consumed_at.is_(None))
                                  .values(consumed_at=now).execution_options(synchronize_session=False))
    if spent.rowcount != 1:  # a parallel request with the same code got there first
        _audit_check(session, phone, ip, "expired")
        return CheckResult(CodeCheck.expired)
    return CheckResult(CodeCheck.ok)


def _audit_check(session: AsyncSession, phone: str, ip: str, outcome: str) -> None:
    # Written whatever happens to the request: a failed code is a failed sign-in.
    audit.append_even_if_rolled_back(session, audit.Entry(
        action="sign_in", outcome="failure", actor=audit.Actor(ip=ip[:64]), resource_type="PhoneCode",
        detail={"method": "phone_code", "phone": mask_phone(phone), "reason": outcome}))
