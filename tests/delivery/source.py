"""A real dispensable source for the delivery tests, standing in for pharmacy's approved
prescriptions until the two packages meet: a medication statement the doctor recorded as
*intended* (a refill to hand out) is dispensable at the recording facility; handing it over or
delivering it makes it *active* (the patient now takes it), after which it is not dispensable again.
Backed by rows written through the records service, not by a mock of delivery's own code."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.portal.delivery.sources import Dispensable, DispensedLine, register_source
from carebridge.records.models import MedicationStatement

KIND = "medication"
# code -> (unit price in fen, boxes per refill, insured, must stay cold)
CATALOGUE = {
    "C08CA01": (2850, 2, True, False),  # amlodipine 5 mg × 28
    "A10AE04": (16800, 1, True, True),  # insulin glargine 300 U pen
    "N02BE01": (650, 1, False, False),  # paracetamol 500 mg × 20
}


async def resolve_medication(session: AsyncSession, statement_id: int) -> Dispensable | None:
    statement = await session.get(MedicationStatement, statement_id)
    if statement is None or statement.voided_at is not None or statement.status != "intended" \
            or statement.code not in CATALOGUE:
        return None
    unit_fen, boxes, insured, cold = CATALOGUE[statement.code]
    line = DispensedLine(code=statement.code, label=f"{statement.display} {statement.dose}".strip(),
                         unit_fen=unit_fen, quantity=boxes, insured=insured)
    return Dispensable(patient_id=statement.patient_id, facility_id=statement.facility_id,
                       label=f"续方 {statement.display}", lines=[line], cold_chain=cold)


async def medication_dispensed(session: AsyncSession, statement_id: int) -> None:
    statement = await session.get(MedicationStatement, statement_id)
    statement.status = "active"


def register() -> None:
    register_source(KIND, resolve_medication, medication_dispensed)
