"""The visit timers: one loop from the app lifespan runs every sweep in SWEEPS each
`visits_timer_seconds`, one transaction per sweep. A sweep is `async (session, now) -> int` (how
many visits it handled), idempotent, and claims each visit by conditional UPDATE (the reminder
stamp, or the visit's version in `service.move`), so several server processes may sweep at once
and a visit is reminded, expired or marked exactly once.

- reminders: a booked visit starting within `visits_reminder_minutes` is reminded once;
- unpaid holds: a visit awaiting payment for `visits_payment_hold_minutes` is cancelled, its slot freed;
- no-shows: a booked patient who never entered the waiting room by the end plus the grace;
- unstarted: a patient waited but the doctor never started: cancelled and refunded."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.config import get_settings
from carebridge.db import unit_of_work
from carebridge.errors import Conflict
from carebridge.kit.clock import utcnow
from carebridge.portal.visits import billing, notices, service
from carebridge.portal.visits.lifecycle import Action, Party, State
from carebridge.portal.visits.models import Visit

log = logging.getLogger(__name__)
BATCH = 200
SYSTEM = frozenset({Party.system})
UNPAID_REASON = "预约未在规定时间内支付 Not paid in time"
UNSTARTED_REASON = "医生未能开始就诊，已全额退款 The doctor could not start the visit; refunded in full"

Sweep = Callable[[AsyncSession, dt.datetime], Awaitable[int]]


async def send_reminders(session: AsyncSession, now: dt.datetime) -> int:
    lead = dt.timedelta(minutes=get_settings().visits_reminder_minutes)
    due = (await session.scalars(select(Visit).where(
        Visit.state == State.booked.value, Visit.reminder_sent_at.is_(None), Visit.starts_at > now,
        Visit.starts_at <= now + lead).order_by(Visit.starts_at).limit(BATCH))).all()
    sent = 0
    for visit in due:
        claimed = await session.execute(update(Visit).where(Visit.id == visit.id, Visit.reminder_sent_at.is_(None))
                                        .values(reminder_sent_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue  # another process reminded it
        await notices.reminder(session, visit)
        sent += 1
    return sent


async def _move_each(session: AsyncSession, visits: list[Visit], action: Action, **changes: object) -> list[Visit]:
    moved = []
    for visit in visits:
        try:
            await service.move(session, visit, action, SYSTEM, **changes)
        except Conflict:
            continue  # moved meanwhile (the patient arrived, another sweep): nothing left to do here
        await service.record(session, None, visit, f"visit_{action.value}", reason=visit.state_reason)
        moved.append(visit)
    return moved


async def expire_unpaid(session: AsyncSession, now: dt.datetime) -> int:
    hold = dt.timedelta(minutes=get_settings().visits_payment_hold_minutes)
    due = list((await session.scalars(select(Visit).where(
        Visit.state == State.awaiting_payment.value, Visit.created_at <= now - hold).limit(BATCH))).all())
    moved = await _move_each(session, due, Action.cancel, state_reason=UNPAID_REASON, ended_at=now)
    for visit in moved:
        await service.release(session, visit)
        await billing.refund_visit(session, None, visit, reason=UNPAID_REASON)  # cancels the unpaid charge
    return len(moved)


async def mark_no_shows(session: AsyncSession, now: dt.datetime) -> int:
    grace = dt.timedelta(minutes=get_settings().visits_no_show_grace_minutes)
    due = list((await session.scalars(select(Visit).where(
        Visit.state == State.booked.value, Visit.ends_at <= now - grace).limit(BATCH))).all())
    moved = await _move_each(session, due, Action.no_show, ended_at=now)
    for visit in moved:
        await notices.no_show(session, visit)
    return len(moved)


async def cancel_unstarted(session: AsyncSession, now: dt.datetime) -> int:
    grace = dt.timedelta(minutes=get_settings().visits_unstarted_grace_minutes)
    due = list((await session.scalars(select(Visit).where(
        Visit.state == State.checked_in.value, Visit.ends_at <= now - grace).limit(BATCH))).all())
    moved = await _move_each(session, due, Action.cancel, state_reason=UNSTARTED_REASON, ended_at=now)
    for visit in moved:
        await service.release(session, visit)
        await billing.refund_visit(session, None, visit, reason=UNSTARTED_REASON)
        await notices.cancelled(session, visit, by_patient=False)
    return len(moved)


SWEEPS: list[Sweep] = [expire_unpaid, send_reminders, mark_no_shows, cancel_unstarted]


async def sweep(session: AsyncSession, now: dt.datetime) -> int:
    """Every sweep once in the caller's transaction (tests pass an explicit `now`)."""
    return sum([await one(session, now) for one in SWEEPS])


async def run_once(app_state: Any, now: dt.datetime | None = None) -> int:
    total = 0
    for one in SWEEPS:
        try:
            async with unit_of_work(app_state.sessionmaker) as session:
                total += await one(session, now or utcnow())
        except Exception:  # one failing sweep must not stop the others for good
            log.exception("visit timer sweep %s failed", one.__name__)
    return total


async def run_visit_timers(app_state: Any) -> None:
    """Runs until cancelled; returns at once when the timers are off in this process."""
    period = app_state.settings.visits_timer_seconds
    if period <= 0:
        log.info("visit timers are off in this process (CAREBRIDGE_VISITS_TIMER_SECONDS=0)")
        return
    while True:
        await run_once(app_state)
        await asyncio.sleep(period)
