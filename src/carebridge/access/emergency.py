"""Break-the-glass. A clinician cannot *find* a patient outside their access by normal search, so
an emergency starts with a lookup by the exact national ID that shows only enough to confirm
identity (masked name, sex, birth year). Breaking the glass then needs a written reason, opens the
record for `settings.break_glass_hours`, is flagged in the audit trail and tells the admins of the
clinician's facility and of the patient's facilities at once.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import BreakGlass, Purpose
from carebridge.access.service import NOTE_MAX, record_denial, surviving_patient
from carebridge.audit import service as audit
from carebridge.auth.models import Role, RoleAssignment
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.notifications.service import notify
from carebridge.records.models import Patient, PatientRegistration

# GB 11643: 17 digits and a check character (a digit or X).
NATIONAL_ID = re.compile(r"^\d{17}[\dX]$")
MIN_REASON = 10


@dataclass(frozen=True)
class EmergencyMatch:
    """Only what confirms identity at the bedside; nothing from the record."""

    patient_id: int
    masked_name: str
    sex: str
    birth_year: int


def mask_name(name: str) -> str:
    """张小明 -> 张*明, 张明 -> 张*: enough to confirm, not enough to identify a stranger."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_national_id(national_id: str) -> str:
    return national_id[:3] + "*" * max(len(national_id) - 7, 0) + national_id[-4:]


def _require_clinician(session: AsyncSession, principal: Principal, patient_id: int | None, action: str) -> None:
    if not principal.is_clinician:
        record_denial(session, principal, patient_id, action=action, purpose=Purpose.emergency.value)
        raise Forbidden(N_("only clinical staff can use emergency access"))


async def emergency_lookup(session: AsyncSession, principal: Principal, national_id: str) -> list[EmergencyMatch]:
    """Every lookup is written down, found or not, with the ID masked."""
    _require_clinician(session, principal, None, "search")
    national_id = national_id.strip().upper()
    if not NATIONAL_ID.fullmatch(national_id):
        raise InvalidInput(N_("enter the full 18-character national ID"), details={"field": "national_id"})
    patients = (await session.scalars(select(Patient).where(
        Patient.national_id == national_id, Patient.merged_into_id.is_(None)).order_by(Patient.id))).all()
    facility_id = min(principal.clinical_facility_ids)
    detail = {"emergency_lookup": True, "national_id": mask_national_id(national_id)}
    if not patients:
        audit.append_even_if_rolled_back(session, audit.Entry(
            action="search", outcome="not_found", actor=principal.actor(facility_id), resource_type="Patient",
            purpose=Purpose.emergency.value, detail=detail))
        raise NotFound(N_("no patient has this national ID"))
    for patient in patients:
        await audit.append(session, audit.Entry(
            action="search", outcome="allowed", actor=principal.actor(facility_id), patient_id=patient.id,
            resource_type="Patient", resource_id=patient.id, purpose=Purpose.emergency.value, detail=detail))
    return [EmergencyMatch(p.id, mask_name(p.name), p.sex, p.birth_date.year) for p in patients]


async def start_break_glass(session: AsyncSession, principal: Principal, patient_id: int, reason: str,
                            facility_id: int) -> BreakGlass:
    _require_clinician(session, principal, patient_id, "break_glass")
    reason = " ".join(reason.split())
    if not MIN_REASON <= len(reason) <= NOTE_MAX:
        raise InvalidInput(N_("explain the emergency in at least 10 characters"), details={"field": "reason"})
    if facility_id not in principal.clinical_facility_ids:
        record_denial(session, principal, patient_id, action="break_glass", purpose=Purpose.emergency.value)
        raise Forbidden(N_("you do not work at that facility"))
    patient = await surviving_patient(session, patient_id)
    if patient is None:
        record_denial(session, principal, patient_id, action="break_glass", purpose=Purpose.emergency.value,
                      facility_id=facility_id)
        raise NotFound(N_("patient not found"))
    now = utcnow()
    glass = BreakGlass(patient_id=patient.id, user_id=principal.user_id, facility_id=facility_id, reason=reason,
                       started_at=now, expires_at=now + dt.timedelta(hours=get_settings().break_glass_hours))
    session.add(glass)
    await session.flush()
    await audit.append(session, audit.Entry(
        action="break_glass", outcome="allowed", actor=principal.actor(facility_id), patient_id=patient.id,
        resource_type="Patient", resource_id=patient.id, purpose=Purpose.emergency.value,
        detail={"break_glass": True, "reason": reason, "break_glass_id": glass.id,
                "expires_at": glass.expires_at.isoformat()}))
    await _tell_admins(session, principal, glass, patient)
    return glass


async def _tell_admins(session: AsyncSession, principal: Principal, glass: BreakGlass, patient: Patient) -> None:
    registered = select(PatientRegistration.facility_id).where(PatientRegistration.patient_id == patient.id)
    admins = (await session.scalars(select(RoleAssignment.user_id).where(
        RoleAssignment.role == Role.facility_admin.value,
        (RoleAssignment.facility_id == glass.facility_id) | RoleAssignment.facility_id.in_(registered)))).all()
    until = glass.expires_at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    # The admins manage; they are told who and why, with the patient's name masked.
    await notify(session, admins, kind="break_glass",
                 title=_("Emergency access by %(name)s") % {"name": principal.display_name},
                 body=_("%(name)s broke the glass to open the record of patient %(patient)s (no. %(id)s) "
                        "until %(until)s. Reason: %(reason)s") % {
                     "name": principal.display_name, "patient": mask_name(patient.name), "id": patient.id,
                     "until": until, "reason": glass.reason},
                 link=f"/audit?break_glass=1&patient_id={patient.id}")


@dataclass(frozen=True)
class OpenEmergency:
    glass: BreakGlass
    masked_name: str


async def my_emergency_access(session: AsyncSession, principal: Principal, *,
                              glass_id: int | None = None) -> list[OpenEmergency]:
    """The caller's own break-the-glass windows still open (or one of them, by id)."""
    query = (select(BreakGlass, Patient.name).join(Patient, Patient.id == BreakGlass.patient_id)
             .where(BreakGlass.user_id == principal.user_id, BreakGlass.expires_at > utcnow())
             .order_by(BreakGlass.id.desc()))
    if glass_id is not None:
        query = query.where(BreakGlass.id == glass_id)
    return [OpenEmergency(glass, mask_name(name)) for glass, name in await session.execute(query)]
