"""The doctor ends a visit with a note and at least one ICD-10 diagnosis. They go into the patient's
record through the records services, in the completing transaction: an encounter of class
`teleconsultation` (an internet encounter, so it never makes a later condition eligible for
another online follow-up by itself) and one Condition per diagnosis, attached to that encounter
and carrying the note. The e-prescription is written elsewhere (/prescriptions/new, linked from
the console)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.errors import InvalidInput
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.visits import notices
from carebridge.portal.visits.lifecycle import Action, next_state
from carebridge.portal.visits.models import Visit
from carebridge.portal.visits.service import access_visit, move, record
from carebridge.records import entries
from carebridge.records.models import Condition
from carebridge.records.schemas import ClinicalStatus, ConditionIn, EncounterClass, EncounterIn

NOTE_MIN, NOTE_MAX, MAX_DIAGNOSES = 5, 4000, 5
ENCOUNTER_REASON = "互联网复诊 Online follow-up visit"


@dataclass(frozen=True)
class Diagnosis:
    code: str
    display: str = ""
    clinical_status: str = ClinicalStatus.active.value


def _check(note: str, diagnoses: list[Diagnosis]) -> str:
    note = (note or "").strip()
    if not NOTE_MIN <= len(note) <= NOTE_MAX:
        raise InvalidInput(N_("write the visit note (5 to 4000 characters)"), details={"field": "note"})
    if not 1 <= len(diagnoses) <= MAX_DIAGNOSES:
        raise InvalidInput(N_("give one to five diagnoses (ICD-10)"), details={"field": "diagnoses"})
    known = {s.value for s in ClinicalStatus}
    if any(d.clinical_status not in known for d in diagnoses):
        raise InvalidInput(N_("unknown clinical status"), details={"field": "diagnoses"})
    return note


async def complete_visit(session: AsyncSession, principal: Principal, visit_id: int, note: str,
                         diagnoses: list[Diagnosis]) -> Visit:
    found = await access_visit(session, principal, visit_id, action="visit_complete")
    visit = found.visit
    next_state(visit.state, Action.complete, found.parties)  # refused before anything is written
    note = _check(note, diagnoses)
    now = utcnow()
    encounter = await entries.add_encounter(session, principal, visit.patient_id, EncounterIn(
        encounter_class=EncounterClass.teleconsultation, department_id=visit.department_id,
        reason=f"{ENCOUNTER_REASON} #{visit.id}: {visit.condition_display}"[:500],
        occurred_at=visit.started_at or now, ended_at=now))
    for diagnosis in diagnoses:
        await entries.add_condition(session, principal, visit.patient_id, ConditionIn(
            code=diagnosis.code.strip(), display=diagnosis.display.strip()[:300],
            clinical_status=ClinicalStatus(diagnosis.clinical_status), note=note, encounter_id=encounter.id,
            occurred_at=now))
    await move(session, visit, Action.complete, found.parties, note=note, encounter_id=encounter.id, ended_at=now)
    await record(session, principal, visit, "visit_complete", diagnoses=[d.code for d in diagnoses])
    await notices.completed(session, visit)
    return visit


async def diagnoses_of(session: AsyncSession, visit: Visit) -> list[Condition]:
    """What the doctor diagnosed in this visit (the caller has opened the visit)."""
    if visit.encounter_id is None:
        return []
    return list((await session.scalars(select(Condition).where(
        Condition.encounter_id == visit.encounter_id, Condition.voided_at.is_(None)).order_by(Condition.id))).all())
