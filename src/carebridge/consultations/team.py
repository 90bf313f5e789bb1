"""The multi-disciplinary team of a case: seats by specialty, filled by invited doctors.

The requester asks for specialties (one seat each); the coordinator or the lead expert fills a seat
with a doctor, adds a seat, or frees one. A member who is not a doctor at the target facility is not
covered by the facility's grant, so they get a grant of their own over the same shared items, which
ends when they leave the team or when the case ends.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.grants import grant_access
from carebridge.access.models import AccessGrant, Purpose
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.consultations import service
from carebridge.consultations.lifecycle import Actor, State
from carebridge.consultations.models import CaseTeamSeat, ConsultationCase
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.notifications.service import notify

TEAM_STATES = frozenset({State.triaged, State.accepted, State.scheduled, State.in_session})
MANAGERS = (Actor.expert, Actor.coordinator)
GRANT_SOURCE = service.CASE_GRANT_SOURCES[1]


async def _managed_case(session: AsyncSession, principal: Principal, case_id: int) -> tuple[ConsultationCase, Actor]:
    case, parts = await service._load(session, principal, case_id)
    part = next((p for p in MANAGERS if p in parts), None)
    if part is None:
        raise Forbidden(N_("only the lead expert or the coordinator manages the team"), code="not_your_move")
    if case.state not in TEAM_STATES:
        raise Conflict(N_("the team can change only between triage and the end of the session"),
                       code="invalid_transition")
    return case, part


async def _active_doctor(session: AsyncSession, user_id: int) -> User:
    user = await session.scalar(select(User).join(RoleAssignment, RoleAssignment.user_id == User.id).where(
        User.id == user_id, User.is_active, RoleAssignment.role == Role.doctor.value).limit(1))
    if user is None:
        raise InvalidInput(N_("invite a doctor of the network"), details={"field": "user_id"})
    return user


async def _doctor_facilities(session: AsyncSession, user_id: int) -> set[int]:
    return set((await session.scalars(select(RoleAssignment.facility_id).where(
        RoleAssignment.user_id == user_id, RoleAssignment.role == Role.doctor.value))).all())


async def _seat(session: AsyncSession, case: ConsultationCase, seat_id: int | None,
                department: str | None) -> CaseTeamSeat:
    if seat_id is None:
        seats = await session.scalar(select(CaseTeamSeat.id).where(CaseTeamSeat.case_id == case.id).limit(1)
                                     .offset(service.TEAM_MAX - 1))
        if seats is not None:
            raise Conflict(N_("a team has at most 4 seats"), code="team_full")
        seat = CaseTeamSeat(case_id=case.id, department_id=await service._department_id(session, department))
        session.add(seat)
        return seat
    seat = await session.get(CaseTeamSeat, seat_id)
    if seat is None or seat.case_id != case.id:
        raise NotFound(N_("no such seat on this team"))
    if seat.member_user_id is not None:
        raise Conflict(N_("this seat is taken; free it first"), code="seat_taken")
    return seat


async def invite_member(session: AsyncSession, principal: Principal, case_id: int, user_id: int,
                        seat_id: int | None = None, department: str | None = None) -> CaseTeamSeat:
    """Fill a seat (or a new one) with a doctor; they are told, and see the shared items."""
    case, part = await _managed_case(session, principal, case_id)
    doctor = await _active_doctor(session, user_id)
    taken = {case.requesting_doctor_id, case.assigned_expert_id} | await service.team_member_ids(session, case.id)
    if user_id in taken:
        raise Conflict(N_("this doctor already takes part in the case"), code="already_member")
    seat = await _seat(session, case, seat_id, department)
    seat.member_user_id, seat.invited_by_user_id, seat.invited_at = user_id, principal.user_id, utcnow()
    await session.flush()
    if case.target_facility_id not in await _doctor_facilities(session, user_id):
        await _grant_member(session, principal, case, user_id)
    await service.record_event(session, principal, case, part, "invite_member", doctor.display_name)
    await notify(session, [user_id], kind="consultation", title=f"consultation #{case.id}: invite_member",
                 body=principal.display_name, link=f"/consultations/{case.id}")
    return seat


async def free_seat(session: AsyncSession, principal: Principal, case_id: int, seat_id: int, note: str) -> None:
    """The member leaves the team (their own grant ends now); the seat stays for someone else."""
    case, part = await _managed_case(session, principal, case_id)
    note = service._check_note(service.Action.reassign, note)  # a reason, like any reassignment
    seat = await session.get(CaseTeamSeat, seat_id)
    if seat is None or seat.case_id != case.id or seat.member_user_id is None:
        raise NotFound(N_("no such member on this team"))
    member = seat.member_user_id
    seat.member_user_id, seat.invited_by_user_id, seat.invited_at = None, None, None
    for grant in await _member_grants(session, case.id, member):
        grant.revoked_at = utcnow()
    await session.flush()
    await service.record_event(session, principal, case, part, "remove_member", note)


async def vacate_all(session: AsyncSession, case_id: int, now: dt.datetime, reason: str) -> None:
    """The case moved to another facility (escalation): its team is formed again there, so every
    seat is freed and every member's own grant ends now."""
    seats = (await session.scalars(select(CaseTeamSeat).where(
        CaseTeamSeat.case_id == case_id, CaseTeamSeat.member_user_id.is_not(None)))).all()
    for seat in seats:
        seat.member_user_id, seat.invited_by_user_id, seat.invited_at = None, None, None
    for grant in await _member_grants(session, case_id):
        grant.revoked_at, grant.revoke_reason = now, reason
    await session.flush()


async def _grant_member(session: AsyncSession, principal: Principal, case: ConsultationCase, user_id: int) -> None:
    await grant_access(session, patient_id=case.patient_id, purpose=Purpose.consultation,
                       expires_at=utcnow() + dt.timedelta(days=service.OPEN_GRANT_DAYS), granted_by=principal,
                       grantee_user_id=user_id, scope_entry_ids=await service._shared_ids(session, case.id),
                       source_type=GRANT_SOURCE, source_id=case.id, facility_id=case.requesting_facility_id)


async def _member_grants(session: AsyncSession, case_id: int, user_id: int | None = None) -> list[AccessGrant]:
    query = select(AccessGrant).where(AccessGrant.source_type == GRANT_SOURCE, AccessGrant.source_id == case_id,
                                      AccessGrant.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(AccessGrant.grantee_user_id == user_id)
    return list((await session.scalars(query)).all())

