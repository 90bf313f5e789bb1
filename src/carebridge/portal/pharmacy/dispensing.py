"""The hand-off to pickup and delivery (another package): what an approved prescription dispenses,
and marking it dispensed. The caller has decided who may do this; these functions only read and
move the prescription, in the caller's transaction.

`DispensableLine` has the fields of `payments.service.PriceLine`, so a delivery can price it with
`PriceLine(**dataclasses.asdict(line))` (drugs are paid at dispensing)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.errors import Conflict, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.pharmacy import catalogue, service
from carebridge.portal.pharmacy.lifecycle import Action, Party, State
from carebridge.portal.pharmacy.models import Prescription


@dataclass(frozen=True)
class DispensableLine:
    code: str  # the catalogue's drug code
    label: str  # name and strength in the current language
    unit_fen: int  # price of one pack
    quantity: int  # packs
    insured: bool = False


@dataclass(frozen=True)
class Dispensable:
    prescription_id: int
    patient_id: int
    facility_id: int  # the dispensing pharmacy's facility (where the medicine comes from)
    label: str
    lines: tuple[DispensableLine, ...]
    cold_chain: bool  # some line must travel at 2-8 °C


def _dispensable_now(prescription: Prescription | None) -> bool:
    return (prescription is not None and prescription.state == State.approved
            and prescription.valid_until > utcnow())


async def dispensable_prescription(session: AsyncSession, prescription_id: int) -> Dispensable | None:
    """Something only for an approved prescription, within its validity, not yet dispensed."""
    prescription = await session.get(Prescription, prescription_id)
    if prescription is not None:
        await service.expire_if_due(session, prescription)
    if not _dispensable_now(prescription):
        return None
    version = await service.current_version(session, prescription)
    items = await service.items_of(session, version.id)
    en = catalogue.english()
    lines = tuple(DispensableLine(code=i.drug_code, label=i.label_en if en else i.label, unit_fen=i.unit_fen,
                                  quantity=i.quantity, insured=i.insured) for i in items)
    return Dispensable(prescription_id=prescription.id, patient_id=prescription.patient_id,
                       facility_id=prescription.dispensing_facility_id,
                       label=_("Prescription %(id)s") % {"id": prescription.id}, lines=lines,
                       cold_chain=any(i.cold_chain for i in items))


async def mark_dispensed(session: AsyncSession, prescription_id: int) -> None:
    """approved -> dispensed, exactly once; anything else is a 409 (a 404 when there is no such one)."""
    prescription = await session.get(Prescription, prescription_id)
    if prescription is None:
        raise NotFound(N_("prescription not found"))
    await service.expire_if_due(session, prescription)
    if not _dispensable_now(prescription):
        raise Conflict(N_("only an approved prescription within its validity can be dispensed"),
                       code="not_dispensable", details={"state": prescription.state})
    await service.move(session, prescription, Action.dispense, Party.system, actor_id=None,
                       values={"dispensed_at": utcnow()},
                       stale=N_("this prescription has just been dispensed or changed"))
