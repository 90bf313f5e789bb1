"""Approved prescriptions as a source of pickup and delivery orders (kind "prescription").

Pharmacy and delivery do not import each other; this adapter is the one place that knows both, and
the app registers it when it is wired."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.portal.delivery.sources import Dispensable, DispensedLine, register_source
from carebridge.portal.pharmacy import dispensing

KIND = "prescription"


async def resolve_prescription(session: AsyncSession, prescription_id: int) -> Dispensable | None:
    found = await dispensing.dispensable_prescription(session, prescription_id)
    if found is None:
        return None
    return Dispensable(patient_id=found.patient_id, facility_id=found.facility_id, label=found.label,
                       lines=[DispensedLine(line.code, line.label, line.unit_fen, line.quantity, line.insured)
                              for line in found.lines],
                       cold_chain=found.cold_chain)


def register() -> None:
    register_source(KIND, resolve_prescription, dispensing.mark_dispensed)
