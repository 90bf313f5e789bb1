""""My orders": the patient's test bookings, newest appointment first (portal/mine.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit import i18n
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Facility
from carebridge.portal.mine import MyItem, my_items_source
from carebridge.portal.test_appointments.labels import STATE
from carebridge.portal.test_appointments.models import Booking


@my_items_source
async def test_items(session: AsyncSession, patient_id: int) -> list[MyItem]:
    english = i18n.get_locale() == "en"
    rows = (await session.execute(
        select(Booking, Facility.name, Facility.name_en).join(Facility, Facility.id == Booking.facility_id)
        .where(Booking.patient_id == patient_id).order_by(Booking.starts_at.desc()).limit(100))).all()
    return [MyItem(kind="test",
                   title=_("%(test)s at %(facility)s") % {
                       "test": (b.name_en or b.name) if english else b.name,
                       "facility": (name_en or name) if english else name},
                   status=b.state, status_label=_(STATE.get(b.state, b.state)), when=b.starts_at,
                   url=f"/portal/tests/bookings/{b.id}", needs_action=b.state == "pending_payment")
            for b, name, name_en in rows]
