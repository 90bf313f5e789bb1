"""The booking's money, through the payments feature: a charge with purpose "test" opened at
booking, confirmed by the payment callback, refunded when a paid booking is cancelled in time.

Until `carebridge.payments` is on main there is nothing to pay: `open_charge` answers None and
the booking is confirmed at once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.portal.test_appointments.models import Booking

PURPOSE = "test"


async def open_charge(session: AsyncSession, principal: Principal, booking: Booking) -> int | None:
    """The charge id, or None when there is nothing to pay through payments."""
    return None


async def is_paid(session: AsyncSession, booking: Booking) -> bool:
    return booking.charge_id is None


async def refund(session: AsyncSession, principal: Principal | None, booking: Booking, reason: str) -> None:
    return None
