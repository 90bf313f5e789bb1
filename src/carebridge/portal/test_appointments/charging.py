"""The booking's money, through the payments feature: a charge with purpose "test" is opened at
booking; its payment confirms the booking (`@on_paid("test")`, in the paying transaction, once);
cancelling before the cut-off, or by the facility, refunds it (an unpaid charge is cancelled); a
booking not paid within the hold is released and its charge cancelled. A missed appointment keeps
its payment."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.payments.models import Charge
from carebridge.payments.service import PAID, PENDING, on_paid, open_charge, refund_charge
from carebridge.portal.test_appointments.models import Booking, CatalogueTest
from carebridge.portal.test_appointments.pricing import price_line

PURPOSE = "test"
LATE_PAYMENT = "paid after the booking was released or cancelled"


async def open_booking_charge(session: AsyncSession, principal: Principal, booking: Booking,
                              test: CatalogueTest) -> Charge:
    """The patient has been authorised by the booking. A charge with nothing to self-pay is paid at
    once, which confirms the booking before this returns."""
    return await open_charge(session, principal, patient_id=booking.patient_id, facility_id=booking.facility_id,
                             purpose=PURPOSE, purpose_id=booking.id, lines=[price_line(test)])


async def give_back(session: AsyncSession, principal: Principal | None, booking: Booking, reason: str) -> None:
    """Refund a paid charge in full, or cancel one still waiting for payment."""
    if booking.charge_id is None:
        return
    charge = await session.get(Charge, booking.charge_id, populate_existing=True)
    if charge is not None and charge.status in (PENDING, PAID):
        await refund_charge(session, principal, charge_id=charge.id, reason=reason[:300])


@on_paid(PURPOSE)
async def booking_paid(session: AsyncSession, charge: Charge) -> None:
    from carebridge.portal.test_appointments.lifecycle import State
    from carebridge.portal.test_appointments.service import confirm_booking  # service opens charges: import here

    booking = await session.get(Booking, charge.purpose_id, populate_existing=True)
    if booking is not None and booking.state == State.pending_payment:
        await confirm_booking(session, booking)
    else:  # the place was given up before the money arrived: the money goes back
        await refund_charge(session, None, charge_id=charge.id, reason=LATE_PAYMENT)
