"""Paying for a home visit (carebridge.payments, purpose "nursing").

The charge opens when the risk assessment accepts the order, not at booking: an order refused by
the assessment was never payable, and the patient pays for a visit the facility has agreed to make.
The visit is offered to nurses only once it is paid (a charge with nothing to self-pay is paid at
once). Refunds on cancellation follow `refund_percent` of what the patient paid: in full until a
nurse has been offered the visit, then the configured shares; after check-in the visit cannot be
cancelled. An unpaid charge is cancelled with the order. When the facility refuses or cancels, the
patient gets everything back."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.payments import service as payments
from carebridge.payments.models import Charge
from carebridge.portal.home_nursing.lifecycle import Party, State
from carebridge.portal.home_nursing.models import NursingOrder

PURPOSE = "nursing"
COLLECTED = frozenset({"paid", "partly_refunded"})


def refund_percent(state: str, party: Party) -> int:
    """What share of the paid amount a cancellation gives back."""
    if party == Party.coordinator or state in (State.requested, State.assessed):
        return 100  # the facility called it off, or no nurse was involved yet
    settings = get_settings()
    if state == State.dispatched:
        return settings.nursing_refund_dispatched_percent
    return settings.nursing_refund_accepted_percent


def refund_amount(paid_fen: int, percent: int) -> int:
    return paid_fen * percent // 100  # integer fen, rounded down in the facility's favour by < 1 fen


def is_settled(order: NursingOrder) -> bool:
    """May the visit be offered to nurses? Paid, or no charge (nothing was ever payable)."""
    return order.charge_id is None or order.paid_at is not None


async def charge_of(session: AsyncSession, order: NursingOrder) -> Charge | None:
    return await session.get(Charge, order.charge_id) if order.charge_id else None


async def open_charge(session: AsyncSession, principal: Principal, order: NursingOrder) -> Charge:
    line = payments.PriceLine(code=f"nursing:{order.service_code}"[:40], label=order.service_name,
                              unit_fen=order.price_fen, insured=order.insured)
    # A charge with nothing to self-pay is paid inside open_charge: the paid handler (paying.py)
    # finds the order by the charge's purpose_id and notes it before this returns.
    charge = await payments.open_charge(session, principal, patient_id=order.patient_id,
                                        facility_id=order.facility_id, purpose=PURPOSE, purpose_id=order.id,
                                        lines=[line])
    order.charge_id = charge.id
    if charge.status in COLLECTED and order.paid_at is None:
        order.paid_at = charge.paid_at
    await session.flush()
    return charge


async def refund(session: AsyncSession, principal: Principal | None, order: NursingOrder, percent: int,
                 reason: str) -> int:
    """Gives back `percent` of what was paid; returns the fen refunded. An unpaid charge is cancelled."""
    charge = await charge_of(session, order)
    if charge is None:
        return 0
    if charge.status == "pending":
        await payments.refund_charge(session, principal, charge_id=charge.id, reason=reason)
        return 0
    if charge.status not in COLLECTED:
        return 0
    remaining = charge.self_pay_fen - charge.refunded_fen
    amount = min(refund_amount(charge.self_pay_fen, percent), remaining)
    if amount <= 0:
        return 0
    await payments.refund_charge(session, principal, charge_id=charge.id, reason=reason,
                                 amount_fen=None if amount == remaining else amount)
    return amount
