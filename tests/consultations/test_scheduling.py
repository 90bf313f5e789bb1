"""Scheduling a live session: slots where every expert is rostered and nobody is booked elsewhere,
a proposal confirmed by the other side, the .ics invitation read back, one reminder, and
reschedule/cancel with reasons."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar
from sqlalchemy import select

from carebridge.consultations import invitation, scheduling, service, team
from carebridge.consultations.models import CaseEvent
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from tests.consultations.timing_world import accepted_case, practitioner, shift, titles

HOUR = dt.timedelta(hours=1)
HALF = dt.timedelta(minutes=30)


def _tomorrow() -> dt.datetime:
    return (utcnow() + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


async def _mdt_live_case(world, db, net):  # noqa: ANN001, ANN202
    """Lead rostered 01:00-05:00 tomorrow, the invited member 03:00-07:00: common time 03:00-05:00."""
    day = _tomorrow()
    await shift(db, await practitioner(db, net.county_doctor, net.county), net.county, day + HOUR, day + 5 * HOUR)
    await shift(db, await practitioner(db, net.city_doctor, net.city), net.city, day + 3 * HOUR, day + 7 * HOUR)
    case = await accepted_case(world, net, db)
    await team.invite_member(db, await world.principal(net.county_doctor), case.id, net.city_doctor.id)
    return case, day


async def _book(world, db, case, starts_at, proposer, confirmer, note=""):  # noqa: ANN001, ANN202
    await scheduling.propose_slot(db, await world.principal(proposer), case.id, starts_at, note)
    return await scheduling.confirm_slot(db, await world.principal(confirmer), case.id)


async def _ics(db, world, user, case_id):  # noqa: ANN001, ANN202
    raw = await invitation.invitation(db, await world.principal(user), case_id, "http://testserver")
    calendar = Calendar.from_ical(raw)
    return calendar, calendar.walk("VEVENT")[0]


async def test_slots_are_where_every_expert_is_rostered_and_nobody_is_booked(world, db, net):
    case, day = await _mdt_live_case(world, db, net)
    slots = await scheduling.free_slots(db, case)
    assert [s.starts_at for s in slots] == [day + 3 * HOUR + i * HALF for i in range(4)]
    assert all(s.ends_at - s.starts_at == HALF for s in slots)

    colleague = await world.user(("doctor", net.township.id))
    other = await accepted_case(world, net, db, requester=colleague)  # the lead's other live case, at 03:30
    await _book(world, db, other, day + 3 * HOUR + HALF, colleague, net.county_doctor)
    starts = [s.starts_at for s in await scheduling.free_slots(db, case)]
    assert starts == [day + 3 * HOUR, day + 4 * HOUR, day + 4 * HOUR + HALF]


async def test_one_side_proposes_the_other_confirms(world, db, net):
    case, day = await _mdt_live_case(world, db, net)
    at = day + 3 * HOUR
    with pytest.raises(InvalidInput):
        await scheduling.propose_slot(db, await world.principal(net.requester), case.id, day + 6 * HOUR)
    await scheduling.propose_slot(db, await world.principal(net.requester), case.id, at)
    assert f"consultation #{case.id}: propose_slot" in await titles(db, net.county_doctor)
    with pytest.raises(Forbidden):  # the proposer's own side cannot confirm
        await scheduling.confirm_slot(db, await world.principal(net.requester), case.id)
    with pytest.raises(Forbidden):  # team members take part but do not schedule
        await scheduling.confirm_slot(db, await world.principal(net.city_doctor), case.id)
    await scheduling.confirm_slot(db, await world.principal(net.county_doctor), case.id)
    await db.refresh(case)
    appointment = await scheduling.appointment_of(db, case.id)
    assert case.state == "scheduled" and (appointment.starts_at, appointment.ends_at) == (at, at + HALF)
    assert appointment.sequence == 0 and appointment.proposed_starts_at is None
    assert f"consultation #{case.id}: schedule" in await titles(db, net.city_doctor)
    assert f"consultation #{case.id}: schedule" in await titles(db, net.requester)


async def test_the_invitation_reads_back_without_the_patient_name(world, db, net):
    case, day = await _mdt_live_case(world, db, net)
    with pytest.raises(NotFound):
        await _ics(db, world, net.requester, case.id)
    await _book(world, db, case, day + 4 * HOUR, net.county_doctor, net.requester)
    calendar, event = await _ics(db, world, net.city_doctor, case.id)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"consultation-{case.id}@carebridge"
    assert event.decoded("DTSTART") == day + 4 * HOUR and event.decoded("DTSTART").utcoffset() == dt.timedelta(0)
    assert event.decoded("DTEND") == day + 4 * HOUR + HALF
    assert int(event["SEQUENCE"]) == 0 and str(event["URL"]) == f"http://testserver/consultations/{case.id}"
    text = (str(event["SUMMARY"]) + str(event["DESCRIPTION"]))
    assert f"#{case.id}" in text and net.patient.name not in text
    with pytest.raises(NotFound):
        await _ics(db, world, net.outsider, case.id)


async def test_rescheduling_needs_a_reason_and_bumps_the_sequence_and_cancel_sends_cancel(world, db, net):
    case, day = await _mdt_live_case(world, db, net)
    await _book(world, db, case, day + 3 * HOUR, net.requester, net.county_doctor)
    expert = await world.principal(net.county_doctor)
    with pytest.raises(InvalidInput):
        await scheduling.propose_slot(db, expert, case.id, day + 4 * HOUR)
    await scheduling.propose_slot(db, expert, case.id, day + 4 * HOUR, "ward round overran")
    await scheduling.confirm_slot(db, await world.principal(net.requester), case.id)
    _, event = await _ics(db, world, net.requester, case.id)
    assert int(event["SEQUENCE"]) == 1 and event.decoded("DTSTART") == day + 4 * HOUR
    last = (await db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))).all()[-1]
    assert last.action == "reschedule" and "ward round overran" in last.note
    # The freed 03:00 slot is offered again; the booked 04:00 is not.
    offered = [s.starts_at for s in await scheduling.free_slots(db, case)]
    assert day + 3 * HOUR in offered and day + 4 * HOUR not in offered

    with pytest.raises(InvalidInput):
        await service.take_action(db, await world.principal(net.requester), case.id, "cancel")
    await service.take_action(db, await world.principal(net.requester), case.id, "cancel", "patient transferred")
    calendar, event = await _ics(db, world, net.county_doctor, case.id)
    assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 2 and str(event["UID"]) == f"consultation-{case.id}@carebridge"


async def test_reminder_is_sent_once_within_the_lead_time(world, db, net):
    case, day = await _mdt_live_case(world, db, net)
    start = day + 3 * HOUR
    await _book(world, db, case, start, net.requester, net.county_doctor)
    assert await scheduling.send_session_reminders(db, start - 20 * dt.timedelta(minutes=1)) == 0
    assert await scheduling.send_session_reminders(db, start - 10 * dt.timedelta(minutes=1)) == 1
    assert await scheduling.send_session_reminders(db, start - 5 * dt.timedelta(minutes=1)) == 0
    for user in (net.requester, net.county_doctor, net.city_doctor):
        assert (await titles(db, user)).count(f"consultation #{case.id}: session_reminder") == 1


async def test_a_store_and_forward_case_has_no_session(world, db, net):
    case = await accepted_case(world, net, db, mode="async")
    with pytest.raises(Conflict):
        await scheduling.propose_slot(db, await world.principal(net.requester), case.id, _tomorrow() + HOUR)
    with pytest.raises(Conflict):
        await scheduling.confirm_slot(db, await world.principal(net.county_doctor), case.id)
