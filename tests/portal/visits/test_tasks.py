"""The visit timers, swept with an explicit time: one reminder per visit however often the loop
runs, a patient who never came, a visit the doctor never started."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from carebridge.kit.clock import utcnow
from carebridge.notifications.models import Notification
from carebridge.portal.visits import service, tasks
from carebridge.portal.visits.models import Visit, VisitDay
from tests.portal.visits.conftest import move_visit_to, publish


async def _visit(world, net) -> Visit:  # noqa: ANN001
    first, _ = await publish(world, net)
    return await service.book_visit(world.db, await world.principal(net.patient_user), service.BookingInput(
        net.patient.id, first.id, net.conditions["eligible"]))


async def _count(world, user, word: str) -> int:  # noqa: ANN001
    return await world.db.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.title.contains(word)))


async def test_a_visit_is_reminded_once_however_often_the_loop_runs(world, net):  # noqa: ANN001
    visit = await _visit(world, net)
    now = utcnow()
    await move_visit_to(world.db, visit, now + dt.timedelta(hours=2))
    assert await tasks.send_reminders(world.db, now) == 0  # outside the 60-minute lead
    await move_visit_to(world.db, visit, now + dt.timedelta(minutes=45))
    assert await tasks.send_reminders(world.db, now) == 1
    assert await tasks.send_reminders(world.db, now + dt.timedelta(minutes=1)) == 0
    assert await tasks.sweep(world.db, now + dt.timedelta(minutes=2)) == 0
    assert await _count(world, net.patient_user, "Reminder") == 1


async def test_a_patient_who_never_came_is_marked_missed(world, net):  # noqa: ANN001
    visit = await _visit(world, net)
    now = utcnow()
    await move_visit_to(world.db, visit, now - dt.timedelta(minutes=30))  # ended 10 minutes ago
    assert await tasks.mark_no_shows(world.db, now) == 0  # still within the 15-minute grace
    assert await tasks.mark_no_shows(world.db, now + dt.timedelta(minutes=10)) == 1
    await world.db.refresh(visit)
    assert visit.state == "no_show" and await _count(world, net.patient_user, "missed") == 1
    assert await tasks.mark_no_shows(world.db, now + dt.timedelta(minutes=11)) == 0


async def test_a_waiting_patient_whose_visit_never_started_is_cancelled_and_the_time_freed(world, net):  # noqa: ANN001
    visit = await _visit(world, net)
    now = utcnow()
    await move_visit_to(world.db, visit, now + dt.timedelta(minutes=5))
    await service.check_in(world.db, await world.principal(net.patient_user), visit.id)
    later = visit.ends_at + dt.timedelta(hours=3)
    assert await tasks.cancel_unstarted(world.db, later) == 1
    await world.db.refresh(visit)
    assert visit.state == "cancelled" and "refunded" in visit.state_reason
    slot_day = await world.db.scalar(select(VisitDay.booked).join(
        service.VisitSlot, service.VisitSlot.day_id == VisitDay.id).where(service.VisitSlot.id == visit.slot_id))
    assert slot_day == 0
    assert await _count(world, net.patient_user, "cancelled") == 1


async def test_a_visit_moved_meanwhile_is_left_alone(world, net):  # noqa: ANN001
    visit = await _visit(world, net)
    now = utcnow()
    await move_visit_to(world.db, visit, now - dt.timedelta(hours=1))
    # The doctor marked it a moment before the sweep's UPDATE: the sweep's version is stale.
    await world.db.execute(update(Visit).where(Visit.id == visit.id).values(version=Visit.version + 1)
                           .execution_options(synchronize_session=False))
    assert await tasks.mark_no_shows(world.db, now) == 0
