"""Writing record entries: one function per kind, each coded and validated, each with provenance
(the facility the caller acts for, the caller, a timezone-aware time). Entries are voided with a
reason, never deleted."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import with_polymorphic

from carebridge.access.service import READ, WRITE, PatientAccess, access_patient
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Department
from carebridge.records import codes
from carebridge.records.models import (
    Allergy,
    Condition,
    Encounter,
    MedicationStatement,
    Observation,
    Procedure,
    RecordEntry,
)
from carebridge.records.schemas import (
    AllergyIn,
    ConditionIn,
    EncounterIn,
    MedicationIn,
    ObservationIn,
    ProcedureIn,
)

LOINC, ICD10 = "LOINC", "ICD-10"
# Clocks on village clinic PCs drift; a few minutes ahead is tolerated, anything more is a typo.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
# UCUM's printable case-sensitive syntax: letters, digits, brackets, operators, annotations.
UCUM_PATTERN = re.compile(r"^[A-Za-z0-9%\[\]\{\}\*\^/\.\-']{1,30}$")


async def open_for_write(session: AsyncSession, principal: Principal, patient_id: int,
                          resource_type: str) -> PatientAccess:
    return await access_patient(session, principal, patient_id, action="create", mode=WRITE,
                                resource_type=resource_type)


def check_time(value: dt.datetime | None, field: str = "occurred_at") -> dt.datetime:
    now = utcnow()
    if value is None:
        return now
    if value.tzinfo is None:
        raise InvalidInput(N_("the time needs a time zone"), details={"field": field})
    if value > now + FUTURE_TOLERANCE:
        raise InvalidInput(N_("the time is in the future"), details={"field": field})
    if value < EARLIEST:
        raise InvalidInput(N_("the time is too far in the past"), details={"field": field})
    return value.astimezone(dt.UTC)


async def _check_encounter(session: AsyncSession, access: PatientAccess, encounter_id: int | None) -> None:
    if encounter_id is None:
        return
    found = await session.scalar(select(Encounter.id).where(
        Encounter.id == encounter_id, Encounter.patient_id == access.patient.id, Encounter.voided_at.is_(None)))
    if found is None:
        raise InvalidInput(N_("the encounter does not exist in this patient's record"),
                           details={"field": "encounter_id"})


def spine_for(access: PatientAccess, principal: Principal, occurred_at: dt.datetime | None,
              encounter_id: int | None = None) -> dict:
    """The provenance every entry carries: facility acted for, author, when it happened."""
    return {"patient_id": access.patient.id, "facility_id": access.facility_id, "author_id": principal.user_id,
            "occurred_at": check_time(occurred_at), "encounter_id": encounter_id}


async def _provenance(session: AsyncSession, access: PatientAccess, principal: Principal, data: Any) -> dict:
    await _check_encounter(session, access, data.encounter_id)
    return spine_for(access, principal, data.occurred_at, data.encounter_id)


async def _save(session: AsyncSession, entry: RecordEntry) -> RecordEntry:
    session.add(entry)
    await session.flush()
    return entry


# ---- observations ---------------------------------------------------------------------------

def interpret(value: float | None, low: float | None, high: float | None) -> str:
    """HL7 v3 ObservationInterpretation: N, H/L, and HH/LL when beyond the range by its own width."""
    if value is None or (low is None and high is None):
        return ""
    width = (high - low) if low is not None and high is not None else None
    if high is not None and value > high:
        return "HH" if width and value > high + width else "H"
    if low is not None and value < low:
        return "LL" if width and value < low - width else "L"
    return "N"


def _observation_fields(data: ObservationIn) -> dict:
    if not codes.is_loinc(data.code):
        raise InvalidInput(N_("not a valid LOINC code (format or check digit)"), details={"field": "code"})
    if (data.value is None) == (not data.value_text):
        raise InvalidInput(N_("give either a numeric value or a text value"), details={"field": "value"})
    if data.value is not None and not math.isfinite(data.value):
        raise InvalidInput(N_("the value must be a finite number"), details={"field": "value"})
    known = codes.OBSERVATIONS.get(data.code)
    unit = data.unit or (known.unit if known else "")
    if known and data.value is not None and unit != known.unit:
        raise InvalidInput(N_("this observation is recorded in a different unit"),
                           details={"field": "unit", "expected": known.unit})
    if data.value is not None and not UCUM_PATTERN.match(unit):
        raise InvalidInput(N_("a numeric value needs a UCUM unit"), details={"field": "unit"})
    low = data.ref_low if data.ref_low is not None else (known.ref_low if known else None)
    high = data.ref_high if data.ref_high is not None else (known.ref_high if known else None)
    if low is not None and high is not None and low > high:
        raise InvalidInput(N_("the reference range is upside down"), details={"field": "ref_low"})
    return {"code_system": LOINC, "code": data.code,
            "display": data.display or (known.name_en if known else data.code),
            "category": data.category or (known.category if known else "laboratory"),
            "value_num": data.value, "value_text": data.value_text, "unit": unit if data.value is not None else "",
            "ref_low": low, "ref_high": high, "interpretation": interpret(data.value, low, high)}


async def add_observation(session: AsyncSession, principal: Principal, patient_id: int,
                          data: ObservationIn) -> Observation:
    access = await open_for_write(session, principal, patient_id, "Observation")
    fields = _observation_fields(data)
    return await _save(session, Observation(**await _provenance(session, access, principal, data), **fields))


# ---- conditions, encounters, medications, allergies, procedures -----------------------------

async def add_condition(session: AsyncSession, principal: Principal, patient_id: int,
                        data: ConditionIn) -> Condition:
    access = await open_for_write(session, principal, patient_id, "Condition")
    code = data.code.upper()
    if not codes.is_icd10(code):
        raise InvalidInput(N_("not a valid ICD-10 code"), details={"field": "code"})
    known = codes.CONDITIONS.get(code)
    return await _save(session, Condition(
        **await _provenance(session, access, principal, data), code_system=ICD10, code=code,
        display=data.display or (known[1] if known else code), clinical_status=data.clinical_status.value,
        verification_status=data.verification_status.value, note=data.note))


async def add_encounter(session: AsyncSession, principal: Principal, patient_id: int,
                        data: EncounterIn) -> Encounter:
    access = await open_for_write(session, principal, patient_id, "Encounter")
    if data.encounter_id is not None:
        raise InvalidInput(N_("an encounter cannot belong to another encounter"), details={"field": "encounter_id"})
    spine = await _provenance(session, access, principal, data)
    ended = check_time(data.ended_at, "ended_at") if data.ended_at else None
    if ended is not None and ended < spine["occurred_at"]:
        raise InvalidInput(N_("the encounter ends before it starts"), details={"field": "ended_at"})
    if data.department_id is not None and await session.get(Department, data.department_id) is None:
        raise InvalidInput(N_("no such department"), details={"field": "department_id"})
    return await _save(session, Encounter(
        **spine, encounter_class=data.encounter_class.value, department_id=data.department_id,
        reason=data.reason, ended_at=ended, display=data.reason[:300]))


async def add_medication(session: AsyncSession, principal: Principal, patient_id: int,
                         data: MedicationIn) -> MedicationStatement:
    access = await open_for_write(session, principal, patient_id, "MedicationStatement")
    return await _save(session, MedicationStatement(
        **await _provenance(session, access, principal, data), code_system=data.code_system, code=data.code,
        display=data.display, dose=data.dose, route=data.route, frequency=data.frequency,
        status=data.status.value))


async def add_allergy(session: AsyncSession, principal: Principal, patient_id: int, data: AllergyIn) -> Allergy:
    access = await open_for_write(session, principal, patient_id, "AllergyIntolerance")
    return await _save(session, Allergy(
        **await _provenance(session, access, principal, data), display=data.display,
        category=data.category.value, criticality=data.criticality.value, reaction=data.reaction))


async def add_procedure(session: AsyncSession, principal: Principal, patient_id: int,
                        data: ProcedureIn) -> Procedure:
    access = await open_for_write(session, principal, patient_id, "Procedure")
    return await _save(session, Procedure(
        **await _provenance(session, access, principal, data), code_system=data.code_system, code=data.code,
        display=data.display, body_site=data.body_site, outcome=data.outcome))


# ---- reading one entry, voiding -------------------------------------------------------------

async def _load_entry(session: AsyncSession, entry_id: int) -> RecordEntry:
    entry = with_polymorphic(RecordEntry, "*")
    found = await session.scalar(select(entry).where(entry.id == entry_id))
    if found is None:
        raise NotFound(N_("entry not found"))
    return found


async def access_entry(session: AsyncSession, principal: Principal, entry_id: int, *, action: str = "read",
                       mode: str = READ) -> tuple[RecordEntry, PatientAccess]:
    """The entry and the caller's access to its patient; a grant that does not cover it is a 404."""
    entry = await _load_entry(session, entry_id)
    access = await access_patient(session, principal, entry.patient_id, action=action, mode=mode,
                                  resource_type=type(entry).__name__, resource_id=entry.id)
    if not access.allows(entry):
        raise NotFound(N_("entry not found"))
    return entry, access


async def get_entry(session: AsyncSession, principal: Principal, entry_id: int) -> RecordEntry:
    entry, _ = await access_entry(session, principal, entry_id)
    return entry


async def void_entry(session: AsyncSession, principal: Principal, entry_id: int, reason: str) -> RecordEntry:
    entry, _ = await access_entry(session, principal, entry_id, action="void", mode=WRITE)
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise InvalidInput(N_("give a reason for voiding"), details={"field": "reason"})
    if entry.voided_at is not None:
        raise Conflict(N_("this entry is already voided"))
    # Provenance stays honest: an entry is corrected where it was made, or by its author.
    if entry.author_id != principal.user_id and entry.facility_id not in principal.clinical_facility_ids:
        raise Forbidden(N_("only staff of the facility that recorded an entry can void it"))
    entry.voided_at, entry.voided_by_id, entry.void_reason = utcnow(), principal.user_id, reason[:500]
    await session.flush()
    return entry
