"""What a payment does to a visit (payments' `on_paid("visit")`, run once per charge in the paying
transaction): the held slot becomes a booking. Imported with the visit routes so the handler is
registered wherever payments can be received."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.errors import Conflict
from carebridge.payments.models import Charge
from carebridge.payments.service import on_paid
from carebridge.portal.visits import billing, notices, service
from carebridge.portal.visits.lifecycle import Action, Party, State
from carebridge.portal.visits.models import Visit


@on_paid(billing.PURPOSE)
async def visit_paid(session: AsyncSession, charge: Charge) -> None:
    visit = await session.get(Visit, charge.purpose_id, populate_existing=True)
    if visit is None:
        return
    if visit.state == State.awaiting_payment.value:
        try:
            await service.move(session, visit, Action.pay, {Party.system}, charge_id=charge.id)
        except Conflict:
            await session.refresh(visit)  # cancelled at this very moment: fall through to the refund
        else:
            await service.record(session, None, visit, "visit_paid", charge_id=charge.id)
            await notices.booked(session, visit)
            return
    if visit.state == State.cancelled.value:
        # The hold ran out or the patient cancelled before the money arrived: give it back.
        await billing.refund_visit(session, None, visit, reason="visit cancelled before the payment arrived")
