"""The case's video room: who may enter (the case participants, while the session is scheduled or
running), the short-lived token the signalling socket checks, and the attendance record the
server writes when a socket joins or leaves the room.

Entering while the case is `scheduled` as the requester or the expert is the `start_session`
move: the session starts when one of its two principals arrives, not when someone presses a
separate button."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carebridge.access.models import Purpose
from carebridge.access.service import record_denial
from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.config import Settings
from carebridge.consultations.lifecycle import Action, Actor, State
from carebridge.consultations.models import CaseEvent, ConsultationCase
from carebridge.consultations.room_models import SessionAttendance
from carebridge.consultations.service import _load, patient_of_case, take_action
from carebridge.db import unit_of_work
from carebridge.errors import Conflict, Forbidden
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.realtime.hub import Member
from carebridge.realtime.tokens import room_token_for

ROOM_PREFIX = "consultation-"
OPEN_STATES = frozenset({State.scheduled.value, State.in_session.value})
STARTERS = frozenset({Actor.requester, Actor.expert})


def room_id_of(case_id: int) -> str:
    return f"{ROOM_PREFIX}{case_id}"


def case_id_of(room_id: str) -> int:
    return int(room_id.removeprefix(ROOM_PREFIX))


def room_is_open(case: ConsultationCase) -> bool:
    return case.state in OPEN_STATES


@dataclass(frozen=True)
class RoomPass:
    case: ConsultationCase
    room_id: str
    token: str
    expires_in: int
    session_started_at: dt.datetime | None


async def access_room_case(session: AsyncSession, principal: Principal, case_id: int,
                           action: str = "room") -> tuple[ConsultationCase, frozenset[Actor]]:
    """The case, for one of its participants who may see the patient's data. Readers who play no
    part in it (a nurse at the target hospital) see the case page but not its room or chat."""
    case, parts = await _load(session, principal, case_id)
    if not parts:
        record_denial(session, principal, case.patient_id, action=action, resource_type="ConsultationCase",
                      resource_id=case.id, purpose=Purpose.consultation.value)
        raise Forbidden(N_("only the participants of this consultation can use its room and chat"),
                        code="not_a_participant")
    # The chat and the room are about the patient: the same consent and grants as the record.
    await patient_of_case(session, principal, case, "read")
    return case, parts


async def join_room(session: AsyncSession, principal: Principal, case_id: int, settings: Settings) -> RoomPass:
    """A token for the case's room. Every call is audited: each one is an entry (or re-entry
    after a dropped connection) into a conversation about a patient."""
    case, parts = await access_room_case(session, principal, case_id, action="consultation_room_join")
    if not room_is_open(case):
        raise Conflict(N_("the video room is open only while the consultation is scheduled or in session"),
                       code="room_not_open", details={"state": case.state})
    if case.state == State.scheduled.value and parts & STARTERS:
        await _start_session(session, principal, case)
    facility = case.requesting_facility_id if Actor.requester in parts else case.target_facility_id
    await audit.append(session, audit.Entry(
        action="consultation_room_join", outcome="success", actor=principal.actor(facility),
        patient_id=case.patient_id, resource_type="ConsultationCase", resource_id=case.id,
        purpose=Purpose.consultation.value, facility_id=facility,
        detail={"room": room_id_of(case.id), "parts": sorted(p.value for p in parts), "state": case.state}))
    token = room_token_for(settings, room_id=room_id_of(case.id), user_id=principal.user_id,
                           display_name=principal.display_name)
    return RoomPass(case, room_id_of(case.id), token, settings.realtime_room_token_seconds,
                    await session_started_at(session, case.id))


async def _start_session(session: AsyncSession, principal: Principal, case: ConsultationCase) -> None:
    try:
        await take_action(session, principal, case.id, Action.start_session.value)
    except Conflict:
        # The other side arrived at the same moment and started it: that is what we wanted.
        await session.refresh(case)
        if case.state != State.in_session.value:
            raise


async def session_started_at(session: AsyncSession, case_id: int) -> dt.datetime | None:
    """When the (latest) session began: the last start_session move on the timeline."""
    return await session.scalar(select(CaseEvent.at).where(
        CaseEvent.case_id == case_id, CaseEvent.action == Action.start_session.value)
        .order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(1))


# ---- attendance, written by the server as sockets come and go ----------------------------------

async def record_arrival(session: AsyncSession, case_id: int, member: Member) -> None:
    session.add(SessionAttendance(case_id=case_id, user_id=member.user_id, display_name=member.display_name[:200],
                                  connection_id=member.id, joined_at=utcnow()))
    await session.flush()


async def record_departure(session: AsyncSession, member: Member) -> None:
    await session.execute(update(SessionAttendance).where(
        SessionAttendance.connection_id == member.id, SessionAttendance.left_at.is_(None))
        .values(left_at=utcnow()).execution_options(synchronize_session=False))


class AttendanceWatcher:
    """Each arrival and departure is its own small transaction: the socket lives for an hour, a
    transaction must not."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def joined(self, room_id: str, member: Member) -> None:
        async with unit_of_work(self.sessionmaker) as session:
            await record_arrival(session, case_id_of(room_id), member)

    async def left(self, room_id: str, member: Member) -> None:
        async with unit_of_work(self.sessionmaker) as session:
            await record_departure(session, member)


def attendance_watcher(app_state: Any) -> AttendanceWatcher:
    return AttendanceWatcher(app_state.sessionmaker)


@dataclass(frozen=True)
class Attendance:
    rows: list[SessionAttendance]
    started_at: dt.datetime | None  # the first arrival
    ended_at: dt.datetime | None  # the last departure; None while someone is still in the room
    seconds: int  # from the first arrival to the last departure (or now)

    @property
    def in_room(self) -> list[SessionAttendance]:
        return [r for r in self.rows if r.left_at is None]


def duration_text(seconds: int) -> str:
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def stayed_seconds(row: SessionAttendance, now: dt.datetime | None = None) -> int:
    return int(((row.left_at or now or utcnow()) - row.joined_at).total_seconds())


async def attendance_of(session: AsyncSession, case_id: int) -> Attendance:
    rows = list((await session.scalars(select(SessionAttendance).where(SessionAttendance.case_id == case_id)
                                       .order_by(SessionAttendance.joined_at, SessionAttendance.id))).all())
    if not rows:
        return Attendance(rows, None, None, 0)
    started = rows[0].joined_at
    open_now = any(r.left_at is None for r in rows)
    ended = None if open_now else max(r.left_at for r in rows if r.left_at is not None)
    return Attendance(rows, started, ended, int(((ended or utcnow()) - started).total_seconds()))
