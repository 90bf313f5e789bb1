"""Patient accounts: signing in by phone code (which signs up on first use), the real-name step,
and what an account knows about itself. A patient session is an ordinary `auth` session of a user
with the patient role. Never commits.

Accounts are found by their verified phone. A patient user made before the portal (by staff, by
the demo) with that phone is the same person: proving the phone signs them in and records the
phone as verified. Staff users are never signed in by a code (they need password and TOTP)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth import service as auth
from carebridge.auth.models import ApiToken, Role, RoleAssignment, User, WebSession
from carebridge.auth.passwords import check_password_strength, hash_password
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import TIER_LEVEL, Facility, Tier
from carebridge.portal.accounts import family, linking
from carebridge.portal.accounts.models import LinkStatus, PortalAccount
from carebridge.records.identifiers import check_national_id, mask_phone, national_id_birth_date

NAME_MAX = 100
ACCOUNT_ROLES = (Role.patient,)


@dataclass
class PhoneSignIn:
    user: User
    account: PortalAccount
    token: str | None  # the session cookie's value (browsers)
    web_session: WebSession | None
    second_factor_pending: bool
    created: bool
    program_token: tuple[str, ApiToken] | None = None  # (secret, row) for programs


async def portal_facility(session: AsyncSession) -> Facility:
    """Where sign-ups hold their patient role (see `portal_facility_code` in config.py)."""
    code = get_settings().portal_facility_code.strip()
    if code:
        facility = await session.scalar(select(Facility).where(Facility.code == code))
        if facility is None:
            raise Conflict(N_("the internet hospital's facility is not configured correctly"),
                           details={"portal_facility_code": code})
        return facility
    tiers = sorted((t for t in Tier if TIER_LEVEL[t] < TIER_LEVEL[Tier.national_center]),
                   key=lambda t: -TIER_LEVEL[t])
    for tier in tiers:
        facility = await session.scalar(select(Facility).where(Facility.tier == tier.value, Facility.active.is_(True))
                                        .order_by(Facility.id).limit(1))
        if facility is not None:
            return facility
    raise Conflict(N_("the network has no facility yet"))


async def account_of(session: AsyncSession, user_id: int) -> PortalAccount | None:
    return await session.scalar(select(PortalAccount).where(PortalAccount.user_id == user_id))


async def own_account(session: AsyncSession, principal: Principal) -> PortalAccount:
    account = await account_of(session, principal.user_id)
    if account is None:
        raise NotFound(N_("this account has no verified phone; sign in with a code first"), code="no_portal_account")
    return account


async def _patient_user_with_phone(session: AsyncSession, phone: str) -> User | None:
    """A patient-only user made before the portal, with this phone and no portal account yet."""
    staff = exists().where(RoleAssignment.user_id == User.id, RoleAssignment.role != Role.patient.value)
    has_account = exists().where(PortalAccount.user_id == User.id)
    patient = exists().where(RoleAssignment.user_id == User.id, RoleAssignment.role == Role.patient.value)
    users = (await session.scalars(select(User).where(User.phone == phone, patient, ~staff, ~has_account)
                                   .order_by(User.id).limit(2))).all()
    return users[0] if len(users) == 1 else None  # two such users: no guessing which one


async def _free_username(session: AsyncSession, phone: str) -> str:
    base = phone.lstrip("+")
    for n in range(1, 50):
        candidate = base if n == 1 else f"{base}-{n}"
        if not await session.scalar(select(User.id).where(User.username == candidate)):
            return candidate
    raise Conflict(N_("could not choose a user name for this phone"))


async def _new_account_user(session: AsyncSession, phone: str) -> tuple[User, PortalAccount]:
    facility = await portal_facility(session)
    # The phone is the user name, so the ordinary password sign-in works with it too.
    user = await auth.create_user(session, username=await _free_username(session, phone),
                                  display_name=mask_phone(phone), password=None, phone=phone,
                                  roles=[(Role.patient, facility.id)])
    account = PortalAccount(user_id=user.id, phone=phone, facility_id=facility.id)
    session.add(account)
    await session.flush()
    return user, account


async def _account_for_phone(session: AsyncSession, phone: str) -> tuple[User, PortalAccount, bool]:
    account = await session.scalar(select(PortalAccount).where(PortalAccount.phone == phone))
    if account is not None:
        return await session.get(User, account.user_id), account, False
    user = await _patient_user_with_phone(session, phone)
    if user is None:
        user, account = await _new_account_user(session, phone)
        return user, account, True
    facility_id = await session.scalar(select(RoleAssignment.facility_id).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role == Role.patient.value).order_by(RoleAssignment.id))
    account = PortalAccount(user_id=user.id, phone=phone, facility_id=facility_id,
                            real_name=user.display_name if user.patient_id else "",
                            link_status=LinkStatus.linked.value if user.patient_id else LinkStatus.profile.value)
    session.add(account)
    await session.flush()
    return user, account, False


async def sign_in_with_phone(session: AsyncSession, phone: str, *, ip: str, program: bool = False) -> PhoneSignIn:
    """After `phone_codes.check_code` said ok: the phone's account (made now if it is new) and a
    fresh session, or for a program a bearer token. Invitations from family members addressed to
    this phone are picked up. An account with a second factor gets a half-signed-in session (and
    no token): the code proves the phone, not the second factor."""
    user, account, created = await _account_for_phone(session, phone)
    if not user.is_active:
        raise Forbidden(N_("this account is disabled; contact the hospital"), code="account_disabled")
    now = utcnow()
    account.phone_verified_at, user.last_login_at = now, now
    await family.claim_invitations(session, user.id, phone)
    pending = await auth.needs_second_factor(session, user)
    await audit.append(session, audit.Entry(
        action="sign_in", outcome="pending_mfa" if pending else "success",
        actor=audit.Actor(user_id=user.id, name=user.display_name, role=Role.patient.value, ip=ip),
        resource_type="User", resource_id=user.id,
        detail={"method": "phone_code", "phone": mask_phone(phone), **({"signed_up": True} if created else {}),
                **({"via": "token"} if program else {})}))
    if program and not pending:
        return PhoneSignIn(user, account, None, None, False, created, await issue_program_token(session, user, ip=ip))
    token, web_session = await auth.start_session(session, user, ip=ip, mfa_verified=not pending)
    return PhoneSignIn(user, account, token, web_session, pending, created)


async def issue_program_token(session: AsyncSession, user: User, *, ip: str) -> tuple[str, ApiToken]:
    """A bearer token for an app that signed in by code (the API's alternative to a cookie)."""
    principal = await auth.load_principal(session, user, via="phone_code", ip=ip)
    return await auth.create_api_token(session, principal, "phone sign-in", get_settings().portal_token_days)


# ---- the real-name step ----------------------------------------------------------------------

@dataclass(frozen=True)
class RealName:
    name: str
    national_id: str
    sex: str
    birth_date: dt.date


def check_real_name(name: str, national_id: str) -> RealName:
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInput(N_("enter your name as on your ID card"), details={"field": "name"})
    nid = check_national_id(national_id or "")
    sex = "male" if int(nid[16]) % 2 else "female"
    return RealName(name, nid, sex, national_id_birth_date(nid))


async def complete_profile(session: AsyncSession, principal: Principal, name: str, national_id: str) -> PortalAccount:
    """Real name and national ID (sex and birth date come from the ID), then the link to the
    master record: automatic, waiting for staff, or a new record (linking.py)."""
    real = check_real_name(name, national_id)
    account = await own_account(session, principal)
    if account.link_status not in (LinkStatus.profile, LinkStatus.refused):
        raise Conflict(N_("your real-name details are already recorded"), code="profile_done")
    user = await session.get(User, account.user_id)
    account.real_name, account.national_id, account.sex, account.birth_date = (
        real.name, real.national_id, real.sex, real.birth_date)
    account.updated_at = utcnow()
    user.display_name = real.name
    await session.flush()
    await linking.link_account(session, principal, account, user)
    return account


async def set_first_password(session: AsyncSession, principal: Principal, password: str) -> None:
    """An account made by phone has no password; its owner may add one (changing one is /account)."""
    user = await session.get(User, principal.user_id)
    await own_account(session, principal)
    if user.password_hash is not None:
        raise Conflict(N_("you already have a password; change it on the account page"), code="has_password")
    check_password_strength(password, username=user.username)
    user.password_hash = await hash_password(password)
    await audit.append(session, audit.Entry(action="change_password", outcome="success", actor=principal.actor(),
                                            resource_type="User", resource_id=user.id, detail={"first": True}))


async def has_password(session: AsyncSession, user_id: int) -> bool:
    return bool(await session.scalar(select(User.password_hash.is_not(None)).where(User.id == user_id)))



@dataclass(frozen=True)
class Me:
    user: User
    account: PortalAccount | None
    acting_for: list[family.ActingChoice]

    @property
    def link_status(self) -> str:
        if self.account is not None:
            return self.account.link_status
        return LinkStatus.linked.value if self.user.patient_id else LinkStatus.profile.value

    @property
    def phone(self) -> str:
        return self.account.phone if self.account else self.user.phone or ""


async def me(session: AsyncSession, principal: Principal) -> Me:
    """The signed-in account as it sees itself, with everyone it may act for."""
    user = await session.get(User, principal.user_id)
    return Me(user, await account_of(session, user.id), await family.acting_choices(session, principal))
