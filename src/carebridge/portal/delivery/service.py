"""Medicine delivery, the patient's side: price a source, place the order (pickup or delivery, with
a remembered or new address), read an order with its timeline, list a patient's orders, cancel.

Who is who on an order: the *patient* side is whoever `access_patient` lets read the patient on a
patient's own basis (the patient, family acting for them); the *pharmacy* is a pharmacist of the
dispensing facility. Clinicians who may read the patient's record may read the order, and act on
nothing. Anyone else gets the same 404 as for a missing order.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import ACT, READ, access_patient, record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.portal.delivery import addresses, billing, labels, lifecycle, pricing, progress, sources
from carebridge.portal.delivery.lifecycle import Action, Method, Party, State
from carebridge.portal.delivery.models import DeliveryEvent, DeliveryLine, DeliveryOrder
from carebridge.portal.delivery.sources import Dispensable

PATIENT_BASES = frozenset({"self", "proxy"})  # "proxy": family acting for the patient (portal accounts)
REASON_MAX = 300


@dataclass(frozen=True)
class OrderRequest:
    source_kind: str
    source_id: int
    method: str
    address_id: int | None = None
    address: addresses.AddressInput | None = None


@dataclass(frozen=True)
class Preview:
    kind: str
    source_id: int
    dispensable: Dispensable
    facility: Facility
    prices: dict[str, pricing.Price]  # by method
    existing: DeliveryOrder | None  # an order already standing for this source


@dataclass(frozen=True)
class OrderView:
    order: DeliveryOrder
    parties: frozenset[Party]
    facility: Facility
    lines: list[DeliveryLine]
    timeline: list[DeliveryEvent]
    charge: tuple[str, int, int] | None = None  # the charge's (status, self-pay fen, refunded fen)

    @property
    def actions(self) -> list[str]:
        return [a.value for a in lifecycle.actions_for(self.order.state, set(self.parties), self.order.method)
                if a in (Action.cancel, Action.pack, Action.ship, Action.prepare, Action.hand_over)]


def claim_key(kind: str, source_id: int) -> str:
    return f"{kind}:{source_id}"


async def patient_side(session: AsyncSession, principal: Principal, patient_id: int, action: str,
                        resource_id: int | None = None, mode: str = READ) -> int:
    """The patient's id if the caller acts for this patient (self or family), else 404/403."""
    access = await access_patient(session, principal, patient_id, purpose=Purpose.patient_self, action=action,
                                  resource_type="DeliveryOrder", resource_id=resource_id, mode=mode)
    if access.basis not in PATIENT_BASES:
        raise Forbidden(N_("only the patient or family acting for them can do this"))
    return access.patient.id


async def _dispensable(session: AsyncSession, kind: str, source_id: int) -> Dispensable:
    found = await sources.resolve(session, kind, source_id)
    if found is None:
        # The same answer for a missing source and another patient's unapproved one: ids reveal nothing.
        raise Conflict(N_("this cannot be dispensed now: it may not be approved yet, or it was already "
                          "dispensed"), code="not_dispensable", details={"kind": kind, "source_id": source_id})
    return found


async def standing_order(session: AsyncSession, kind: str, source_id: int) -> DeliveryOrder | None:
    return await session.scalar(select(DeliveryOrder).where(DeliveryOrder.claim_key == claim_key(kind, source_id)))


async def preview(session: AsyncSession, principal: Principal, kind: str, source_id: int) -> Preview:
    dispensable = await _dispensable(session, kind, source_id)
    await patient_side(session, principal, dispensable.patient_id, "delivery_preview")
    settings = get_settings()
    return Preview(kind, source_id, dispensable, await session.get(Facility, dispensable.facility_id),
                   {m.value: pricing.price(dispensable, m, settings) for m in Method},
                   await standing_order(session, kind, source_id))


async def _address_for(session: AsyncSession, patient_id: int, request: OrderRequest,
                       user_id: int) -> addresses.AddressInput:
    if request.address_id is not None:
        chosen = addresses.as_input(await addresses.remembered_one(session, patient_id, request.address_id))
    elif request.address is not None:
        chosen = request.address.checked()
    else:
        raise InvalidInput(N_("choose an address or enter a new one"), details={"field": "address"})
    await addresses.remember(session, patient_id, chosen, user_id)
    return chosen


def _method(value: str) -> Method:
    try:
        return Method(value)
    except ValueError:
        raise InvalidInput(N_("choose pickup at the pharmacy or delivery"), details={"field": "method"}) from None


async def place_order(session: AsyncSession, principal: Principal, request: OrderRequest) -> DeliveryOrder:
    """The order waits for payment; its charge is opened in the same transaction."""
    method = _method(request.method)
    dispensable = await _dispensable(session, request.source_kind, request.source_id)
    patient_id = await patient_side(session, principal, dispensable.patient_id, "delivery_order", mode=ACT)
    if await standing_order(session, request.source_kind, request.source_id) is not None:
        raise Conflict(N_("this medicine is already being dispensed"), code="already_ordered")
    place = await _address_for(session, patient_id, request, principal.user_id) if method is Method.delivery else None
    price = pricing.price(dispensable, method, get_settings())
    order = DeliveryOrder(
        patient_id=patient_id, facility_id=dispensable.facility_id, source_kind=request.source_kind,
        source_id=request.source_id, claim_key=claim_key(request.source_kind, request.source_id),
        label=dispensable.label[:200], method=method.value, state=State.awaiting_payment.value,
        cold_chain=price.cold_chain, drugs_fen=price.drugs_fen, fees_fen=price.fees_fen, total_fen=price.total_fen,
        pickup_code=f"{secrets.randbelow(10**6):06d}" if method is Method.pickup else "",
        created_by_id=principal.user_id, **(_address_columns(place) if place else {}))
    session.add(order)
    try:
        await session.flush()
    except IntegrityError:  # another request claimed the source between our check and this insert
        raise Conflict(N_("this medicine is already being dispensed"), code="already_ordered") from None
    session.add_all(DeliveryLine(order_id=order.id, kind=line.kind, code=line.code[:40], label=line.label[:200],
                                 unit_fen=line.unit_fen, quantity=line.quantity, insured=line.insured)
                    for line in price.lines)
    await progress.record(session, order, "place", progress.who_is(principal, Party.patient))
    await audit.append(session, audit.Entry(
        action="delivery_place", outcome="success", actor=principal.actor(order.facility_id),
        patient_id=patient_id, resource_type="DeliveryOrder", resource_id=order.id, purpose="patient_self",
        facility_id=order.facility_id, detail={"method": order.method, "source": order.claim_key,
                                               "total_fen": order.total_fen}))
    await billing.charge_order(session, principal, order, price)
    return order


def _address_columns(place: addresses.AddressInput) -> dict:
    return {"recipient": place.recipient, "phone": place.phone, "region": place.region,
            "address_detail": place.detail}


async def access_order(session: AsyncSession, principal: Principal, order_id: int, *, action: str = "delivery_read",
                       for_update: bool = False) -> tuple[DeliveryOrder, frozenset[Party]]:
    """The order and the parts the caller plays on it; written down like any read of patient data."""
    order = await session.get(DeliveryOrder, order_id, with_for_update=for_update)
    if order is None:
        record_denial(session, principal, None, action=action, resource_type="DeliveryOrder", resource_id=order_id)
        raise NotFound(N_("order not found"))
    if principal.has_role(Role.pharmacist, order.facility_id):
        # The order itself is the basis: the patient sent it to this facility's pharmacy.
        await audit.append(session, audit.Entry(
            action=action, outcome="allowed", actor=principal.actor(order.facility_id), patient_id=order.patient_id,
            resource_type="DeliveryOrder", resource_id=order.id, purpose="treatment", facility_id=order.facility_id,
            detail={"basis": "dispensing_facility"}))
        return order, frozenset({Party.pharmacy})
    access = await access_patient(session, principal, order.patient_id, purpose=Purpose.patient_self,
                                  action=action, resource_type="DeliveryOrder", resource_id=order.id)
    acts = access.basis in PATIENT_BASES and access.may_act  # a read-only family permission sees it but takes no step
    return order, frozenset({Party.patient}) if acts else frozenset()


async def view_order(session: AsyncSession, principal: Principal, order_id: int) -> OrderView:
    order, parties = await access_order(session, principal, order_id)
    return await view_of(session, order, parties)


async def view_of(session: AsyncSession, order: DeliveryOrder, parties: frozenset[Party]) -> OrderView:
    lines = (await session.scalars(select(DeliveryLine).where(DeliveryLine.order_id == order.id)
                                   .order_by(DeliveryLine.id))).all()
    timeline = (await session.scalars(select(DeliveryEvent).where(DeliveryEvent.order_id == order.id)
                                      .order_by(DeliveryEvent.occurred_at, DeliveryEvent.id))).all()
    return OrderView(order, parties, await session.get(Facility, order.facility_id), list(lines), list(timeline),
                     await billing.charge_status(session, order.charge_id))


async def patient_orders(session: AsyncSession, principal: Principal, patient_id: int,
                         limit: int = 100) -> tuple[list[DeliveryOrder], frozenset[Party]]:
    """A patient's orders, newest first, and the part the caller plays on them."""
    access = await access_patient(session, principal, patient_id, purpose=Purpose.patient_self,
                                  action="delivery_list", resource_type="DeliveryOrder")
    orders = (await session.scalars(select(DeliveryOrder).where(DeliveryOrder.patient_id == access.patient.id)
                                    .order_by(DeliveryOrder.id.desc()).limit(limit))).all()
    return list(orders), frozenset({Party.patient}) if access.basis in PATIENT_BASES else frozenset()


def check_reason(reason: str, *, required: bool) -> str:
    reason = " ".join(reason.split())
    if (required and len(reason) < 2) or len(reason) > REASON_MAX:
        raise InvalidInput(N_("give a reason (2 to 300 characters)"), details={"field": "reason"})
    return reason


async def cancel_order(session: AsyncSession, principal: Principal, order_id: int, reason: str = "") -> DeliveryOrder:
    """Before packing only; a paid order is refunded in full in the same transaction."""
    order, parties = await access_order(session, principal, order_id, action="delivery_cancel", for_update=True)
    party = Party.pharmacy if Party.pharmacy in parties else Party.patient
    if party not in parties:
        raise Forbidden(N_("you cannot take this step on this order"))
    reason = check_reason(reason, required=party is Party.pharmacy)
    await progress.move(session, order, Action.cancel, progress.who_is(principal, party), note=reason)
    refunded = await billing.refund_order(session, principal, order, reason or f"cancelled by the {party.value}")
    if refunded:
        await progress.record(session, order, "refund", progress.SYSTEM, note=labels.fen(refunded))
    return order
