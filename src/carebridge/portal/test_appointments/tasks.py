"""Sweeps over bookings, run by the shared timers loop (consultations/timers.py SWEEPS), each pass
in its own transaction. Every sweep claims a row with a conditional UPDATE before acting on it, so
two processes sweeping at once act once:
- reminders with the preparation instructions, `reminder_hours` before the block;
- unpaid bookings released after `payment_hold_minutes` (their charge cancelled);
- booked patients who never arrived marked no-show `no_show_minutes` after their block;
- bookings following their remote diagnosis order (study complete, report signed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.config import get_settings
from carebridge.consultations.timers import SWEEPS
from carebridge.errors import Conflict
from carebridge.kit.i18n import N_
from carebridge.portal.test_appointments import charging, doctor_orders, notices
from carebridge.portal.test_appointments.fulfilment import follow_diagnosis
from carebridge.portal.test_appointments.lifecycle import Action, Party, State
from carebridge.portal.test_appointments.models import Booking
from carebridge.portal.test_appointments.service import SYSTEM, audit_booking, move

BATCH = 200


async def send_reminders(session: AsyncSession, now: dt.datetime) -> int:
    soon = now + dt.timedelta(hours=get_settings().test_appointments_reminder_hours)
    due = (await session.scalars(select(Booking).where(
        Booking.state == State.booked, Booking.reminder_sent_at.is_(None), Booking.starts_at > now,
        Booking.starts_at <= soon).order_by(Booking.starts_at).limit(BATCH))).all()
    sent = 0
    for booking in due:
        claimed = await session.execute(update(Booking).where(Booking.id == booking.id,
                                                              Booking.reminder_sent_at.is_(None))
                                        .values(reminder_sent_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        await notices.tell(session, await notices.patient_users(session, booking.patient_id), booking,
                           title=N_("Reminder: %(test)s at %(time)s"),
                           body=N_("%(facility)s. Preparation: %(prep)s"), link=notices.patient_link(booking))
        sent += 1
    return sent


async def _sweep_moves(session: AsyncSession, rows: list[Booking], action: Action, audit_action: str,
                       **changes: object) -> int:
    moved = 0
    for booking in rows:
        try:
            await move(session, booking, action, {Party.system}, **changes)
        except Conflict:  # someone acted on it meanwhile (paid, checked in, cancelled)
            continue
        await doctor_orders.release_order(session, booking.request_id)
        if action == Action.cancel:  # released unpaid: its charge is cancelled, a late payment goes back
            await charging.give_back(session, None, booking, "not paid in time")
        await audit_booking(session, SYSTEM, booking, audit_action)
        moved += 1
    return moved


async def release_unpaid(session: AsyncSession, now: dt.datetime) -> int:
    held = now - dt.timedelta(minutes=get_settings().test_appointments_payment_hold_minutes)
    rows = list((await session.scalars(select(Booking).where(
        Booking.state == State.pending_payment, Booking.created_at <= held).limit(BATCH))).all())
    return await _sweep_moves(session, rows, Action.cancel, "unpaid_release", cancelled_at=now,
                              cancel_reason="not paid in time")


async def mark_no_shows(session: AsyncSession, now: dt.datetime) -> int:
    late = now - dt.timedelta(minutes=get_settings().test_appointments_no_show_minutes)
    rows = list((await session.scalars(select(Booking).where(
        Booking.state == State.booked, Booking.ends_at <= late).limit(BATCH))).all())
    return await _sweep_moves(session, rows, Action.no_show, "no_show", no_show_at=now)


async def follow_reports(session: AsyncSession, now: dt.datetime) -> int:  # noqa: ARG001 - the sweep signature
    rows = list((await session.scalars(select(Booking).where(
        Booking.diagnosis_order_id.is_not(None), Booking.state.in_([State.checked_in, State.performed]))
        .order_by(Booking.id).limit(BATCH))).all())
    await follow_diagnosis(session, rows)
    return len(rows)


TEST_SWEEPS = [send_reminders, release_unpaid, mark_no_shows, follow_reports]
for _sweep in TEST_SWEEPS:
    if _sweep not in SWEEPS:
        SWEEPS.append(_sweep)
