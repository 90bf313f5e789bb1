"""Nurses as home nursing sees them: a network practitioner with the nurse role at a facility, plus a
nursing profile (licence validity, years in practice, base and last position) and specialist
credentials. Facility administrators keep them; a nurse updates only their own position."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.errors import Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import today_local, utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import PracticeSite, Practitioner
from carebridge.network.practitioners import check_practitioner_admin, get_practitioner
from carebridge.network.service import audit_change
from carebridge.portal.home_nursing.catalogue import ASSESSOR, CREDENTIALS
from carebridge.portal.home_nursing.models import NurseCredential, NurseProfile


@dataclass
class Nurse:
    practitioner: Practitioner
    user: User
    profile: NurseProfile | None
    credentials: dict[str, NurseCredential] = field(default_factory=dict)

    def years_on(self, day: dt.date) -> int:
        if self.profile is None:
            return 0
        since = self.profile.practising_since
        return day.year - since.year - ((day.month, day.day) < (since.month, since.day))

    def holds(self, credential: str, day: dt.date) -> bool:
        held = self.credentials.get(credential)
        return held is not None and (held.valid_until is None or held.valid_until >= day)


@dataclass(frozen=True)
class ProfileInput:
    license_valid_until: dt.date
    practising_since: dt.date
    base_label: str = ""
    base_latitude: float | None = None
    base_longitude: float | None = None
    active: bool = True


def check_position(latitude: float | None, longitude: float | None, *, required: bool = True) -> None:
    if latitude is None and longitude is None and not required:
        return
    if (latitude is None or longitude is None or not math.isfinite(latitude) or not math.isfinite(longitude)
            or not -90 <= latitude <= 90 or not -180 <= longitude <= 180):
        raise InvalidInput(N_("give a latitude between -90 and 90 and a longitude between -180 and 180"),
                           details={"field": "latitude"})


async def nurses_of(session: AsyncSession, facility_id: int, *,
                    practitioner_ids: list[int] | None = None) -> list[Nurse]:
    """Active users with the nurse role at the facility who practise there, with profile and credentials."""
    query = (select(Practitioner, User).join(User, User.id == Practitioner.user_id)
             .join(PracticeSite, PracticeSite.practitioner_id == Practitioner.id)
             .join(RoleAssignment, RoleAssignment.user_id == User.id)
             .where(PracticeSite.facility_id == facility_id, RoleAssignment.facility_id == facility_id,
                    RoleAssignment.role == Role.nurse.value, User.is_active.is_(True))
             .order_by(User.display_name, Practitioner.id))
    if practitioner_ids is not None:
        query = query.where(Practitioner.id.in_(practitioner_ids))
    rows = (await session.execute(query)).all()
    return await _with_details(session, [tuple(r) for r in rows])


async def _with_details(session: AsyncSession, rows: list[tuple[Practitioner, User]]) -> list[Nurse]:
    ids = [p.id for p, _u in rows]
    if not ids:
        return []
    profiles = {p.practitioner_id: p for p in (await session.scalars(
        select(NurseProfile).where(NurseProfile.practitioner_id.in_(ids)))).all()}
    credentials: dict[int, dict[str, NurseCredential]] = {}
    for credential in (await session.scalars(select(NurseCredential).where(
            NurseCredential.practitioner_id.in_(ids)))).all():
        credentials.setdefault(credential.practitioner_id, {})[credential.credential] = credential
    return [Nurse(p, u, profiles.get(p.id), credentials.get(p.id, {})) for p, u in rows]


async def nurse_by_id(session: AsyncSession, practitioner_id: int) -> Nurse:
    row = (await session.execute(select(Practitioner, User).join(User, User.id == Practitioner.user_id)
                                 .where(Practitioner.id == practitioner_id))).first()
    if row is None:
        raise NotFound(N_("practitioner not found"))
    return (await _with_details(session, [tuple(row)]))[0]


async def nurse_at(session: AsyncSession, facility_id: int, user_id: int) -> Nurse | None:
    practitioner_id = await session.scalar(select(Practitioner.id).where(Practitioner.user_id == user_id))
    if practitioner_id is None:
        return None
    found = await nurses_of(session, facility_id, practitioner_ids=[practitioner_id])
    return found[0] if found else None


async def is_assessor(session: AsyncSession, principal: Principal, facility_id: int) -> bool:
    if not principal.has_role(Role.nurse, facility_id):
        return False
    nurse = await nurse_at(session, facility_id, principal.user_id)
    return nurse is not None and nurse.holds(ASSESSOR, today_local())


def assessor_facilities(principal: Principal) -> set[int]:
    """Facilities where the caller might assess (the credential is checked per facility)."""
    return principal.facilities_with(Role.nurse)


async def set_profile(session: AsyncSession, principal: Principal, practitioner_id: int,
                      data: ProfileInput) -> NurseProfile:
    practitioner = await get_practitioner(session, practitioner_id)
    await check_practitioner_admin(session, principal, practitioner.id)
    check_position(data.base_latitude, data.base_longitude, required=False)
    if data.practising_since > today_local():
        raise InvalidInput(N_("the start of practice cannot be in the future"), details={"field": "practising_since"})
    profile = await session.get(NurseProfile, practitioner.id)
    if profile is None:
        profile = NurseProfile(practitioner_id=practitioner.id)
        session.add(profile)
    profile.license_valid_until, profile.practising_since = data.license_valid_until, data.practising_since
    profile.base_label = data.base_label.strip()[:200]
    profile.base_latitude, profile.base_longitude = data.base_latitude, data.base_longitude
    profile.active, profile.updated_at = data.active, utcnow()
    await session.flush()
    await audit_change(session, principal, "nursing_profile", "NurseProfile", practitioner.id)
    return profile


async def set_credential(session: AsyncSession, principal: Principal, practitioner_id: int, credential: str, *,
                         certificate_no: str = "", valid_until: dt.date | None = None) -> NurseCredential:
    practitioner = await get_practitioner(session, practitioner_id)
    await check_practitioner_admin(session, principal, practitioner.id)
    if credential not in CREDENTIALS:
        raise InvalidInput(N_("unknown credential"), details={"field": "credential", "allowed": sorted(CREDENTIALS)})
    row = await session.scalar(select(NurseCredential).where(
        NurseCredential.practitioner_id == practitioner.id, NurseCredential.credential == credential))
    if row is None:
        row = NurseCredential(practitioner_id=practitioner.id, credential=credential)
        session.add(row)
    row.certificate_no, row.valid_until = certificate_no.strip()[:60], valid_until
    row.recorded_by_id, row.recorded_at = principal.user_id, utcnow()
    await session.flush()
    await audit_change(session, principal, "nursing_credential", "NurseCredential", practitioner.id,
                       credential=credential)
    return row


async def remove_credential(session: AsyncSession, principal: Principal, practitioner_id: int,
                            credential: str) -> None:
    await check_practitioner_admin(session, principal, practitioner_id)
    row = await session.scalar(select(NurseCredential).where(
        NurseCredential.practitioner_id == practitioner_id, NurseCredential.credential == credential))
    if row is None:
        raise NotFound(N_("credential not found"))
    await session.delete(row)
    await session.flush()
    await audit_change(session, principal, "nursing_credential_removed", "NurseCredential", practitioner_id,
                       credential=credential)


async def my_profile(session: AsyncSession, principal: Principal) -> NurseProfile:
    if not principal.has_role(Role.nurse):
        raise Forbidden(N_("only nurses can do this"))
    practitioner_id = await session.scalar(select(Practitioner.id).where(Practitioner.user_id == principal.user_id))
    profile = await session.get(NurseProfile, practitioner_id) if practitioner_id else None
    if profile is None:
        raise NotFound(N_("you have no home-nursing profile yet; ask your facility's administrator"))
    return profile


async def update_my_position(session: AsyncSession, principal: Principal, latitude: float,
                             longitude: float) -> NurseProfile:
    """Where the nurse is now (browser geolocation); dispatch measures from here while it is fresh."""
    check_position(latitude, longitude)
    profile = await my_profile(session, principal)
    profile.current_latitude, profile.current_longitude, profile.position_at = latitude, longitude, utcnow()
    await session.flush()
    return profile
