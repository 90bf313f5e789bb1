"""The visit's money, through the payments contract: booking a priced visit opens a charge and holds
the slot (awaiting_payment); the payment confirms the booking (`on_paid("visit")` in paid.py, run
exactly once in the transaction that records the payment); a cancellation gives back in full what
was paid, or cancels the charge while it is unpaid (a payment arriving after that is returned by
payments itself)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.payments.models import Charge
from carebridge.payments.service import COLLECTED, PENDING, PriceLine, Quote, open_charge, quote, refund_charge
from carebridge.portal.visits.models import Visit

PURPOSE = "visit"
LINE_CODE = "visit_follow_up"
LINE_LABEL = N_("Online follow-up visit")


def _line(price_fen: int) -> PriceLine:
    return PriceLine(LINE_CODE, _(LINE_LABEL), unit_fen=price_fen)


async def price_for(session: AsyncSession, *, facility_id: int, patient_id: int, price_fen: int) -> Quote:
    """What this patient would pay (the facility's pricing rule, their insurance), for the booking form."""
    return await quote(session, facility_id=facility_id, patient_id=patient_id, lines=[_line(price_fen)])


async def open_visit_charge(session: AsyncSession, principal: Principal, visit: Visit) -> Charge:
    """A charge with nothing to self-pay is paid at once, and the visit confirmed in the same call."""
    charge = await open_charge(session, principal, patient_id=visit.patient_id, facility_id=visit.facility_id,
                               purpose=PURPOSE, purpose_id=visit.id, lines=[_line(visit.price_fen)])
    visit.charge_id = charge.id
    await session.flush()
    return charge


async def refund_visit(session: AsyncSession, principal: Principal | None, visit: Visit, *, reason: str) -> None:
    """In full: the rules (cut-off, who cancels) were decided by the caller. Nothing to do for a free
    visit or a charge already closed."""
    if visit.charge_id is None:
        return
    charge = await session.get(Charge, visit.charge_id, populate_existing=True)
    if charge is None or (charge.status != PENDING and charge.status not in COLLECTED):
        return
    await refund_charge(session, principal, charge_id=charge.id, reason=(reason or "visit cancelled")[:300])


async def charge_of(session: AsyncSession, visit: Visit) -> Charge | None:
    return await session.get(Charge, visit.charge_id) if visit.charge_id else None
