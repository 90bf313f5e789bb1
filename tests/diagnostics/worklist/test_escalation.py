"""The at-risk sweep: escalated once, only when nobody is reading, the on-call reader told; a missed
target written once; the breaches list for the hub only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from carebridge.auth.models import Role, User
from carebridge.diagnostics import reading_escalation
from carebridge.diagnostics.models import OrderEvent
from carebridge.diagnostics.reading_models import ReadingBreach
from carebridge.errors import Forbidden
from carebridge.kit.clock import utcnow
from carebridge.notifications.models import Notification
from tests.diagnostics.worklist.conftest import hub_admin, on_duty, practitioner, ready_order


async def _titles(db, user) -> list[str]:  # noqa: ANN001
    return [n.title for n in (await db.scalars(select(Notification).where(Notification.user_id == user.id)
                                               .order_by(Notification.id))).all()]


async def test_escalated_once_at_the_share_and_the_on_call_reader_is_told(world, db, dnet, settings):
    t0 = utcnow()
    oncall = await world.user((Role.doctor, dnet.hub.id))
    await on_duty(db, oncall, dnet.hub.id, t0 + dt.timedelta(minutes=80))  # the shift starts 20 minutes from now
    order = await ready_order(world, db, dnet, "CT", urgency="stat", complete_at=t0)
    share = settings.diagnosis_escalation_share
    just_before = t0 + dt.timedelta(minutes=30 * share) - dt.timedelta(seconds=1)
    assert await reading_escalation.escalate_at_risk(db, just_before) == 0
    at_share = t0 + dt.timedelta(minutes=30 * share)
    assert await reading_escalation.escalate_at_risk(db, at_share) == 1
    assert await reading_escalation.escalate_at_risk(db, at_share + dt.timedelta(minutes=1)) == 0
    await db.refresh(order)
    assert order.escalated_at == at_share
    events = (await db.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id,
                                                        OrderEvent.action == "escalate"))).all()
    assert len(events) == 1 and events[0].party == "system"
    assert [t for t in await _titles(db, oncall) if "at risk" in t] == [f"diagnosis #{order.id}: at risk, 7 min left"]
    assert order.assigned_reader_id == dnet.reader.id  # assigned when it arrived, before the shift began
    assigned = await db.get(User, order.assigned_reader_id)
    assert any("at risk" in t for t in await _titles(db, assigned))  # the assigned reader hears too


async def test_an_order_someone_is_reading_is_not_escalated_until_the_claim_lapses(world, db, dnet):
    from carebridge.diagnostics import claims

    t0 = utcnow()
    order = await ready_order(world, db, dnet, "CT", urgency="stat", complete_at=t0 - dt.timedelta(minutes=25))
    await claims.claim(db, await world.principal(dnet.reader), order.id)
    assert await reading_escalation.escalate_at_risk(db, utcnow()) == 0
    order.claimed_until = utcnow() - dt.timedelta(seconds=1)  # the reader walked away
    await db.flush()
    assert await reading_escalation.escalate_at_risk(db, utcnow()) == 1


async def test_with_nobody_on_duty_every_reading_doctor_of_the_hub_is_told(world, db, dnet):
    t0 = utcnow()
    resident = await world.user((Role.doctor, dnet.hub.id))
    await practitioner(db, resident, "resident")
    await on_duty(db, resident, dnet.hub.id, t0)  # on duty, but cannot sign final
    order = await ready_order(world, db, dnet, "CT", urgency="stat", complete_at=t0 - dt.timedelta(minutes=28))
    assert await reading_escalation.on_call_readers(db, dnet.hub.id, t0) == sorted(
        [dnet.reader.id, dnet.reader2.id, resident.id])
    assert await reading_escalation.escalate_at_risk(db, t0) == 1
    for user in (dnet.reader, dnet.reader2, resident):
        assert any(f"#{order.id}: at risk" in t for t in await _titles(db, user))
    assert not any("at risk" in t for t in await _titles(db, dnet.sender))


async def test_a_missed_target_is_written_once_with_the_reader_then(world, db, dnet):
    t0 = utcnow()
    late = await ready_order(world, db, dnet, "CT", urgency="stat", complete_at=t0 - dt.timedelta(minutes=31))
    in_time = await ready_order(world, db, dnet, "CT", urgency="stat", complete_at=t0 - dt.timedelta(minutes=29))
    assert await reading_escalation.record_breaches(db, t0) == 1
    assert await reading_escalation.record_breaches(db, t0 + dt.timedelta(seconds=90)) == 1  # in_time missed too now
    assert await reading_escalation.record_breaches(db, t0 + dt.timedelta(minutes=5)) == 0
    breaches = (await db.scalars(select(ReadingBreach).where(ReadingBreach.order_id.in_([late.id, in_time.id]))
                                 .order_by(ReadingBreach.id))).all()
    assert [b.order_id for b in breaches] == [late.id, in_time.id]
    assert breaches[0].reader_user_id == late.assigned_reader_id and breaches[0].due_at == late.due_at
    assert breaches[0].urgency == "stat" and breaches[0].hub_facility_id == dnet.hub.id
    assert await db.scalar(select(func.count()).select_from(OrderEvent).where(
        OrderEvent.order_id == late.id, OrderEvent.action == "breach")) == 1


async def test_a_signed_order_is_neither_escalated_nor_breached(world, db, dnet):
    t0 = utcnow()
    order = await ready_order(world, db, dnet, "CT", urgency="stat", complete_at=t0 - dt.timedelta(minutes=40))
    order.state, order.signed_at = "reported", t0 - dt.timedelta(minutes=15)
    await db.flush()
    assert await reading_escalation.sweep(db, t0) == 0


async def test_the_breaches_list_is_the_hubs_own(world, db, dnet):
    t0 = utcnow()
    order = await ready_order(world, db, dnet, "MR", urgency="urgent", complete_at=t0 - dt.timedelta(hours=3))
    await reading_escalation.sweep(db, t0)
    for user in (dnet.reader, await hub_admin(world, dnet)):
        page = await reading_escalation.list_breaches(db, await world.principal(user))
        assert [v.breach.order_id for v in page.items] == [order.id]
        assert page.items[0].modality == "MR" and page.items[0].sending_site
    assert (await reading_escalation.list_breaches(db, await world.principal(dnet.sender))).items == []
    for user in (dnet.outsider, dnet.sender):
        with pytest.raises(Forbidden):
            await reading_escalation.list_breaches(db, await world.principal(user), dnet.hub.id)
    with pytest.raises(Forbidden):
        await reading_escalation.list_breaches(db, await world.principal(dnet.hub_tech))
