"""'My record' on a phone: who the patient is, their conditions, allergies, medicines, recent
results with trends, and their documents, read through the records services (one audited access
per page). Voided entries are left out: the patient sees what the record says now."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import PatientAccess, access_patient
from carebridge.auth.principal import Principal
from carebridge.records import service as records
from carebridge.records.models import EntryKind
from carebridge.records.page_parts import charts_for
from carebridge.records.schemas import EntryOut, PatientOut

RESULTS, DOCUMENTS, OTHER = 30, 30, 50


@dataclass(frozen=True)
class MyRecord:
    access: PatientAccess
    patient: PatientOut
    conditions: list[EntryOut]
    medications: list[EntryOut]
    results: list[EntryOut]
    documents: list[EntryOut]
    charts: list

    @property
    def allergies(self) -> list[str]:
        return self.patient.allergies


async def _current(session: AsyncSession, access: PatientAccess, kind: EntryKind, limit: int) -> list[EntryOut]:
    page = await records.timeline_for(session, access, kinds=[kind.value], limit=limit)
    return [entry for entry in page.items if not entry.voided]


async def my_record(session: AsyncSession, principal: Principal, patient_id: int) -> MyRecord:
    access = await access_patient(session, principal, patient_id, purpose=Purpose.patient_self,
                                  resource_type="PortalRecord")
    conditions = [c for c in await _current(session, access, EntryKind.condition, OTHER)
                  if c.details.get("clinical_status") in (None, "", "active", "recurrence", "relapse")]
    medications = [m for m in await _current(session, access, EntryKind.medication, OTHER)
                   if m.details.get("status") in (None, "", "active")]
    return MyRecord(
        access=access, patient=await records.patient_out_for(session, access), conditions=conditions,
        medications=medications, results=await _current(session, access, EntryKind.observation, RESULTS),
        documents=await _current(session, access, EntryKind.document, DOCUMENTS),
        charts=await charts_for(session, access))

