"""Paying for a home visit (carebridge.payments, purpose "nursing").

The charge opens when the risk assessment accepts the order, not at booking: an order refused by
the assessment was never payable, and the patient pays for a visit the facility has agreed to make.
A visit is offered to nurses only once it is paid (or when there is nothing to self-pay). Refunds
on cancellation follow `refund_percent`: in full until a nurse is offered the visit, then the
configured shares; after check-in the visit cannot be cancelled."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.portal.home_nursing.lifecycle import Party, State
from carebridge.portal.home_nursing.models import NursingOrder

PURPOSE = "nursing"

try:  # payments is built alongside; until it is merged, orders are not charged (see docs)
    from carebridge.payments import service as payments
except ImportError:  # pragma: no cover - depends on what is merged
    payments = None


def payments_enabled() -> bool:
    return payments is not None


def refund_percent(state: str, party: Party) -> int:
    """What share of the paid amount a cancellation gives back."""
    if party == Party.coordinator or state in (State.requested, State.assessed):
        return 100  # the facility called it off, or no nurse was involved yet
    settings = get_settings()
    if state == State.dispatched:
        return settings.nursing_refund_dispatched_percent
    return settings.nursing_refund_accepted_percent


def refund_amount(paid_fen: int, percent: int) -> int:
    return paid_fen * percent // 100  # integer fen, rounded down


def is_settled(order: NursingOrder) -> bool:
    """May the visit be offered to nurses? Paid, or nothing to pay, or no payment system."""
    return order.charge_id is None or order.paid_at is not None


async def open_charge(session: AsyncSession, principal: Principal, order: NursingOrder) -> None:
    if payments is None:
        return
    line = payments.PriceLine(code=order.service_code, label=order.service_name, unit_fen=order.price_fen,
                              insured=order.insured)
    charge = await payments.open_charge(session, principal, patient_id=order.patient_id,
                                        facility_id=order.facility_id, purpose=PURPOSE, purpose_id=order.id,
                                        lines=[line])
    order.charge_id = charge.id
    if charge.status == "paid":
        order.paid_at = order.paid_at or order.updated_at
    await session.flush()


async def refund(session: AsyncSession, principal: Principal | None, order: NursingOrder, percent: int,
                 reason: str) -> int:
    """Refunds the share of what was paid; returns the fen given back (0 when nothing was paid)."""
    if payments is None or order.charge_id is None:
        return 0
    charges = await payments.charges_for(session, purpose=PURPOSE, purpose_id=order.id)
    paid = next((c for c in charges if c.id == order.charge_id), None)
    if paid is None or paid.status != "paid":
        return 0
    amount = refund_amount(paid.self_pay_fen, percent)
    if amount > 0:
        await payments.refund_charge(session, principal, charge_id=paid.id, reason=reason, amount_fen=amount)
    return amount
