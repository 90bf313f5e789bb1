"""The demo's medicine orders, as the demo patient and demo.pharmacist meet them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from carebridge.auth.models import User
from carebridge.demo.delivery import KIND
from carebridge.demo.seed import load_demo
from carebridge.kit.blobs import LocalBlobStore
from carebridge.notifications.models import Notification
from carebridge.portal.delivery import dispensing, service
from carebridge.portal.delivery.models import DeliveryOrder


async def test_demo_patient_has_a_delivered_an_in_transit_and_a_waiting_order(db, world, tmp_path):
    await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=dt.date(2025, 3, 12))
    patient_user = await db.scalar(select(User).where(User.username == "demo.patient"))
    patient = await world.principal(patient_user)
    orders = {o.state: o for o in (await service.patient_orders(db, patient, patient_user.patient_id))[0]}
    assert set(orders) == {"delivered", "shipped", "paid"}
    delivered = await service.view_order(db, patient, orders["delivered"].id)
    steps = [row.courier_event or row.action for row in delivered.timeline]
    assert steps == ["place", "pay", "pack", "ship", "picked_up", "in_transit", "in_transit", "delivered"]
    times = [row.occurred_at for row in delivered.timeline]
    assert times == sorted(times) and times[-1] < dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    assert (orders["shipped"].courier, orders["shipped"].tracking_number) == ("ems", "EMS9861234567")
    assert orders["paid"].cold_chain
    pharmacist = await world.principal(await db.scalar(select(User).where(User.username == "demo.pharmacist")))
    queue = await dispensing.queue(db, pharmacist)
    assert {i.order.id for i in queue} == {orders["paid"].id, orders["shipped"].id}
    invite = await db.scalar(select(Notification.link).where(Notification.user_id == patient_user.id,
                                                             Notification.link.like("/portal/deliveries/new%")))
    assert invite.startswith(f"/portal/deliveries/new?kind={KIND}&source_id=")
    assert await db.scalar(select(DeliveryOrder.id).where(DeliveryOrder.source_kind != KIND)) is None
