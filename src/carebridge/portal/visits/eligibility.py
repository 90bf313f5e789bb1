"""The follow-up rule of internet visits: an online visit may only follow up a condition already
diagnosed in person. Concretely, the booking names a Condition entry of the patient's record that
- is not voided,
- is active (active, recurrence or relapse),
- is confirmed (not provisional, differential, unconfirmed or refuted), and
- was recorded at an in-person encounter (outpatient, inpatient or emergency, not voided) at a
  network facility; a diagnosis made in a teleconsultation or an earlier online visit does not count.

When the rule blocks, the patient is told which of these failed, in their language."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from carebridge.access.service import PatientAccess
from carebridge.errors import InvalidInput
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.records.models import Condition, Encounter
from carebridge.records.schemas import ClinicalStatus, EncounterClass, VerificationStatus

ACTIVE = frozenset({ClinicalStatus.active.value, ClinicalStatus.recurrence.value, ClinicalStatus.relapse.value})
IN_PERSON = frozenset({EncounterClass.outpatient.value, EncounterClass.inpatient.value,
                       EncounterClass.emergency.value})

RULE = N_("Online visits are for follow-up only: you can book one for a condition that a doctor diagnosed "
          "in person at a hospital or clinic of the network.")
REASONS = {
    "not_in_record": N_("This condition is not in the patient's record."),
    "voided": N_("This diagnosis was withdrawn from the record, so it cannot be followed up online."),
    "not_active": N_("This condition is no longer active (resolved, inactive or in remission). A new or "
                     "returning problem needs an in-person visit first."),
    "not_confirmed": N_("This diagnosis was never confirmed. Online visits follow up confirmed diagnoses only: "
                        "please see a doctor in person first."),
    "diagnosed_online": N_("This diagnosis was made online, not in person. An online follow-up needs a diagnosis "
                           "made in person at a hospital or clinic of the network."),
    "no_in_person_visit": N_("The record does not show an in-person visit at which this was diagnosed. An online "
                             "follow-up needs a diagnosis made in person at a hospital or clinic of the network."),
}


@dataclass(frozen=True)
class Eligibility:
    condition_id: int
    code: str
    display: str
    diagnosed_at: dt.datetime | None
    facility_name: str
    reason: str  # "" when eligible, else a key of REASONS

    @property
    def eligible(self) -> bool:
        return not self.reason

    @property
    def explanation(self) -> str:
        """Translated into the current language; empty when eligible."""
        return i18n.gettext(REASONS[self.reason]) if self.reason else ""


def _reason(condition: Condition, encounter_class: str | None, encounter_voided: bool) -> str:
    if condition.voided_at is not None:
        return "voided"
    if condition.clinical_status not in ACTIVE:
        return "not_active"
    if condition.verification_status != VerificationStatus.confirmed.value:
        return "not_confirmed"
    if encounter_class is None or encounter_voided:
        return "no_in_person_visit"
    if encounter_class not in IN_PERSON:
        return "diagnosed_online"
    return ""


def _query():  # noqa: ANN202 - a Select of (Condition, encounter class, encounter voided_at, facility names)
    encounter = aliased(Encounter, flat=True)
    return (select(Condition, encounter.encounter_class, encounter.voided_at, Facility.name, Facility.name_en)
            .outerjoin(encounter, (encounter.id == Condition.encounter_id)
                       & (encounter.patient_id == Condition.patient_id))
            .join(Facility, Facility.id == Condition.facility_id))


def _assess(row) -> Eligibility:  # noqa: ANN001 - a row of _query()
    condition, encounter_class, encounter_voided_at, name, name_en = row
    facility = (name_en or name) if i18n.get_locale() == "en" else name
    return Eligibility(condition.id, condition.code, condition.display or condition.code, condition.occurred_at,
                       facility, _reason(condition, encounter_class, encounter_voided_at is not None))


async def check_condition(session: AsyncSession, patient_id: int, condition_id: int) -> Eligibility:
    """The rule applied to one named condition of this patient. The caller has authorised the
    patient (access_patient); a condition of another patient is simply not in this record."""
    row = (await session.execute(_query().where(Condition.id == condition_id,
                                                Condition.patient_id == patient_id))).first()
    if row is None:
        return Eligibility(condition_id, "", "", None, "", "not_in_record")
    return _assess(row)


async def require_eligible(session: AsyncSession, patient_id: int, condition_id: int) -> Eligibility:
    """The booking's gate: a refusal says which part of the rule failed (422 not_eligible)."""
    found = await check_condition(session, patient_id, condition_id)
    if not found.eligible:
        raise InvalidInput(REASONS[found.reason], code="not_eligible",
                           details={"field": "condition_id", "reason": found.reason, "rule": i18n.gettext(RULE)})
    return found


async def conditions_to_follow_up(session: AsyncSession, access: PatientAccess) -> list[Eligibility]:
    """The patient's conditions as the booking form lists them: one line per ICD-10 code (the
    eligible entry when there is one, else the newest), eligible first, each with its reason."""
    rows = (await session.execute(_query().where(Condition.patient_id == access.patient.id,
                                                 Condition.voided_at.is_(None), access.entry_filter())
                                  .order_by(Condition.occurred_at.desc(), Condition.id.desc()))).all()
    best: dict[str, Eligibility] = {}
    for row in rows:
        found = _assess(row)
        if found.code not in best or (found.eligible and not best[found.code].eligible):
            best[found.code] = found
    return sorted(best.values(), key=lambda e: (not e.eligible, e.display))
