"""Messages about a booking, each in the recipient's own language (their saved locale, else the
deployment's). They name the test and the facility and link to the booking; results and reports
are read behind sign-in, never sent (notifications also leave by SMS and email).

The reminder carries the preparation instructions: they are the facility's generic text for the
test (fasting, what to wear), which the patient needs away from the app."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import User
from carebridge.network.models import Facility
from carebridge.notifications.service import notify_in_their_language
from carebridge.portal.test_appointments.models import Booking

KIND = "test_appointment"


async def patient_users(session: AsyncSession, patient_id: int) -> list[int]:
    return list((await session.scalars(select(User.id).where(User.patient_id == patient_id, User.is_active))).all())


def patient_link(booking: Booking) -> str:
    return f"/portal/tests/bookings/{booking.id}"


async def tell_users(session: AsyncSession, user_ids: Iterable[int], *, title: str, body: str,
                     params: dict | Callable[[str], dict], link: str) -> None:
    """`title` and `body` are msgids with %(name)s placeholders, translated per recipient; `params`
    may depend on the recipient's locale."""
    await notify_in_their_language(session, user_ids, kind=KIND, title=title, body=body, params=params, link=link)


async def tell(session: AsyncSession, user_ids: Iterable[int], booking: Booking, *, title: str, body: str,
               link: str, extra: dict | None = None) -> None:
    """About one booking: %(test)s, %(facility)s, %(time)s, %(prep)s in the recipient's language."""
    facility = await session.get(Facility, booking.facility_id)
    from carebridge.web.templating import env  # the page filter, so times read the same everywhere

    when = env.filters["localtime"](booking.starts_at)

    def params(locale: str) -> dict:
        english = locale == "en"
        return {"test": (booking.name_en or booking.name) if english else booking.name,
                "facility": (facility.name_en or facility.name) if english else facility.name,
                "time": when, "prep": (booking.prep_en or booking.prep) if english else booking.prep,
                **(extra or {})}

    await tell_users(session, user_ids, title=title, body=body, params=params, link=link)
