"""Expert suggestions: which doctors a coordinator (or the lead expert) could give a case, or a seat
on its team, ranked by what makes a fast, good answer, each with the reasons shown as badges.

The order is the issue's, compared in turn rather than weighted into one score, so every position
can be explained: the wanted specialty first, then on duty now, then fewer open cases, then a
language shared with the patient or the requester.

A case is assigned only to doctors of its target facility (the facility's grant covers them); a
team seat may go to any doctor of the network (team.invite_member grants an outsider their own).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case as case_
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.consultations import service
from carebridge.consultations.lifecycle import TERMINAL, Action, Actor, State, actions_for
from carebridge.consultations.models import CaseTeamSeat, ConsultationCase
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility, PracticeSite, Practitioner, RosterShift
from carebridge.notifications.service import notify

SUGGEST_STATES = frozenset({State.submitted, State.triaged, State.accepted, State.scheduled, State.in_session})
CLOSED_STATES = [s.value for s in TERMINAL] + [State.draft.value]
CANDIDATE_LIMIT = 200


@dataclass(frozen=True)
class Suggestion:
    user_id: int
    display_name: str
    facility_name: str
    specialty_id: int | None
    specialty_match: bool
    on_duty: bool
    open_cases: int
    languages: tuple[str, ...]
    shared_languages: tuple[str, ...]

    def rank(self) -> tuple:
        return (not self.specialty_match, not self.on_duty, self.open_cases, not self.shared_languages,
                self.display_name, self.user_id)


@dataclass(frozen=True)
class Suggestions:
    case: ConsultationCase
    seat: CaseTeamSeat | None
    department_id: int | None
    items: list[Suggestion]
    can_assign: bool


async def _managed(session: AsyncSession, principal: Principal, case_id: int) -> tuple[ConsultationCase, frozenset]:
    case, parts = await service._load(session, principal, case_id)
    if not {Actor.coordinator, Actor.expert} & parts:
        raise Forbidden(N_("only the coordinator or the lead expert sees suggestions"), code="not_your_move")
    if case.state not in SUGGEST_STATES:
        raise Conflict(N_("suggestions are for cases still being answered"), code="invalid_transition")
    return case, parts


async def _seat(session: AsyncSession, case: ConsultationCase, seat_id: int | None) -> CaseTeamSeat | None:
    if seat_id is None:
        return None
    seat = await session.get(CaseTeamSeat, seat_id)
    if seat is None or seat.case_id != case.id:
        raise NotFound(N_("no such seat on this team"))
    return seat


async def _candidates(session: AsyncSession, case: ConsultationCase, department_id: int | None,
                      network_wide: bool) -> list[tuple[User, Practitioner | None]]:
    at_target = select(RoleAssignment.user_id).where(RoleAssignment.facility_id == case.target_facility_id,
                                                     RoleAssignment.role == Role.doctor.value)
    who = User.id.in_(at_target)
    if network_wide and department_id is not None:
        doctors = select(RoleAssignment.user_id).where(RoleAssignment.role == Role.doctor.value)
        who = or_(who, (Practitioner.specialty_id == department_id) & User.id.in_(doctors))
    # Specialty is the first ranking key, so the cap keeps the specialists rather than the lowest ids.
    specialists_first = case_((Practitioner.specialty_id == department_id, 0), else_=1)
    rows = await session.execute(select(User, Practitioner).outerjoin(Practitioner, Practitioner.user_id == User.id)
                                 .where(User.is_active, who).order_by(specialists_first, User.id)
                                 .limit(CANDIDATE_LIMIT))
    return [(user, practitioner) for user, practitioner in rows]


async def _taken(session: AsyncSession, case: ConsultationCase) -> set[int]:
    taken = {case.requesting_doctor_id, case.assigned_expert_id, case.named_expert_id}
    return {u for u in taken if u is not None} | set(await service.team_member_ids(session, case.id))


async def open_workload(session: AsyncSession, user_ids: list[int]) -> dict[int, int]:
    """Cases each doctor is answering now: as the assigned expert or as a team member."""
    counts: dict[int, int] = dict.fromkeys(user_ids, 0)
    if not user_ids:
        return counts
    live = ConsultationCase.state.not_in(CLOSED_STATES)
    for user_id, n in await session.execute(
            select(ConsultationCase.assigned_expert_id, func.count()).where(
                ConsultationCase.assigned_expert_id.in_(user_ids), live).group_by(ConsultationCase.assigned_expert_id)):
        counts[user_id] += n
    for user_id, n in await session.execute(
            select(CaseTeamSeat.member_user_id, func.count(func.distinct(CaseTeamSeat.case_id)))
            .join(ConsultationCase, ConsultationCase.id == CaseTeamSeat.case_id)
            .where(CaseTeamSeat.member_user_id.in_(user_ids), live).group_by(CaseTeamSeat.member_user_id)):
        counts[user_id] += n
    return counts


async def _on_duty(session: AsyncSession, practitioner_ids: list[int], now: dt.datetime,
                   facility_id: int | None = None) -> set[int]:
    if not practitioner_ids:
        return set()
    query = select(RosterShift.practitioner_id).where(RosterShift.practitioner_id.in_(practitioner_ids),
                                                      RosterShift.starts_at <= now, RosterShift.ends_at > now)
    if facility_id is not None:
        query = query.where(RosterShift.facility_id == facility_id)
    return set((await session.scalars(query)).all())


async def _wanted_languages(session: AsyncSession, case: ConsultationCase) -> set[str]:
    """The patient's own language where they have an account, and the requesting doctor's."""
    wanted: set[str] = set()
    patient_locale = await session.scalar(select(User.locale).where(User.patient_id == case.patient_id).limit(1))
    requester = await session.scalar(select(Practitioner.languages).where(
        Practitioner.user_id == case.requesting_doctor_id))
    if patient_locale:
        wanted.add(patient_locale.split("_")[0].split("-")[0].lower())
    wanted |= {tag.lower() for tag in requester or []}
    return wanted


async def _site_matches(session: AsyncSession, practitioner_ids: list[int], facility_id: int | None,
                        department_id: int | None) -> set[int]:
    if not practitioner_ids or department_id is None or facility_id is None:
        return set()
    return set((await session.scalars(select(PracticeSite.practitioner_id).where(
        PracticeSite.practitioner_id.in_(practitioner_ids), PracticeSite.facility_id == facility_id,
        PracticeSite.department_id == department_id))).all())


async def _home_facilities(session: AsyncSession, user_ids: list[int], prefer: int | None) -> dict[int, str]:
    names: dict[int, str] = {}
    rows = await session.execute(select(RoleAssignment.user_id, RoleAssignment.facility_id, Facility.name)
                                 .join(Facility, Facility.id == RoleAssignment.facility_id)
                                 .where(RoleAssignment.user_id.in_(user_ids), RoleAssignment.role == Role.doctor.value)
                                 .order_by(RoleAssignment.facility_id))
    for user_id, facility_id, name in rows:
        if user_id not in names or facility_id == prefer:
            names[user_id] = name
    return names


async def rank_doctors(session: AsyncSession, case: ConsultationCase, department_id: int | None, *,
                       network_wide: bool = False, now: dt.datetime | None = None) -> list[Suggestion]:
    """Every doctor who could take the case (or seat), best first; people already in the case left out."""
    now = now or utcnow()
    taken = await _taken(session, case)
    rows = [(u, p) for u, p in await _candidates(session, case, department_id, network_wide) if u.id not in taken]
    pids = [p.id for _u, p in rows if p is not None]
    on_duty = await _on_duty(session, pids, now)
    sited = await _site_matches(session, pids, case.target_facility_id, department_id)
    workload = await open_workload(session, [u.id for u, _p in rows])
    wanted = await _wanted_languages(session, case)
    homes = await _home_facilities(session, [u.id for u, _p in rows], case.target_facility_id)
    items = []
    for user, practitioner in rows:
        languages = tuple(practitioner.languages or []) if practitioner else ()
        match = department_id is not None and practitioner is not None and (
            practitioner.specialty_id == department_id or practitioner.id in sited)
        items.append(Suggestion(
            user.id, user.display_name, homes.get(user.id, ""), practitioner.specialty_id if practitioner else None,
            match, practitioner is not None and practitioner.id in on_duty, workload[user.id], languages,
            tuple(sorted(t for t in languages if t.lower() in wanted))))
    return sorted(items, key=Suggestion.rank)


async def suggest_experts(session: AsyncSession, principal: Principal, case_id: int,
                          seat_id: int | None = None) -> Suggestions:
    """For the case's specialty (to assign the case), or for one team seat's specialty (to invite)."""
    case, parts = await _managed(session, principal, case_id)
    seat = await _seat(session, case, seat_id)
    department_id = seat.department_id if seat is not None else case.specialty_department_id
    items = await rank_doctors(session, case, department_id, network_wide=seat is not None)
    can_assign = seat is None and Actor.coordinator in parts and Action.reassign in actions_for(
        case.state, Actor.coordinator)
    return Suggestions(case, seat, department_id, items, can_assign)


async def assign_expert(session: AsyncSession, principal: Principal, case_id: int, user_id: int,
                        note: str = "") -> ConsultationCase:
    """The hub coordinator gives the case to a named doctor of the hub: the `reassign` move with that
    doctor as the case's named expert, so only they may accept it; they are told."""
    case, _parts = await service._load(session, principal, case_id)
    doctor = await session.scalar(select(User).join(RoleAssignment, RoleAssignment.user_id == User.id).where(
        User.id == user_id, User.is_active, RoleAssignment.role == Role.doctor.value,
        RoleAssignment.facility_id == case.target_facility_id).limit(1))
    if doctor is None:
        raise InvalidInput(N_("assign the case to a doctor of the facility answering it"), details={"field": "user_id"})
    if user_id in {case.named_expert_id, case.assigned_expert_id, case.requesting_doctor_id}:
        raise Conflict(N_("this doctor already has this case"), code="already_assigned")
    reason = f"→ {doctor.display_name}" + (f": {note.strip()}" if note.strip() else "")
    case = await service.take_action(session, principal, case_id, Action.reassign.value, reason[:service.NOTE_MAX],
                                     extra={"named_expert_id": user_id})
    await notify(session, [user_id], kind="consultation", title=f"consultation #{case.id}: assigned",
                 body=principal.display_name, link=f"/consultations/{case.id}")
    return case
