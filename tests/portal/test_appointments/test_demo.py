"""The demo shows test appointments: the county hospital's and a community centre's catalogues with
the discount visible, and the showcase patient's paid booking and doctor's order."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from carebridge.auth.models import User
from carebridge.demo.seed import load_demo
from carebridge.kit.blobs import LocalBlobStore
from carebridge.portal.mine import my_items
from carebridge.portal.test_appointments import doctor_orders, offers
from carebridge.portal.test_appointments import mine as _registers_my_items  # noqa: F401 - as the pages do
from carebridge.portal.test_appointments.models import Booking


async def test_the_demo_patient_has_a_booked_test_at_a_centre_that_costs_less(db, tmp_path) -> None:
    await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=dt.date(2026, 11, 23))
    patient = await db.scalar(select(User).where(User.username == "demo.patient"))
    booking = await db.scalar(select(Booking).where(Booking.patient_id == patient.patient_id))
    assert (booking.code, booking.state, booking.self_pay_fen) == ("US-ABDOMEN", "booked", 10800)
    found = await offers.find_offers(db, code="US-ABDOMEN", patient_id=patient.patient_id,
                                     origin=await offers.resolve_origin(db, patient.patient_id))
    centre = next(o for o in found if o.facility.id == booking.facility_id)
    assert centre.saving_fen == 1200 and centre.facility.tier == "community_center"
    assert [o.code for o in await doctor_orders.open_orders(db, patient.patient_id)] == ["CT-CHEST"]
    items = [i for i in await my_items(db, patient.patient_id) if i.kind == "test"]
    assert [i.url for i in items] == [f"/portal/tests/bookings/{booking.id}"] and items[0].status == "booked"
