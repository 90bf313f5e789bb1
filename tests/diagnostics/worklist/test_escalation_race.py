"""Two server processes sweeping at the same moment, on two real database connections: the order
past its target is escalated once (one timeline event, one message per person) and its breach is
written once. On PostgreSQL both sweeps read the order before either commits and meet at the
conditional UPDATE and the unique (order, due_at); SQLite queues the second at BEGIN, and it must
find nothing left to do."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from carebridge.access.models import AccessGrant, Consent
from carebridge.auth.models import ApiToken, RoleAssignment, User
from carebridge.diagnostics import reading_escalation
from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy, OrderEvent
from carebridge.diagnostics.reading_models import ReadingAssignment, ReadingBreach
from carebridge.kit.clock import utcnow
from carebridge.network.models import Facility, Practitioner, ServiceOffering
from carebridge.notifications.models import Notification, NotificationDelivery
from carebridge.records.models import Patient, PatientRegistration
from tests.diagnostics.conftest import build_diag_net
from tests.diagnostics.worklist.conftest import ready_order
from tests.factories import World


async def _sweep(maker, now: dt.datetime) -> int:  # noqa: ANN001
    async with maker() as session:
        done = await reading_escalation.sweep(session, now)
        await asyncio.sleep(0.1)  # hold what this sweep claimed while the other one tries
        await session.commit()
        return done


async def _cleanup(engine, net, order_ids: list[int]) -> None:  # noqa: ANN001
    users = [u.id for u in (net.sender, net.sender_tech, net.reader, net.reader2, net.hub_tech, net.outsider)]
    facilities = [net.community.id, net.hub.id, net.other_hub.id] + [
        f for f in (await _outsider_facility(engine, net.outsider.id),) if f]
    notes = select(Notification.id).where(Notification.user_id.in_(users))
    statements = [
        delete(NotificationDelivery).where(NotificationDelivery.notification_id.in_(notes)),
        delete(Notification).where(Notification.user_id.in_(users)),
        delete(ReadingBreach).where(ReadingBreach.order_id.in_(order_ids)),
        delete(ReadingAssignment).where(ReadingAssignment.order_id.in_(order_ids)),
        delete(OrderEvent).where(OrderEvent.order_id.in_(order_ids)),
        delete(DiagnosticStudy).where(DiagnosticStudy.order_id.in_(order_ids)),
        delete(DiagnosisOrder).where(DiagnosisOrder.id.in_(order_ids)),
        delete(AccessGrant).where(AccessGrant.patient_id == net.patient.id),
        delete(Consent).where(Consent.patient_id == net.patient.id),
        delete(PatientRegistration).where(PatientRegistration.patient_id == net.patient.id),
        delete(Patient).where(Patient.id == net.patient.id),
        delete(ApiToken).where(ApiToken.user_id.in_(users)),
        delete(Practitioner).where(Practitioner.user_id.in_(users)),
        delete(RoleAssignment).where(RoleAssignment.user_id.in_(users)),
        delete(User).where(User.id.in_(users)),
        delete(ServiceOffering).where(ServiceOffering.facility_id.in_(facilities)),
        delete(Facility).where(Facility.id.in_(facilities)),
    ]
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(statement)


async def _outsider_facility(engine, user_id: int) -> int | None:  # noqa: ANN001
    async with engine.connect() as conn:
        return await conn.scalar(select(RoleAssignment.facility_id).where(RoleAssignment.user_id == user_id))


async def test_two_sweeps_at_once_escalate_once_and_write_one_breach(engine, monkeypatch):  # noqa: ANN001
    if engine.dialect.name != "postgresql":
        # SQLite serialises writers at BEGIN, and it reuses the ids of the rows this test must delete,
        # so the audit rows it cannot delete would name the next test's patient. The claim itself is
        # tested on both engines (test_escalation.py).
        pytest.skip("two writers at once need PostgreSQL")
    maker = async_sessionmaker(engine, expire_on_commit=False)
    t0 = utcnow()
    async with maker() as db:
        world = World(db)
        net = await build_diag_net(world, db)
        order = await ready_order(world, db, net, "CT", urgency="stat", complete_at=t0 - dt.timedelta(minutes=40))
        await db.commit()
    told = reading_escalation.on_call_readers

    async def slow_on_call(*args):  # noqa: ANN002, ANN202 - widen the window between claim and commit
        found = await told(*args)
        await asyncio.sleep(0.05)
        return found

    monkeypatch.setattr(reading_escalation, "on_call_readers", slow_on_call)
    try:
        results = await asyncio.gather(_sweep(maker, t0), _sweep(maker, t0))
        assert sum(results) == 2, results  # one escalation and one breach between them
        async with maker() as db:
            swept = await db.get(DiagnosisOrder, order.id)
            assert swept.escalated_at == t0
            assert await db.scalar(select(func.count()).select_from(ReadingBreach).where(
                ReadingBreach.order_id == order.id)) == 1
            assert await db.scalar(select(func.count()).select_from(OrderEvent).where(
                OrderEvent.order_id == order.id, OrderEvent.action.in_(["escalate", "breach"]))) == 2
            titles = (await db.scalars(select(Notification.title).where(
                Notification.user_id == net.reader.id, Notification.title.contains("at risk")))).all()
            assert len(titles) == 1
    finally:
        await _cleanup(engine, net, [order.id])
