"""The visit's money, through the payments contract: booking a priced visit opens a charge and holds
the slot (awaiting_payment); the payment confirms the booking (`on_paid("visit")`, run exactly once
in the transaction that records the payment); a cancellation refunds in full whatever was paid.
A payment that arrives after the hold ran out (the visit was cancelled meanwhile) is refunded at once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.kit.i18n import N_
from carebridge.portal.visits.models import Visit

PURPOSE = "visit"
LINE_CODE = "visit_follow_up"
LINE_LABEL = N_("Online follow-up visit")


async def open_visit_charge(session: AsyncSession, principal: Principal, visit: Visit) -> None:
    raise NotImplementedError("payments are wired in when carebridge.payments lands")


async def refund_visit(session: AsyncSession, principal: Principal | None, visit: Visit, *, reason: str) -> None:
    """Nothing to refund for a free visit or one whose charge was never paid."""
    if visit.charge_id is None:
        return
    raise NotImplementedError("payments are wired in when carebridge.payments lands")
