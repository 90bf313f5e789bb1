"""The demo shows online visits: the cardiologist's published slots and the demo patient's paid,
booked follow-up of a condition diagnosed in person."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from carebridge.auth.models import User
from carebridge.demo.seed import load_demo
from carebridge.kit.blobs import LocalBlobStore
from carebridge.payments.models import Charge
from carebridge.portal.visits import eligibility, slots
from carebridge.portal.visits.models import Visit


async def test_the_demo_patient_has_a_booked_follow_up_with_the_demo_cardiologist(db, tmp_path):  # noqa: ANN001
    await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=dt.date(2025, 3, 12))
    users = {u.username: u for u in (await db.scalars(select(User).where(User.username.in_(
        ["demo.cardiologist", "demo.patient"])))).all()}
    doctor, patient = users["demo.cardiologist"], users["demo.patient"]
    visit = (await db.scalars(select(Visit))).one()
    assert (visit.patient_id, visit.doctor_user_id, visit.state, visit.mode) == (
        patient.patient_id, doctor.id, "booked", "video")
    assert (await eligibility.check_condition(db, visit.patient_id, visit.condition_id)).eligible
    assert (await db.get(Charge, visit.charge_id)).status == "paid"
    offered = await slots.open_slots(db, doctor.id)
    assert {s.mode for s in offered} == {"video", "text"} and len(offered) > 20
