"""Things that arrive twice at the same moment, on two real PostgreSQL connections: a courier's
event, the payment provider's notice, two orders of one refill. Each happens once. (SQLite takes the
write lock at BEGIN, so there the second simply comes after the first; the same outcomes are tested
on both engines in test_courier.py and test_orders.py.)"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from carebridge.errors import Conflict
from carebridge.payments import service as payments
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from carebridge.portal.delivery import courier, dispensing, service
from carebridge.portal.delivery.models import CourierEvent, DeliveryEvent, DeliveryOrder
from tests.delivery.conftest import ADDRESS, Pharmacy, build_pharmacy, event, signed
from tests.delivery.source import KIND
from tests.factories import World

pytestmark = pytest.mark.usefixtures("medication_source", "courier_secret")


def _postgres_only(engine) -> None:  # noqa: ANN001
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers at BEGIN; the outcome is tested on both engines elsewhere")


async def _arrange(maker) -> tuple[Pharmacy, int]:  # noqa: ANN001
    async with maker() as db:
        scene = await build_pharmacy(World(db))
        refill = await scene.refill()
        await db.commit()
        return scene, refill.id


async def _principal(maker, user):  # noqa: ANN001, ANN202
    async with maker() as db:
        return await World(db).principal(user)


async def _cleanup(engine, scene: Pharmacy) -> None:  # noqa: ANN001
    users = [u.id for u in (scene.patient_user, scene.other_patient_user, scene.pharmacist, scene.other_pharmacist,
                            scene.doctor)]
    patients = [scene.patient.id, scene.other_patient.id]
    statements = [
        "DELETE FROM delivery_courier_events WHERE order_id IN (SELECT id FROM delivery_orders "
        "WHERE patient_id = ANY(:p))",
        "DELETE FROM delivery_events WHERE order_id IN (SELECT id FROM delivery_orders WHERE patient_id = ANY(:p))",
        "DELETE FROM delivery_lines WHERE order_id IN (SELECT id FROM delivery_orders WHERE patient_id = ANY(:p))",
        "DELETE FROM delivery_orders WHERE patient_id = ANY(:p)",
        "DELETE FROM delivery_addresses WHERE patient_id = ANY(:p)",
        # The demo provider's book: charges (by reference) and refunds (naming the charge's reference).
        "DELETE FROM provider_transactions WHERE reference IN (SELECT provider_ref FROM payments "
        "WHERE charge_id IN (SELECT id FROM charges WHERE patient_id = ANY(:p))) OR merchant_order IN "
        "(SELECT provider_ref FROM payments WHERE charge_id IN (SELECT id FROM charges WHERE patient_id = ANY(:p)))",
        "DELETE FROM ledger_entries WHERE charge_id IN (SELECT id FROM charges WHERE patient_id = ANY(:p))",
        "DELETE FROM refunds WHERE charge_id IN (SELECT id FROM charges WHERE patient_id = ANY(:p))",
        "DELETE FROM payments WHERE charge_id IN (SELECT id FROM charges WHERE patient_id = ANY(:p))",
        "DELETE FROM charge_lines WHERE charge_id IN (SELECT id FROM charges WHERE patient_id = ANY(:p))",
        "DELETE FROM charges WHERE patient_id = ANY(:p)",
        "DELETE FROM notification_deliveries WHERE user_id = ANY(:u)",
        "DELETE FROM notifications WHERE user_id = ANY(:u)",
        "DELETE FROM medication_statements WHERE id IN (SELECT id FROM record_entries WHERE patient_id = ANY(:p))",
        "DELETE FROM record_entries WHERE patient_id = ANY(:p)",
        "DELETE FROM patient_registrations WHERE patient_id = ANY(:p)",
        "DELETE FROM api_tokens WHERE user_id = ANY(:u)",
        "DELETE FROM role_assignments WHERE user_id = ANY(:u)",
        "DELETE FROM users WHERE id = ANY(:u)",
        "DELETE FROM patients WHERE id = ANY(:p)",
        "DELETE FROM facilities WHERE id = ANY(:f)",
    ]
    params = {"u": users, "p": patients, "f": [scene.county.id, scene.other.id]}
    async with engine.begin() as conn:
        for sql in statements:
            await conn.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})


async def _in_session(maker, work) -> str:  # noqa: ANN001
    async with maker() as session:
        try:
            result = await work(session)
            await asyncio.sleep(0.05)  # hold the rows while the other tries
            await session.commit()
            return str(result)
        except Conflict as exc:
            await session.rollback()
            return f"409 {exc.code}"


async def test_two_orders_of_one_refill_at_once_one_wins(engine):  # noqa: ANN001
    _postgres_only(engine)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    scene, refill_id = await _arrange(maker)
    try:
        patient = await _principal(maker, scene.patient_user)
        request = service.OrderRequest(source_kind=KIND, source_id=refill_id, method="pickup")
        results = await asyncio.gather(*(_in_session(maker, lambda s: _placed(s, patient, request)) for _ in range(2)))
        assert sorted(results) == ["409 already_ordered", "placed"]
        async with maker() as db:
            assert await db.scalar(select(func.count()).select_from(DeliveryOrder)
                                   .where(DeliveryOrder.source_id == refill_id)) == 1
    finally:
        await _cleanup(engine, scene)


async def _placed(session, patient, request) -> str:  # noqa: ANN001
    await service.place_order(session, patient, request)
    return "placed"


async def _checkout(db, patient, order: DeliveryOrder) -> bytes:  # noqa: ANN001
    """The patient checks out and the provider books the money; returns the notice it will send."""
    reference = (await payments.start_payment(db, patient, order.charge_id)).reference
    return await PROVIDERS["demo"].settle(db, reference)


async def _notice(session, body: bytes) -> str:  # noqa: ANN001
    payment = await payments.receive_notice(session, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)
    return payment.status


async def test_a_payment_notice_delivered_twice_at_once_pays_the_order_once(engine):  # noqa: ANN001
    _postgres_only(engine)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    scene, refill_id = await _arrange(maker)
    try:
        async with maker() as db:
            patient = await World(db).principal(scene.patient_user)
            order = await service.place_order(db, patient, service.OrderRequest(
                source_kind=KIND, source_id=refill_id, method="pickup"))
            body = await _checkout(db, patient, order)
            await db.commit()
        results = await asyncio.gather(*(_in_session(maker, lambda s: _notice(s, body)) for _ in range(2)))
        assert results == ["succeeded"] * 2
        async with maker() as db:
            paid = await db.get(DeliveryOrder, order.id)
            pays = await db.scalar(select(func.count()).select_from(DeliveryEvent).where(
                DeliveryEvent.order_id == order.id, DeliveryEvent.action == "pay"))
            assert (paid.state, paid.version, pays) == ("paid", 2, 1)
    finally:
        await _cleanup(engine, scene)


async def test_a_courier_event_sent_twice_at_once_is_applied_once(engine):  # noqa: ANN001
    _postgres_only(engine)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    scene, refill_id = await _arrange(maker)
    try:
        async with maker() as db:
            world = World(db)
            patient, staff = await world.principal(scene.patient_user), await world.principal(scene.pharmacist)
            order = await service.place_order(db, patient, service.OrderRequest(
                source_kind=KIND, source_id=refill_id, method="delivery", address=_address()))
            await _notice(db, await _checkout(db, patient, order))
            await dispensing.pack(db, staff, order.id)
            await dispensing.ship(db, staff, order.id, courier="sf", tracking_number="SF5550001")
            await db.commit()
        when = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
        body, headers = signed(event("SF5550001", "delivered", "sf-race-1", when))
        call = courier.Call("sf", {k.lower(): v for k, v in headers.items()}, body, "198.51.100.9")

        async def deliver(session) -> str:  # noqa: ANN001
            return (await courier.receive(session, call)).outcome

        results = await asyncio.gather(_in_session(maker, deliver), _in_session(maker, deliver))
        assert sorted(results) == ["applied", "duplicate"]
        async with maker() as db:
            done = await db.get(DeliveryOrder, order.id)
            delivered = await db.scalar(select(func.count()).select_from(DeliveryEvent).where(
                DeliveryEvent.order_id == order.id, DeliveryEvent.action == "deliver"))
            kept = (await db.scalars(select(CourierEvent.outcome).where(CourierEvent.order_id == order.id)
                                     .order_by(CourierEvent.id))).all()
            assert (done.state, delivered, kept) == ("delivered", 1, ["applied", "duplicate"])
    finally:
        await _cleanup(engine, scene)


def _address():  # noqa: ANN202
    from carebridge.portal.delivery.addresses import AddressInput

    return AddressInput(**ADDRESS)

