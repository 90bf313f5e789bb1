"""Payment use cases: open a charge, pay it through a provider, take the provider's notice,
refund, and read. Features call `open_charge` / `refund_charge` and register `@on_paid` handlers.

Exactly once: a payment and a charge each move on with a conditional UPDATE (`WHERE status = …`),
so a notice delivered twice, or two notices for one charge racing, move each of them once, and
the feature's handler runs in the one transaction that won."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.service import ACT, READ, access_patient
from carebridge.audit import service as audit
from carebridge.auth.models import ADMIN_ROLES, CLINICAL_ROLES
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.payments import ledger
from carebridge.payments.models import Charge, ChargeLine, Payment, Refund
from carebridge.payments.pricing import PriceLine, Quote, quote
from carebridge.payments.providers import Checkout, configured_provider, provider_named

__all__ = ["PriceLine", "Quote", "quote", "open_charge", "refund_charge", "on_paid", "charges_for"]

PENDING, PAID, PARTLY_REFUNDED, REFUNDED, CANCELLED = "pending", "paid", "partly_refunded", "refunded", "cancelled"
COLLECTED = frozenset({PAID, PARTLY_REFUNDED})
STAFF_ROLES = (*CLINICAL_ROLES, *ADMIN_ROLES)
REASON_MIN, REASON_MAX = 2, 300

Handler = Callable[[AsyncSession, Charge], Awaitable[None]]
_on_paid: dict[str, list[Handler]] = {}


def on_paid(purpose: str) -> Callable[[Handler], Handler]:
    """Register what a feature does when its charge is paid (in the paying transaction)."""
    def register(handler: Handler) -> Handler:
        handlers = _on_paid.setdefault(purpose, [])
        if handler not in handlers:
            handlers.append(handler)
        return handler
    return register


async def _record(session: AsyncSession, principal: Principal | None, charge: Charge, action: str,
                  **detail: object) -> None:
    actor = principal.actor(charge.facility_id) if principal else audit.Actor(name="system", role="system")
    await audit.append(session, audit.Entry(
        action=action, outcome="success", actor=actor, patient_id=charge.patient_id, resource_type="Charge",
        resource_id=charge.id, purpose="payment", facility_id=charge.facility_id,
        detail={"status": charge.status, "purpose": charge.purpose, "purpose_id": charge.purpose_id, **detail}))


async def open_charge(session: AsyncSession, principal: Principal | None, *, patient_id: int, facility_id: int,
                      purpose: str, purpose_id: int, lines: list[PriceLine]) -> Charge:
    """The caller has already authorised the patient. Nothing to self-pay means paid at once."""
    priced = await quote(session, facility_id=facility_id, patient_id=patient_id, lines=lines)
    charge = Charge(patient_id=patient_id, facility_id=facility_id, purpose=purpose, purpose_id=purpose_id,
                    status=PENDING, scheme=priced.scheme, total_fen=priced.total_fen,
                    discount_fen=priced.discount_fen, insurance_fen=priced.insurance_fen,
                    self_pay_fen=priced.self_pay_fen, refunded_fen=0, rules=priced.rules,
                    created_by_id=principal.user_id if principal else None, created_at=utcnow())
    session.add(charge)
    await session.flush()
    session.add_all(ChargeLine(charge_id=charge.id, code=q.line.code[:40], label=q.line.label[:200],
                               unit_fen=q.line.unit_fen, quantity=q.line.quantity, insured=q.line.insured,
                               list_fen=q.list_fen, discount_fen=q.discount_fen, insurance_fen=q.insurance_fen,
                               self_pay_fen=q.self_pay_fen) for q in priced.lines)
    await _record(session, principal, charge, "charge_open", self_pay_fen=charge.self_pay_fen)
    if charge.self_pay_fen == 0:
        await _mark_paid(session, charge, provider="none")
    return charge


async def _mark_paid(session: AsyncSession, charge: Charge, *, provider: str) -> bool:
    now = utcnow()
    moved = await session.execute(update(Charge).where(Charge.id == charge.id, Charge.status == PENDING)
                                  .values(status=PAID, paid_at=now).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        return False
    charge.status, charge.paid_at = PAID, now
    ledger.post_payment(session, charge, provider)
    await _record(session, None, charge, "charge_paid", provider=provider)
    for handler in _on_paid.get(charge.purpose, []):
        await handler(session, charge)
    return True


async def view_charge(session: AsyncSession, principal: Principal, charge_id: int, *, action: str = "charge_read",
                      for_update: bool = False, mode: str = READ) -> Charge:
    """Staff of the charging facility see it; the patient (or their permitted family) through access."""
    charge = await session.get(Charge, charge_id, with_for_update=for_update, populate_existing=for_update)
    if charge is None:
        raise NotFound(N_("charge not found"))
    if charge.facility_id in principal.facilities_with(*STAFF_ROLES):
        await _record(session, principal, charge, action)
        return charge
    await access_patient(session, principal, charge.patient_id, purpose="payment", action=action,
                         resource_type="Charge", resource_id=charge.id, mode=mode)
    return charge


async def charge_lines(session: AsyncSession, charge: Charge) -> list[ChargeLine]:
    return list((await session.scalars(select(ChargeLine).where(ChargeLine.charge_id == charge.id)
                                       .order_by(ChargeLine.id))).all())


async def start_payment(session: AsyncSession, principal: Principal, charge_id: int) -> Checkout:
    charge = await view_charge(session, principal, charge_id, action="charge_pay", mode=ACT)
    if charge.status != PENDING:
        raise Conflict(N_("this charge is not waiting for payment"), code="not_payable",
                       details={"status": charge.status})
    provider = configured_provider()
    payment = Payment(charge_id=charge.id, provider=provider.name, provider_ref="", amount_fen=charge.self_pay_fen,
                      status="created")
    session.add(payment)
    await session.flush()
    checkout = await provider.start(session, merchant_order=f"payment:{payment.id}", amount_fen=payment.amount_fen)
    payment.provider_ref = checkout.reference
    return checkout


async def receive_notice(session: AsyncSession, provider_name: str, headers: Mapping[str, str],
                         body: bytes) -> Payment:
    """A provider says a payment settled. Safe to receive any number of times."""
    provider = provider_named(provider_name)
    notice = provider.read_notice(headers, body)
    payment = await session.scalar(select(Payment).where(Payment.provider == provider.name,
                                                         Payment.provider_ref == notice.reference))
    if payment is None:
        raise NotFound(N_("payment not found"))
    if notice.status != "succeeded" or notice.amount_fen != payment.amount_fen:
        await _settle(session, payment, "failed")
        return payment
    if not await _settle(session, payment, "succeeded"):
        await session.refresh(payment)  # already taken by another delivery of this notice: report its outcome
        return payment
    charge = await session.get(Charge, payment.charge_id)
    if not await _mark_paid(session, charge, provider=provider.name):
        await _return_duplicate(session, charge, payment)
    return payment


async def _settle(session: AsyncSession, payment: Payment, status: str) -> bool:
    now = utcnow()
    moved = await session.execute(update(Payment).where(Payment.id == payment.id, Payment.status == "created")
                                  .values(status=status, settled_at=now).execution_options(synchronize_session=False))
    if moved.rowcount == 1:
        payment.status, payment.settled_at = status, now
    return moved.rowcount == 1


async def _return_duplicate(session: AsyncSession, charge: Charge, payment: Payment) -> None:
    """The charge was already paid (two checkouts both completed) or cancelled: give this money back."""
    provider = provider_named(payment.provider)
    ledger.post_duplicate(session, charge, provider.name, payment.amount_fen)
    reference = await provider.refund(session, reference=payment.provider_ref, amount_fen=payment.amount_fen)
    session.add(Refund(charge_id=charge.id, payment_id=payment.id, amount_fen=payment.amount_fen,
                       reason="paid twice", provider_ref=reference))
    ledger.post_duplicate_return(session, charge, provider.name, payment.amount_fen)
    await _record(session, None, charge, "charge_duplicate_refund", payment_id=payment.id)


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InvalidInput(N_("give a reason (2 to 300 characters)"), details={"field": "reason"})
    return reason


async def refund_charge(session: AsyncSession, principal: Principal | None, *, charge_id: int, reason: str,
                        amount_fen: int | None = None) -> Charge:
    """Features call this when their rules allow a refund (the caller authorised the action).
    Unpaid: the charge is cancelled. Paid: all of it (default) or part of the self-pay back."""
    reason = _check_reason(reason)
    charge = await session.get(Charge, charge_id, with_for_update=True, populate_existing=True)
    if charge is None:
        raise NotFound(N_("charge not found"))
    if charge.status == PENDING:
        await _cancel(session, principal, charge, reason)
        return charge
    if charge.status not in COLLECTED:
        raise Conflict(N_("this charge has nothing left to refund"), code="not_refundable",
                       details={"status": charge.status})
    remaining = charge.self_pay_fen - charge.refunded_fen
    amount = remaining if amount_fen is None else amount_fen
    if not 0 <= amount <= remaining or (amount == 0 and amount_fen is not None):
        raise InvalidInput(N_("the refund is more than what is left to refund"),
                           details={"field": "amount_fen", "refundable_fen": remaining})
    await _pay_back(session, principal, charge, amount, reason, full=amount == remaining)
    return charge


async def _cancel(session: AsyncSession, principal: Principal | None, charge: Charge, reason: str) -> None:
    charge.status, charge.closed_at = CANCELLED, utcnow()
    await _record(session, principal, charge, "charge_cancel", reason=reason)


async def _pay_back(session: AsyncSession, principal: Principal | None, charge: Charge, amount: int,
                    reason: str, *, full: bool) -> None:
    payment = await session.scalar(select(Payment).where(Payment.charge_id == charge.id,
                                                         Payment.status == "succeeded").order_by(Payment.id))
    provider_name = payment.provider if payment else "none"
    reference = ""
    if amount and payment is not None:
        reference = await provider_named(payment.provider).refund(session, reference=payment.provider_ref,
                                                                  amount_fen=amount)
    if payment is not None:
        session.add(Refund(charge_id=charge.id, payment_id=payment.id, amount_fen=amount, reason=reason,
                           provider_ref=reference, created_by_id=principal.user_id if principal else None))
    if full:
        ledger.post_full_reversal(session, charge, provider_name, amount)
        charge.status, charge.closed_at = REFUNDED, utcnow()
    else:
        ledger.post_cash_refund(session, charge, provider_name, amount, "refund")
        charge.status = PARTLY_REFUNDED
    charge.refunded_fen += amount
    await _record(session, principal, charge, "charge_refund", amount_fen=amount, reason=reason)


async def charges_for(session: AsyncSession, *, purpose: str, purpose_id: int) -> list[Charge]:
    return list((await session.scalars(select(Charge).where(Charge.purpose == purpose, Charge.purpose_id == purpose_id)
                                       .order_by(Charge.id))).all())


async def refunds_of(session: AsyncSession, charge: Charge) -> list[Refund]:
    return list((await session.scalars(select(Refund).where(Refund.charge_id == charge.id)
                                       .order_by(Refund.id))).all())


async def patient_charges(session: AsyncSession, principal: Principal, patient_id: int, *,
                          limit: int = 100) -> list[Charge]:
    access = await access_patient(session, principal, patient_id, purpose="payment", action="charges_list",
                                  resource_type="Charge")
    return list((await session.scalars(select(Charge).where(Charge.patient_id == access.patient.id)
                                       .order_by(Charge.id.desc()).limit(limit))).all())
