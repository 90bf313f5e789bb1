"""A prescription in the patient's record: one medication statement per line, written through the
records service by the doctor who submits (status *intended*), made *active* when a pharmacist
approves, *stopped* when the prescription is cancelled or expires undispensed, *completed* when a
later refill of the same order takes over, and voided with a reason when a returned prescription is
revised (the revision writes its own)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.portal.pharmacy.models import Prescription, PrescriptionItem, PrescriptionVersion
from carebridge.records.entries import add_medication, void_entry
from carebridge.records.models import MedicationStatement, RecordEntry
from carebridge.records.schemas import MedicationIn, MedicationStatus

ROUTES_ZH = {"oral": "口服", "subcutaneous": "皮下注射", "inhalation": "吸入"}


def _dose(item: PrescriptionItem) -> str:
    return f"{item.dose:g} {item.dose_unit}"


async def write_statements(session: AsyncSession, principal: Principal, patient_id: int,
                           items: list[PrescriptionItem]) -> None:
    for item in items:
        entry = await add_medication(session, principal, patient_id, MedicationIn(
            display=item.label, code=item.atc, code_system="ATC", dose=_dose(item),
            route=ROUTES_ZH.get(item.route, item.route), frequency=item.frequency,
            status=MedicationStatus.intended))
        item.statement_id = entry.id
    await session.flush()


async def statement_ids(session: AsyncSession, prescription_ids: Iterable[int], *,
                        version_id: int | None = None) -> list[int]:
    """The live statements of these prescriptions' current versions (or of one version)."""
    query = (select(PrescriptionItem.statement_id)
             .join(PrescriptionVersion, PrescriptionVersion.id == PrescriptionItem.version_id)
             .join(Prescription, Prescription.id == PrescriptionVersion.prescription_id)
             .where(PrescriptionItem.statement_id.is_not(None)))
    if version_id is not None:
        query = query.where(PrescriptionVersion.id == version_id)
    else:
        query = query.where(Prescription.id.in_(list(prescription_ids)),
                            PrescriptionVersion.number == Prescription.version_no)
    return [i for i in (await session.scalars(query)).all() if i is not None]


async def set_status(session: AsyncSession, entry_ids: list[int], status: MedicationStatus, *,
                     only_from: tuple[str, ...] = ()) -> None:
    if not entry_ids:
        return
    # The statement's own table only: voided_at lives on the record_entries spine.
    table = MedicationStatement.__table__
    live = select(RecordEntry.id).where(RecordEntry.id.in_(entry_ids), RecordEntry.voided_at.is_(None))
    query = update(table).where(table.c.id.in_(live))
    if only_from:
        query = query.where(table.c.status.in_(only_from))
    await session.execute(query.values(status=status.value))


async def void_statements(session: AsyncSession, principal: Principal, entry_ids: list[int], reason: str) -> None:
    for entry_id in entry_ids:
        await void_entry(session, principal, entry_id, reason)


async def chain_ids(session: AsyncSession, prescription: Prescription) -> list[int]:
    """The original order and every refill of it (a refill's refill_of_id names the original)."""
    root = prescription.refill_of_id or prescription.id
    return list((await session.scalars(select(Prescription.id).where(
        (Prescription.id == root) | (Prescription.refill_of_id == root)))).all())
