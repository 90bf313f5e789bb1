"""Consultation use cases: request, act on the case (lifecycle moves), read it, list mine.

Who plays which part in a case (lifecycle.Actor):
- requester: the doctor who asked (`requesting_doctor_id`);
- coordinator: a facility_admin or doctor at the target facility (the hub's triage desk);
- expert: the assigned expert; while none is assigned, the named expert, or, when nobody was
  named, any doctor at the target facility (so the first doctor to `accept` becomes the expert);
- member: a doctor invited to the case's multi-disciplinary team (team.py).
A doctor at the target facility is therefore both coordinator and expert; the move decides which
part acts. Readers of a case are its participants: the requester, clinicians and admins of the
target facility once the case is submitted, the named or assigned expert and the team members.

Submitting grants the target facility read access to exactly the shared entries, purpose
consultation. The grant is created with a far expiry (`OPEN_GRANT_DAYS`); when the case reaches
an end state (closed, declined, cancelled, expired) it is shortened to end `GRANT_DAYS_AFTER_CLOSE`
days later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.grants import grant_access
from carebridge.access.models import AccessGrant, Purpose
from carebridge.access.service import WRITE, PatientAccess, access_patient, record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.consultations.lifecycle import LIFECYCLE, TERMINAL, Action, Actor, State, actions_for, next_state
from carebridge.consultations.models import (
    CaseEvent,
    CaseSharedItem,
    CaseTeamSeat,
    ConsultationCase,
    Mode,
    Urgency,
)
from carebridge.consultations.schedule_models import ConsultationAppointment
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.network.models import Department, ServiceKind
from carebridge.network.offerings import find_service_providers
from carebridge.notifications.service import notify
from carebridge.records.models import RecordEntry

OPEN_GRANT_DAYS = 3650
GRANT_DAYS_AFTER_CLOSE = 30
REASON_MIN, NOTE_MAX = 3, 2000
NEEDS_REASON = frozenset({Action.decline, Action.return_for_information, Action.cancel, Action.reassign,
                          Action.reschedule})
PART_ORDER = (Actor.requester, Actor.expert, Actor.coordinator)
CASE_GRANT_SOURCES = ("consultation", "consultation_member")
TEAM_MAX = 4  # the video room's mesh carries six: the requester, the lead and four members


@dataclass(frozen=True)
class CaseRequest:
    patient_id: int
    question: str
    clinical_summary: str = ""
    urgency: str = Urgency.routine.value
    mode: str = Mode.async_.value
    specialty: str | None = None  # a department code
    named_expert_id: int | None = None
    target_facility_id: int | None = None
    shared_entry_ids: tuple[int, ...] = ()
    team_specialties: tuple[str, ...] = ()  # a multi-disciplinary team: one seat per department code


@dataclass(frozen=True)
class CaseView:
    case: ConsultationCase
    parts: frozenset[Actor]
    patient: PatientAccess | None
    events: list[CaseEvent]
    shared: list[RecordEntry]
    actions: list[Action]
    team: list[CaseTeamSeat] = field(default_factory=list)


def response_target(urgency: str) -> dt.timedelta:
    s = get_settings()
    minutes = {Urgency.emergency.value: s.consult_emergency_minutes, Urgency.urgent.value: s.consult_urgent_minutes,
               Urgency.routine.value: s.consult_routine_minutes}[urgency]
    return dt.timedelta(minutes=minutes)


def _check_request(data: CaseRequest) -> None:
    if not data.question.strip() or len(data.question) > NOTE_MAX:
        raise InvalidInput(N_("write the question for the specialist (up to 2000 characters)"),
                           details={"field": "question"})
    if data.urgency not in {u.value for u in Urgency}:
        raise InvalidInput(N_("urgency must be emergency, urgent or routine"), details={"field": "urgency"})
    if data.mode not in {m.value for m in Mode}:
        raise InvalidInput(N_("mode must be live or async"), details={"field": "mode"})
    if (not data.specialty and not data.team_specialties and data.named_expert_id is None
            and data.target_facility_id is None):
        raise InvalidInput(N_("name a specialty, an expert or a facility to ask"), details={"field": "specialty"})
    if len(data.team_specialties) > TEAM_MAX or len(set(data.team_specialties)) != len(data.team_specialties):
        raise InvalidInput(N_("a team has at most 4 different specialties"), details={"field": "team_specialties"})


async def _department_id(session: AsyncSession, code: str | None) -> int | None:
    if not code:
        return None
    found = await session.scalar(select(Department.id).where(Department.code == code, Department.active))
    if found is None:
        raise InvalidInput(N_("unknown specialty"), details={"field": "specialty"})
    return found


async def _check_shared(session: AsyncSession, access: PatientAccess, entry_ids: tuple[int, ...]) -> list[int]:
    ids = sorted({int(i) for i in entry_ids})
    if not ids:
        return ids
    entries = (await session.scalars(select(RecordEntry).where(
        RecordEntry.id.in_(ids), RecordEntry.patient_id == access.patient.id))).all()
    visible = {e.id for e in entries if access.allows(e) and e.voided_at is None}
    if missing := [i for i in ids if i not in visible]:
        raise InvalidInput(N_("some record items are not in this patient's record"),
                           details={"field": "shared_entry_ids", "unknown": missing})
    return ids


async def request_consultation(session: AsyncSession, principal: Principal, data: CaseRequest) -> ConsultationCase:
    """A draft case. The requester must be a doctor who may write to the patient's record."""
    _check_request(data)
    if not principal.facilities_with(Role.doctor):
        raise Forbidden(N_("only doctors can request a consultation"))
    access = await access_patient(session, principal, data.patient_id, purpose=Purpose.consultation,
                                  action="consultation_request", mode=WRITE)
    if not principal.has_role(Role.doctor, access.facility_id):
        raise Forbidden(N_("only doctors can request a consultation"))
    shared = await _check_shared(session, access, data.shared_entry_ids)
    if data.named_expert_id is not None and await _doctor_facility(session, data.named_expert_id) is None:
        raise InvalidInput(N_("the named expert is not a doctor in the network"), details={"field": "named_expert_id"})
    seat_departments = [await _department_id(session, code) for code in data.team_specialties]
    case = ConsultationCase(
        patient_id=access.patient.id, requesting_facility_id=access.facility_id,
        requesting_doctor_id=principal.user_id, question=data.question.strip(),
        clinical_summary=data.clinical_summary.strip(), urgency=data.urgency, mode=data.mode,
        specialty_department_id=await _department_id(session, data.specialty) or next(iter(seat_departments), None),
        named_expert_id=data.named_expert_id, target_facility_id=data.target_facility_id,
        state=State.draft.value, version=1)
    session.add(case)
    await session.flush()
    session.add_all(CaseSharedItem(case_id=case.id, entry_id=i) for i in shared)
    session.add_all(CaseTeamSeat(case_id=case.id, department_id=d) for d in seat_departments)
    session.add(CaseEvent(case_id=case.id, actor_user_id=principal.user_id, actor_part=Actor.requester.value,
                          action="request", from_state="", to_state=State.draft.value))
    await _audit(session, principal, case, "request", "", State.draft.value, Actor.requester)
    return case


async def _doctor_facility(session: AsyncSession, user_id: int) -> int | None:
    return await session.scalar(select(RoleAssignment.facility_id).join(User, User.id == RoleAssignment.user_id)
                                .where(RoleAssignment.user_id == user_id, RoleAssignment.role == Role.doctor.value,
                                       User.is_active).order_by(RoleAssignment.facility_id).limit(1))


async def _route(session: AsyncSession, case: ConsultationCase) -> int:
    """Named facility, else the named expert's facility, else the nearest higher tier offering the specialty."""
    if case.target_facility_id is not None:
        return case.target_facility_id
    if case.named_expert_id is not None:
        found = await _doctor_facility(session, case.named_expert_id)
        if found is not None:
            return found
    code = None
    if case.specialty_department_id is not None:
        code = (await session.get(Department, case.specialty_department_id)).code
    matches = await find_service_providers(session, kind=ServiceKind.consultation,
                                           for_facility_id=case.requesting_facility_id, specialty=code, limit=1)
    if not matches:
        raise Conflict(N_("no facility in the network offers this consultation to yours"), code="no_provider")
    return matches[0].facility.id


async def _shared_ids(session: AsyncSession, case_id: int) -> list[int]:
    return list((await session.scalars(select(CaseSharedItem.entry_id).where(CaseSharedItem.case_id == case_id)
                                       .order_by(CaseSharedItem.entry_id))).all())


async def _open_case(session: AsyncSession, principal: Principal, case: ConsultationCase) -> dict:
    """On first submission: route, and share exactly the chosen entries with the target facility."""
    shared = await _shared_ids(session, case.id)
    if not shared:
        raise InvalidInput(N_("share at least one record item with the specialist"),
                           details={"field": "shared_entry_ids"})
    target = await _route(session, case)
    if target == case.requesting_facility_id:
        raise InvalidInput(N_("a consultation must go to another facility"), details={"field": "target_facility_id"})
    if await _case_grant(session, case.id) is None:
        await grant_access(session, patient_id=case.patient_id, purpose=Purpose.consultation,
                           expires_at=utcnow() + dt.timedelta(days=OPEN_GRANT_DAYS), granted_by=principal,
                           grantee_facility_id=target, scope_entry_ids=shared, source_type="consultation",
                           source_id=case.id, facility_id=case.requesting_facility_id)
    return {"target_facility_id": target, "due_at": utcnow() + response_target(case.urgency)}


async def _case_grant(session: AsyncSession, case_id: int) -> AccessGrant | None:
    return await session.scalar(select(AccessGrant).where(
        AccessGrant.source_type == "consultation", AccessGrant.source_id == case_id,
        AccessGrant.revoked_at.is_(None)).order_by(AccessGrant.id).limit(1))


def parts_of(principal: Principal, case: ConsultationCase, member_ids: frozenset[int] = frozenset()
             ) -> frozenset[Actor]:
    parts: set[Actor] = set()
    if principal.user_id in member_ids and case.state != State.draft.value:
        parts.add(Actor.member)
    if principal.user_id == case.requesting_doctor_id:
        parts.add(Actor.requester)
    target = case.target_facility_id if case.state != State.draft.value else None
    if target is not None and target in principal.facilities_with(Role.facility_admin, Role.doctor):
        parts.add(Actor.coordinator)
    if case.assigned_expert_id is not None:
        if principal.user_id == case.assigned_expert_id:
            parts.add(Actor.expert)
    elif case.named_expert_id is not None:
        if principal.user_id == case.named_expert_id and case.state != State.draft.value:
            parts.add(Actor.expert)
    elif target is not None and principal.has_role(Role.doctor, target):
        parts.add(Actor.expert)
    return frozenset(parts)


def _is_reader(principal: Principal, case: ConsultationCase, parts: frozenset[Actor]) -> bool:
    if parts:
        return True
    target = case.target_facility_id if case.state != State.draft.value else None
    return target is not None and target in (principal.clinical_facility_ids
                                             | principal.facilities_with(Role.facility_admin))


async def team_member_ids(session: AsyncSession, case_id: int) -> frozenset[int]:
    return frozenset((await session.scalars(select(CaseTeamSeat.member_user_id).where(
        CaseTeamSeat.case_id == case_id, CaseTeamSeat.member_user_id.is_not(None)))).all())


async def _load(session: AsyncSession, principal: Principal, case_id: int) -> tuple[ConsultationCase, frozenset]:
    case = await session.get(ConsultationCase, case_id)
    parts = parts_of(principal, case, await team_member_ids(session, case_id)) if case else frozenset()
    if case is None or not _is_reader(principal, case, parts):
        record_denial(session, principal, case.patient_id if case else None, action="read",
                      resource_type="ConsultationCase", resource_id=case_id, purpose=Purpose.consultation.value)
        raise NotFound(N_("consultation not found"))
    return case, parts


async def patient_of_case(session: AsyncSession, principal: Principal, case: ConsultationCase,
                          action: str) -> PatientAccess:
    """For work on the patient's data inside a case (the opinion, the chat, the room), after the
    caller's part was checked: the patient through access_patient, so withdrawn consent or an ended
    grant stops it as it stops the record, an administrator without a clinical role is kept out,
    and the access is audited."""
    return await access_patient(session, principal, case.patient_id, purpose=Purpose.consultation,
                                action=action, resource_type="ConsultationCase", resource_id=case.id)


def _acting_part(case: ConsultationCase, action: Action, parts: frozenset[Actor]) -> Actor:
    move = LIFECYCLE.lookup(case.state, action)  # a move not in the table is the 409
    for part in PART_ORDER:
        if part in parts and part in move.by:
            return part
    raise Forbidden(N_("your part in this case does not allow this action"), code="not_your_move",
                    details={"action": action.value})


def _check_mode(case: ConsultationCase, action: Action) -> None:
    if action == Action.schedule and case.mode == Mode.async_.value:
        raise Conflict(N_("a store-and-forward case is answered without a session"), code="invalid_transition")
    if action == Action.sign_opinion and case.state == State.accepted.value and case.mode == Mode.live.value:
        raise Conflict(N_("a live case is signed after its session"), code="invalid_transition")


def _parse_action(action: str) -> Action:
    try:
        return Action(action)
    except ValueError:
        raise NotFound(N_("unknown action")) from None


def _check_note(action: Action, note: str) -> str:
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(N_("the note is too long (at most 2000 characters)"), details={"field": "note"})
    if action in NEEDS_REASON and len(note) < REASON_MIN:
        raise InvalidInput(N_("give a reason for this action"), details={"field": "note"})
    return note


async def _changes(session: AsyncSession, principal: Principal, case: ConsultationCase, action: Action,
                   to: State) -> dict:
    now = utcnow()
    changes: dict = {"state": to.value, "updated_at": now}
    if action == Action.submit:
        changes |= await _open_case(session, principal, case)
    elif action == Action.resubmit:
        changes["due_at"] = now + response_target(case.urgency)
    elif action == Action.accept:
        changes["assigned_expert_id"] = principal.user_id
    elif action == Action.reassign:  # back to the pool of the target facility's doctors
        changes["assigned_expert_id"] = None
    if to in TERMINAL:
        changes["closed_at"] = now
    return changes


async def take_action(session: AsyncSession, principal: Principal, case_id: int, action: str,
                      note: str = "", *, extra: dict | None = None) -> ConsultationCase:
    """One lifecycle move. The UPDATE only applies to the version this caller read, so of two people
    acting at once exactly one wins; the other gets 409 and reloads. `extra`: further columns the
    calling use case sets in the same versioned UPDATE (e.g. the expert a coordinator assigns)."""
    move, note = _parse_action(action), note
    case, parts = await _load(session, principal, case_id)
    part = _acting_part(case, move, parts)
    _check_mode(case, move)
    from carebridge.consultations import opinion  # builds on this module; signing goes through it
    await opinion.check_move(session, case, move)
    note = _check_note(move, note)
    from_state, read_version = case.state, case.version
    to = next_state(from_state, move, part)
    changes = await _changes(session, principal, case, move, to) | (extra or {})
    done = await session.execute(
        update(ConsultationCase).where(ConsultationCase.id == case.id, ConsultationCase.version == read_version)
        .values(version=ConsultationCase.version + 1, **changes).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(N_("someone else changed this case first; reload it and try again"), code="stale_case")
    await session.refresh(case)
    if to in TERMINAL:
        await _end_grant(session, case)
        await _cancel_appointment(session, case, note)
    session.add(CaseEvent(case_id=case.id, actor_user_id=principal.user_id, actor_part=part.value,
                          action=move.value, from_state=from_state, to_state=to.value, note=note))
    await _audit(session, principal, case, move.value, from_state, to.value, part)
    await _notify_other_side(session, principal, case, move, part)
    await opinion.after_move(session, case, move)
    return case


async def _cancel_appointment(session: AsyncSession, case: ConsultationCase, reason: str) -> None:
    """An ended case's booked session is off: the next invitation download is a CANCEL (new SEQUENCE)."""
    await session.execute(update(ConsultationAppointment).where(
        ConsultationAppointment.case_id == case.id, ConsultationAppointment.starts_at.is_not(None),
        ConsultationAppointment.cancelled_at.is_(None)).values(
        cancelled_at=utcnow(), cancel_reason=reason[:NOTE_MAX], sequence=ConsultationAppointment.sequence + 1,
        proposed_starts_at=None, proposed_ends_at=None).execution_options(synchronize_session=False))


async def take_plain_action(session: AsyncSession, principal: Principal, case_id: int, action: str,
                            note: str = "") -> ConsultationCase:
    """The generic action routes: a move that needs no more than a note. Booking a session needs a
    time, so it goes through scheduling (propose, confirm) and is refused here."""
    if action in (Action.schedule.value, Action.reschedule.value):
        raise Conflict(N_("a session is booked by proposing a time and confirming it"), code="use_the_schedule")
    return await take_action(session, principal, case_id, action, note)


async def _end_grant(session: AsyncSession, case: ConsultationCase) -> None:
    """Every grant the case made (the target facility's, team members') ends GRANT_DAYS_AFTER_CLOSE later."""
    ends = (case.closed_at or utcnow()) + dt.timedelta(days=GRANT_DAYS_AFTER_CLOSE)
    grants = (await session.scalars(select(AccessGrant).where(
        AccessGrant.source_type.in_(CASE_GRANT_SOURCES), AccessGrant.source_id == case.id,
        AccessGrant.revoked_at.is_(None)))).all()
    for grant in grants:
        grant.expires_at = min(grant.expires_at, ends)
    await session.flush()


async def record_event(session: AsyncSession, principal: Principal, case: ConsultationCase, part: Actor,
                       action: str, note: str) -> None:
    """A step that is not a lifecycle move (team, scheduling proposals): on the timeline and audited."""
    session.add(CaseEvent(case_id=case.id, actor_user_id=principal.user_id, actor_part=part.value, action=action,
                          from_state=case.state, to_state=case.state, note=note[:NOTE_MAX]))
    await _audit(session, principal, case, action, case.state, case.state, part)


async def _audit(session: AsyncSession, principal: Principal, case: ConsultationCase, action: str,
                 from_state: str, to_state: str, part: Actor) -> None:
    facility = case.requesting_facility_id if part == Actor.requester else case.target_facility_id
    await audit.append(session, audit.Entry(
        action=f"consultation_{action}", outcome="success", actor=principal.actor(facility),
        patient_id=case.patient_id, resource_type="ConsultationCase", resource_id=case.id,
        purpose=Purpose.consultation.value, facility_id=facility,
        detail={"from": from_state, "to": to_state, "part": part.value}))


async def _target_staff(session: AsyncSession, case: ConsultationCase) -> list[int]:
    if case.assigned_expert_id is not None:
        return [case.assigned_expert_id]
    if case.named_expert_id is not None:
        return [case.named_expert_id]
    return list((await session.scalars(select(RoleAssignment.user_id).where(
        RoleAssignment.facility_id == case.target_facility_id,
        RoleAssignment.role.in_([Role.doctor.value, Role.facility_admin.value])))).all())


async def _notify_other_side(session: AsyncSession, principal: Principal, case: ConsultationCase,
                             action: Action, part: Actor) -> None:
    if part == Actor.requester:
        users = await _target_staff(session, case) if case.target_facility_id else []
    else:
        users = [case.requesting_doctor_id]
    users = [u for u in users if u != principal.user_id]
    if users:
        await notify(session, users, kind="consultation", title=f"consultation #{case.id}: {action.value}",
                     body=f"{principal.display_name}: {case.state}", link=f"/consultations/{case.id}")


async def access_case(session: AsyncSession, principal: Principal, case_id: int) -> CaseView:
    """The case for a participant, with the patient data this caller may see (through access_patient).
    An administrator without a clinical role sees the case but no patient data."""
    case, parts = await _load(session, principal, case_id)
    patient = None
    if principal.is_clinician:
        patient = await access_patient(session, principal, case.patient_id, purpose=Purpose.consultation,
                                       action="read", resource_type="ConsultationCase", resource_id=case.id)
    events = list((await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                         .order_by(CaseEvent.at, CaseEvent.id))).all())
    shared: list[RecordEntry] = []
    if patient is not None:
        entries = (await session.scalars(select(RecordEntry).where(
            RecordEntry.id.in_(await _shared_ids(session, case.id))).order_by(RecordEntry.occurred_at))).all()
        shared = [e for e in entries if patient.allows(e)]
    actions = sorted({a for p in parts for a in actions_for(case.state, p)}, key=list(Action).index)
    team = list((await session.scalars(select(CaseTeamSeat).where(CaseTeamSeat.case_id == case.id)
                                       .order_by(CaseTeamSeat.id))).all())
    return CaseView(case, parts, patient, events, shared, actions, team)


async def list_cases(session: AsyncSession, principal: Principal, cursor: str | None = None,
                     limit: int = 50) -> Page[ConsultationCase]:
    """Cases I asked, cases for my facilities (once submitted), cases assigned to me; newest first."""
    check_limit(limit)
    my_seats = select(CaseTeamSeat.case_id).where(CaseTeamSeat.member_user_id == principal.user_id)
    mine = [ConsultationCase.requesting_doctor_id == principal.user_id,
            ConsultationCase.assigned_expert_id == principal.user_id,
            ConsultationCase.id.in_(my_seats) & (ConsultationCase.state != State.draft.value)]
    facilities = principal.clinical_facility_ids | principal.facilities_with(Role.facility_admin)
    if facilities:
        mine.append(ConsultationCase.target_facility_id.in_(facilities)
                    & (ConsultationCase.state != State.draft.value))
    query = select(ConsultationCase).where(or_(*mine))
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(ConsultationCase.id < int(after[0]))
    rows = list((await session.scalars(query.order_by(ConsultationCase.id.desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    return Page(rows[:limit], encode_cursor([rows[limit - 1].id]) if more else None)
