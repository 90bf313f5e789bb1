"""Delivery's side of payments: the charge of an order (purpose "fulfilment": the drugs and the
fees), the move to paid when it is paid, and the refund when an order is cancelled.

Payments calls the `on_paid` handler exactly once per charge, in the transaction that records the
payment; the handler's own move is conditional on the order's state and version as well, so a
duplicated callback could not move an order twice even if it reached us."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit import i18n
from carebridge.payments.models import Charge
from carebridge.payments.service import PriceLine, Quote, on_paid, open_charge, quote, refund_charge
from carebridge.portal.delivery import progress
from carebridge.portal.delivery.lifecycle import Action, State
from carebridge.portal.delivery.models import DeliveryOrder
from carebridge.portal.delivery.pricing import Price

log = logging.getLogger(__name__)

PURPOSE = "fulfilment"


def price_lines(price: Price) -> list[PriceLine]:
    """Fee labels in the orderer's language: the charge keeps the words it was opened with."""
    return [PriceLine(code=line.code, label=i18n.gettext(line.label) if line.kind == "fee" else line.label,
                      unit_fen=line.unit_fen, quantity=line.quantity, insured=line.insured) for line in price.lines]


async def quote_price(session: AsyncSession, *, facility_id: int, patient_id: int, price: Price) -> Quote:
    return await quote(session, facility_id=facility_id, patient_id=patient_id, lines=price_lines(price))


async def charge_order(session: AsyncSession, principal, order: DeliveryOrder, price: Price) -> int:  # noqa: ANN001
    """Opens the order's charge; with nothing to self-pay it is paid at once (and the order with it)."""
    charge = await open_charge(session, principal, patient_id=order.patient_id, facility_id=order.facility_id,
                               purpose=PURPOSE, purpose_id=order.id, lines=price_lines(price))
    if order.charge_id is None:
        order.charge_id = charge.id
    return charge.id


async def charge_status(session: AsyncSession, charge_id: int | None) -> tuple[str, int, int] | None:
    """(status, self-pay, refunded) of the order's charge, for the order page."""
    if charge_id is None:
        return None
    charge = await session.get(Charge, charge_id)
    return (charge.status, charge.self_pay_fen, charge.refunded_fen) if charge else None


async def refund_order(session: AsyncSession, principal, order: DeliveryOrder, reason: str) -> int:  # noqa: ANN001
    """Cancels an unpaid charge or refunds a paid one in full; returns the fen given back."""
    if order.charge_id is None:
        return 0
    charge = await refund_charge(session, principal, charge_id=order.charge_id, reason=reason)
    return charge.refunded_fen


@on_paid(PURPOSE)
async def fulfilment_paid(session: AsyncSession, charge) -> None:  # noqa: ANN001 - a payments Charge
    order = await session.get(DeliveryOrder, charge.purpose_id, with_for_update=True)
    if order is None:
        log.error("charge %s was paid for delivery order %s, which does not exist", charge.id, charge.purpose_id)
        return
    if order.state != State.awaiting_payment:
        return  # already moved on: nothing to do twice
    await progress.move(session, order, Action.pay, progress.SYSTEM, charge_id=charge.id)
