"""The pharmacy's side: paid orders to pack or put aside, parcels handed to a courier, pickups
handed over against the patient's code. Only pharmacists of the dispensing facility act; for anyone
else an order is the same 404 as a missing one."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.portal.delivery import lifecycle, progress, service
from carebridge.portal.delivery.lifecycle import Action, Party, State
from carebridge.portal.delivery.models import DeliveryLine, DeliveryOrder
from carebridge.records.models import Patient

TRACKING = re.compile(r"[A-Za-z0-9-]{6,40}")
# What the list shows: the work waiting, then the parcels still on their way.
QUEUE_STATES = (State.paid, State.packed, State.ready_for_pickup, State.shipped, State.failed)
QUEUE_LIMIT = 200


@dataclass(frozen=True)
class QueueItem:
    order: DeliveryOrder
    patient_name: str
    lines: list[DeliveryLine]


def pharmacy_facilities(principal: Principal) -> list[int]:
    return sorted(principal.facilities_with(Role.pharmacist))


def require_pharmacist(principal: Principal, facility_id: int | None = None) -> int:
    """The facility whose dispensing the caller works on (their first one if not named)."""
    mine = pharmacy_facilities(principal)
    if not mine:
        raise Forbidden(N_("only pharmacists can do this"))
    if facility_id is None:
        return mine[0]
    if facility_id not in mine:
        raise NotFound(N_("facility not found"))
    return facility_id


async def queue(session: AsyncSession, principal: Principal, facility_id: int | None = None) -> list[QueueItem]:
    facility_id = require_pharmacist(principal, facility_id)
    rows = (await session.execute(
        select(DeliveryOrder, Patient.name).join(Patient, Patient.id == DeliveryOrder.patient_id)
        .where(DeliveryOrder.facility_id == facility_id, DeliveryOrder.state.in_([s.value for s in QUEUE_STATES]))
        .order_by(DeliveryOrder.cold_chain.desc(), DeliveryOrder.updated_at, DeliveryOrder.id)
        .limit(QUEUE_LIMIT))).all()
    # The list names patients: reading it is written down once, with the orders it showed.
    await audit.append(session, audit.Entry(
        action="delivery_queue", outcome="allowed", actor=principal.actor(facility_id), resource_type="DeliveryOrder",
        purpose="treatment", facility_id=facility_id, detail={"orders": [order.id for order, _ in rows]}))
    lines: dict[int, list[DeliveryLine]] = {order.id: [] for order, _ in rows}
    for line in (await session.scalars(select(DeliveryLine).where(DeliveryLine.order_id.in_(lines))
                                       .order_by(DeliveryLine.id))).all():
        lines[line.order_id].append(line)
    return [QueueItem(order, name, lines[order.id]) for order, name in rows]


async def _as_pharmacy(session: AsyncSession, principal: Principal, order_id: int,
                       action: Action) -> tuple[DeliveryOrder, progress.Who, str]:
    order, parties = await service.access_order(session, principal, order_id, action=f"delivery_{action.value}",
                                                for_update=True)
    if Party.pharmacy not in parties:
        raise Forbidden(N_("only the dispensing pharmacy can do this"))
    facility = await session.get(Facility, order.facility_id)
    where = (facility.name_en or facility.name) if i18n.get_locale() == "en" else facility.name
    return order, progress.who_is(principal, Party.pharmacy), where


async def pack(session: AsyncSession, principal: Principal, order_id: int, note: str = "") -> DeliveryOrder:
    order, who, where = await _as_pharmacy(session, principal, order_id, Action.pack)
    await progress.move(session, order, Action.pack, who, location=where, note=note[:500])
    return order


async def prepare(session: AsyncSession, principal: Principal, order_id: int, note: str = "") -> DeliveryOrder:
    """A pickup order is put aside at the counter; the patient is told to come."""
    order, who, where = await _as_pharmacy(session, principal, order_id, Action.prepare)
    await progress.move(session, order, Action.prepare, who, location=where, note=note[:500])
    return order


def check_courier(courier: str) -> str:
    if courier not in get_settings().delivery_couriers:
        raise InvalidInput(N_("choose one of the couriers we work with"), details={"field": "courier"})
    return courier


async def ship(session: AsyncSession, principal: Principal, order_id: int, *, courier: str,
               tracking_number: str) -> DeliveryOrder:
    order, who, where = await _as_pharmacy(session, principal, order_id, Action.ship)
    courier, tracking_number = check_courier(courier), tracking_number.strip().upper()
    if not TRACKING.fullmatch(tracking_number):
        raise InvalidInput(N_("a tracking number is 6 to 40 letters, digits or dashes"),
                           details={"field": "tracking_number"})
    taken = await session.scalar(select(DeliveryOrder.id).where(DeliveryOrder.courier == courier,
                                                                DeliveryOrder.tracking_number == tracking_number))
    if taken is not None:
        raise Conflict(N_("this tracking number is already on another order"), code="tracking_taken",
                       details={"field": "tracking_number"})
    name = get_settings().delivery_couriers[courier]
    try:
        await progress.move(session, order, Action.ship, who, location=where, note=f"{name} {tracking_number}",
                            courier=courier, tracking_number=tracking_number)
    except IntegrityError:  # the same number typed on two orders at the same moment
        raise Conflict(N_("this tracking number is already on another order"), code="tracking_taken",
                       details={"field": "tracking_number"}) from None
    return order


async def hand_over(session: AsyncSession, principal: Principal, order_id: int, code: str) -> DeliveryOrder:
    """Only against the code the patient shows: it proves the person at the counter is theirs."""
    order, who, where = await _as_pharmacy(session, principal, order_id, Action.hand_over)
    lifecycle.next_state(order.state, Action.hand_over, {Party.pharmacy}, order.method)  # 409 before the code
    if not hmac.compare_digest(code.strip().encode(), order.pickup_code.encode()):
        raise InvalidInput(N_("the pickup code does not match"), details={"field": "pickup_code"})
    await progress.move(session, order, Action.hand_over, who, location=where)
    return order
