"""Scheduling a live case's session: free slots from the experts' duty rosters, a proposal from one
side confirmed by the other (the `schedule` move; `reschedule`, with a reason, once a time was
agreed), the .ics invitation, and one reminder before the start.

Sides, not people: the requester on one side; the expert and the hub's coordinator on the other.
Team members take part but neither propose nor confirm. A slot is free when every expert (the
lead and the filled team seats) is rostered for all of it and none of them, nor the requester, has
another session booked then.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.consultations import service
from carebridge.consultations.lifecycle import Action, Actor, State
from carebridge.consultations.models import CaseTeamSeat, ConsultationCase, Mode
from carebridge.consultations.schedule_models import ConsultationAppointment
from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Practitioner, RosterShift
from carebridge.notifications.service import notify

SCHEDULE_STATES = frozenset({State.accepted.value, State.scheduled.value, State.in_session.value})
BOOKED_STATES = (State.scheduled.value, State.in_session.value)
REQUESTER_SIDE, EXPERT_SIDE = "requester", "expert"
GRID_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

Window = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True)
class ScheduleView:
    case: ConsultationCase
    appointment: ConsultationAppointment | None
    side: str | None
    slots: list[Slot] = field(default_factory=list)
    can_propose: bool = False
    can_confirm: bool = False
    needs_reason: bool = False


def side_of(parts: frozenset[Actor]) -> str | None:
    if Actor.requester in parts:
        return REQUESTER_SIDE
    if {Actor.expert, Actor.coordinator} & parts:
        return EXPERT_SIDE
    return None


def is_booked(appointment: ConsultationAppointment | None) -> bool:
    return appointment is not None and appointment.starts_at is not None and appointment.cancelled_at is None


async def appointment_of(session: AsyncSession, case_id: int) -> ConsultationAppointment | None:
    return await session.scalar(select(ConsultationAppointment).where(ConsultationAppointment.case_id == case_id))


async def expert_ids(session: AsyncSession, case: ConsultationCase) -> list[int]:
    lead = case.assigned_expert_id or case.named_expert_id
    members = sorted(await service.team_member_ids(session, case.id))
    return [u for u in [lead, *members] if u is not None]


async def participant_ids(session: AsyncSession, case: ConsultationCase) -> set[int]:
    return {case.requesting_doctor_id, *await expert_ids(session, case)}


def _ceil(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    return GRID_EPOCH + step * math.ceil((moment - GRID_EPOCH) / step)


def _merge(windows: list[Window]) -> list[Window]:
    merged: list[Window] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _intersect(a: list[Window], b: list[Window]) -> list[Window]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


async def _rostered(session: AsyncSession, user_id: int, start: dt.datetime, end: dt.datetime) -> list[Window]:
    rows = await session.execute(select(RosterShift.starts_at, RosterShift.ends_at)
                                 .join(Practitioner, Practitioner.id == RosterShift.practitioner_id)
                                 .where(Practitioner.user_id == user_id, RosterShift.starts_at < end,
                                        RosterShift.ends_at > start))
    return _merge([(max(s, start), min(e, end)) for s, e in rows])


async def _busy(session: AsyncSession, user_ids: list[int], start: dt.datetime, end: dt.datetime) -> list[Window]:
    """Booked sessions of these people, this case's own included (moving it to the same time is no move)."""
    seats = select(CaseTeamSeat.case_id).where(CaseTeamSeat.member_user_id.in_(user_ids))
    rows = await session.execute(
        select(ConsultationAppointment.starts_at, ConsultationAppointment.ends_at)
        .join(ConsultationCase, ConsultationCase.id == ConsultationAppointment.case_id)
        .where(ConsultationCase.state.in_(BOOKED_STATES), ConsultationAppointment.cancelled_at.is_(None),
               ConsultationAppointment.starts_at < end, ConsultationAppointment.ends_at > start,
               or_(ConsultationCase.assigned_expert_id.in_(user_ids),
                   ConsultationCase.requesting_doctor_id.in_(user_ids), ConsultationCase.id.in_(seats))))
    return [(s, e) for s, e in rows]


async def free_slots(session: AsyncSession, case: ConsultationCase, now: dt.datetime | None = None) -> list[Slot]:
    """Slots on a fixed grid (slot length from settings) over the next days, when all experts are rostered
    and nobody taking part has another session."""
    settings = get_settings()
    step = dt.timedelta(minutes=settings.consult_slot_minutes)
    now = now or utcnow()
    start, end = _ceil(now, step), now + dt.timedelta(days=settings.consult_slot_days)
    experts = await expert_ids(session, case)
    if not experts:
        return []
    windows: list[Window] | None = None
    for user_id in experts:
        mine = await _rostered(session, user_id, start, end)
        windows = mine if windows is None else _intersect(windows, mine)
    busy = await _busy(session, [*experts, case.requesting_doctor_id], start, end)
    slots = []
    for window_start, window_end in windows or []:
        moment = _ceil(window_start, step)
        while moment + step <= window_end:
            if not any(b_start < moment + step and b_end > moment for b_start, b_end in busy):
                slots.append(Slot(moment, moment + step))
            moment += step
    return slots


def _check_live(case: ConsultationCase) -> None:
    if case.mode != Mode.live.value:
        raise Conflict(N_("a store-and-forward case is answered without a session"), code="invalid_transition")
    if case.state not in SCHEDULE_STATES:
        raise Conflict(N_("a session is scheduled once an expert has accepted the case"), code="invalid_transition")


async def schedule_view(session: AsyncSession, principal: Principal, case_id: int) -> ScheduleView:
    case, parts = await service._load(session, principal, case_id)
    appointment = await appointment_of(session, case.id)
    side = side_of(parts)
    if case.mode != Mode.live.value:
        return ScheduleView(case, appointment, side)
    can_propose = side is not None and case.state in SCHEDULE_STATES
    pending = appointment is not None and appointment.proposed_starts_at is not None
    return ScheduleView(case, appointment, side, await free_slots(session, case) if can_propose else [],
                        can_propose, can_propose and pending and appointment.proposed_side != side,
                        is_booked(appointment))


REMINDER_BATCH = 200  # per pass; the next pass takes the rest


def _stamp(moment: dt.datetime) -> str:
    """The time as people on the timeline read it: in the network's zone, named, not bare UTC."""
    zone = get_settings().display_timezone
    return moment.astimezone(ZoneInfo(zone)).strftime(f"%Y-%m-%d %H:%M {zone}")


async def propose_slot(session: AsyncSession, principal: Principal, case_id: int, starts_at: dt.datetime,
                       note: str = "") -> ConsultationAppointment:
    """One side proposes a free slot; a later proposal (from either side) replaces a pending one."""
    case, parts = await service._load(session, principal, case_id)
    side = side_of(parts)
    if side is None:
        raise Forbidden(N_("only the requester, the expert or the coordinator schedules the session"),
                        code="not_your_move")
    _check_live(case)
    if starts_at.tzinfo is None:
        raise InvalidInput(N_("the time must include a time zone"), details={"field": "starts_at"})
    appointment = await appointment_of(session, case.id)
    note = note.strip()
    if len(note) > service.NOTE_MAX or (is_booked(appointment) and len(note) < service.REASON_MIN):
        raise InvalidInput(N_("give a reason for moving the session"), details={"field": "note"})
    slot = next((s for s in await free_slots(session, case) if s.starts_at == starts_at.astimezone(dt.UTC)), None)
    if slot is None:
        raise InvalidInput(N_("this time is not free for every expert; choose one of the offered slots"),
                           details={"field": "starts_at"})
    if appointment is None:
        appointment = ConsultationAppointment(case_id=case.id, sequence=0)
        session.add(appointment)
    appointment.proposed_starts_at, appointment.proposed_ends_at = slot.starts_at, slot.ends_at
    appointment.proposed_by_user_id, appointment.proposed_side = principal.user_id, side
    appointment.proposal_note, appointment.updated_at = note, utcnow()
    await session.flush()
    part = Actor.requester if side == REQUESTER_SIDE else next(p for p in (Actor.expert, Actor.coordinator)
                                                                if p in parts)
    summary = " · ".join(filter(None, [_stamp(slot.starts_at), note]))
    await service.record_event(session, principal, case, part, "propose_slot", summary)
    others = [case.requesting_doctor_id] if side == EXPERT_SIDE else await service._target_staff(session, case)
    await notify(session, [u for u in others if u != principal.user_id], kind="consultation",
                 title=f"consultation #{case.id}: propose_slot", body=_stamp(slot.starts_at),
                 link=f"/consultations/{case.id}")
    return appointment


async def confirm_slot(session: AsyncSession, principal: Principal, case_id: int) -> ConsultationCase:
    """The other side confirms the proposed slot: the case moves (schedule / reschedule) and everyone
    taking part is told, with the invitation's address."""
    case, parts = await service._load(session, principal, case_id)
    appointment = await appointment_of(session, case.id)
    if appointment is None or appointment.proposed_starts_at is None:
        raise Conflict(N_("no time has been proposed yet"), code="nothing_proposed")
    side = side_of(parts)
    if side is None or side == appointment.proposed_side:
        raise Forbidden(N_("the other side confirms the proposed time"), code="not_your_move")
    _check_live(case)
    experts = await expert_ids(session, case)
    # Lock the experts (PostgreSQL) so two cases cannot book the same expert's slot at once.
    await session.execute(select(Practitioner.id).where(Practitioner.user_id.in_(experts)).with_for_update())
    if appointment.proposed_starts_at not in {s.starts_at for s in await free_slots(session, case)}:
        raise Conflict(N_("this time is no longer free; propose another one"), code="slot_taken")
    move = Action.schedule if case.state == State.accepted.value else Action.reschedule
    note = " · ".join(filter(None, [_stamp(appointment.proposed_starts_at), appointment.proposal_note]))
    await service.take_action(session, principal, case.id, move.value, note)
    if appointment.starts_at is not None:  # the calendar entry changes: a new SEQUENCE replaces it
        appointment.sequence += 1
    appointment.starts_at, appointment.ends_at = appointment.proposed_starts_at, appointment.proposed_ends_at
    appointment.proposed_starts_at = appointment.proposed_ends_at = appointment.proposed_by_user_id = None
    appointment.proposed_side, appointment.proposal_note = "", ""
    appointment.cancelled_at, appointment.cancel_reason, appointment.reminder_sent_at = None, "", None
    appointment.updated_at = utcnow()
    await session.flush()
    others = (await participant_ids(session, case)) - {principal.user_id}
    await notify(session, others, kind="consultation", title=f"consultation #{case.id}: {move.value}",
                 body=f"{_stamp(appointment.starts_at)} · /consultations/{case.id}/invitation.ics",
                 link=f"/consultations/{case.id}")
    return case



async def send_session_reminders(session: AsyncSession, now: dt.datetime) -> int:
    """One pass: every booked session starting within the reminder lead time, reminded once. The
    conditional UPDATE claims the reminder, so two sweeps at once send it once."""
    lead = dt.timedelta(minutes=get_settings().consult_reminder_minutes)
    due = (await session.execute(
        select(ConsultationAppointment, ConsultationCase)
        .join(ConsultationCase, ConsultationCase.id == ConsultationAppointment.case_id)
        .where(ConsultationCase.state == State.scheduled.value, ConsultationAppointment.cancelled_at.is_(None),
               ConsultationAppointment.reminder_sent_at.is_(None), ConsultationAppointment.starts_at > now,
               ConsultationAppointment.starts_at <= now + lead)
        .order_by(ConsultationAppointment.starts_at).limit(REMINDER_BATCH))).all()
    sent = 0
    for appointment, case in due:
        claimed = await session.execute(
            update(ConsultationAppointment).where(ConsultationAppointment.id == appointment.id,
                                                  ConsultationAppointment.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        await notify(session, await participant_ids(session, case), kind="consultation",
                     title=f"consultation #{case.id}: session_reminder", body=_stamp(appointment.starts_at),
                     link=f"/consultations/{case.id}")
        sent += 1
    return sent
