"""Response-time targets: a case still unanswered (submitted or triaged) after its due_at escalates.

It goes to the nearest facility of a higher tier than its current target that offers the specialty
to the requester; the new target receives the requester's share (the same grant as submission) and
the old target's grant ends now. With no higher tier left, it goes to a doctor on duty now at the
current target (the on-call expert). Either way it gets a new due_at, the miss is written to
`consultation_breaches` and to the timeline, and the new target and the requester are told.

A sweep claims each case with the same versioned UPDATE as a human move, so of two sweeps running
at once (two server processes) exactly one escalates; the other finds the version moved and skips.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.grants import grant_access
from carebridge.access.models import AccessGrant, Purpose
from carebridge.audit import service as audit
from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.consultations import service, team
from carebridge.consultations.lifecycle import Action, Actor, State, next_state
from carebridge.consultations.models import CaseEvent, ConsultationCase
from carebridge.consultations.schedule_models import ConsultationBreach
from carebridge.consultations.suggestions import _on_duty, rank_doctors
from carebridge.errors import Forbidden
from carebridge.kit.i18n import N_, get_locale
from carebridge.kit.pagination import check_limit
from carebridge.network.models import Department, Facility, Practitioner, ServiceKind
from carebridge.network.offerings import find_service_providers
from carebridge.notifications.service import notify

UNANSWERED = (State.submitted.value, State.triaged.value)
log = logging.getLogger(__name__)
BATCH = 100
SYSTEM = audit.Actor(name="system", role="system")


@dataclass(frozen=True)
class Escalation:
    facility: Facility | None = None
    expert_id: int | None = None
    expert_name: str = ""


async def next_tier_up(session: AsyncSession, case: ConsultationCase) -> Facility | None:
    """The nearest facility above the current target's tier offering the specialty to the requester."""
    current = await session.get(Facility, case.target_facility_id)
    code = None
    if case.specialty_department_id is not None:
        code = (await session.get(Department, case.specialty_department_id)).code
    matches = await find_service_providers(session, kind=ServiceKind.consultation,
                                           for_facility_id=case.requesting_facility_id, specialty=code, limit=50)
    higher = [m.facility for m in matches if m.facility.level > current.level]
    return higher[0] if higher else None


async def on_call_expert(session: AsyncSession, case: ConsultationCase, now: dt.datetime) -> tuple[int, str] | None:
    """The best-ranked doctor rostered at the target facility right now, other than whoever has it."""
    ranked = await rank_doctors(session, case, case.specialty_department_id, now=now)
    pids = {p.user_id: p.id for p in (await session.scalars(select(Practitioner).where(
        Practitioner.user_id.in_([s.user_id for s in ranked])))).all()}
    here = await _on_duty(session, list(pids.values()), now, facility_id=case.target_facility_id)
    found = next((s for s in ranked if pids.get(s.user_id) in here), None)
    return (found.user_id, found.display_name) if found else None


async def _decide(session: AsyncSession, case: ConsultationCase, now: dt.datetime) -> Escalation:
    facility = await next_tier_up(session, case)
    if facility is not None:
        return Escalation(facility=facility)
    expert = await on_call_expert(session, case, now)
    return Escalation(expert_id=expert[0], expert_name=expert[1]) if expert else Escalation()


def _changes(case: ConsultationCase, to: Escalation, now: dt.datetime) -> dict:
    changes: dict = {"updated_at": now}
    if to.facility is None and to.expert_id is None:
        return changes  # nowhere to go: only the breach is written (once, keyed by this due_at)
    changes |= {"state": next_state(case.state, Action.escalate, Actor.system).value,
                "due_at": now + service.response_target(case.urgency), "assigned_expert_id": None}
    if to.facility is not None:
        changes |= {"target_facility_id": to.facility.id, "named_expert_id": None}
    else:
        changes["named_expert_id"] = to.expert_id
    return changes


async def _move_grant(session: AsyncSession, case: ConsultationCase, old_target: int, now: dt.datetime) -> None:
    """The requester's share follows the case: the new target gets exactly the shared items, the old one
    loses them now (its doctors no longer answer this case)."""
    grants = (await session.scalars(select(AccessGrant).where(
        AccessGrant.source_type == "consultation", AccessGrant.source_id == case.id,
        AccessGrant.grantee_facility_id == old_target, AccessGrant.revoked_at.is_(None)))).all()
    for grant in grants:
        grant.revoked_at, grant.revoke_reason = now, "consultation escalated to another facility"
        await audit.append(session, audit.Entry(
            action="revoke", outcome="success", actor=SYSTEM, patient_id=grant.patient_id,
            resource_type="AccessGrant", resource_id=grant.id, purpose=grant.purpose,
            detail={"reason": grant.revoke_reason, "source_id": case.id}))
    await team.vacate_all(session, case.id, now, "consultation escalated to another facility")
    await grant_access(session, patient_id=case.patient_id, purpose=Purpose.consultation,
                       expires_at=now + dt.timedelta(days=service.OPEN_GRANT_DAYS),
                       granted_by=case.requesting_doctor_id, grantee_facility_id=case.target_facility_id,
                       scope_entry_ids=await service._shared_ids(session, case.id), source_type="consultation",
                       source_id=case.id, facility_id=case.requesting_facility_id)


async def escalate_case(session: AsyncSession, case: ConsultationCase, now: dt.datetime) -> ConsultationBreach | None:
    """One overdue case: claim it (versioned UPDATE), move it, write the breach. None when another
    sweep or a person changed the case first."""
    from_state, old_target, due, read_version = case.state, case.target_facility_id, case.due_at, case.version
    to = await _decide(session, case, now)
    done = await session.execute(
        update(ConsultationCase).where(ConsultationCase.id == case.id, ConsultationCase.version == read_version)
        .values(version=ConsultationCase.version + 1, **_changes(case, to, now))
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return None
    await session.refresh(case)
    if to.facility is not None:
        await _move_grant(session, case, old_target, now)
    breach = ConsultationBreach(case_id=case.id, urgency=case.urgency, target_facility_id=old_target, due_at=due,
                                detected_at=now, escalated_to_facility_id=to.facility.id if to.facility else None,
                                escalated_to_user_id=to.expert_id)
    session.add(breach)
    escalated = to.facility is not None or to.expert_id is not None
    note = to.facility.name if to.facility else to.expert_name
    session.add(CaseEvent(case_id=case.id, at=now, actor_user_id=None, actor_part=Actor.system.value,
                          action=Action.escalate.value if escalated else "overdue", from_state=from_state,
                          to_state=case.state, note=f"→ {note}" if escalated else ""))
    await session.flush()
    await audit.append(session, audit.Entry(
        action=f"consultation_{'escalate' if escalated else 'overdue'}", outcome="success", actor=SYSTEM,
        patient_id=case.patient_id, resource_type="ConsultationCase", resource_id=case.id,
        purpose=Purpose.consultation.value, facility_id=old_target,
        detail={"from": from_state, "to": case.state, "part": "system", "due_at": due.isoformat(),
                "to_facility_id": breach.escalated_to_facility_id, "to_user_id": to.expert_id}))
    await _tell(session, case, escalated)
    return breach


async def _tell(session: AsyncSession, case: ConsultationCase, escalated: bool) -> None:
    users = set(await service._target_staff(session, case)) if escalated else set()
    users.add(case.requesting_doctor_id)
    what = "escalated" if escalated else "overdue"
    await notify(session, users, kind="consultation", title=f"consultation #{case.id}: {what}",
                 body=case.urgency, link=f"/consultations/{case.id}")


async def sweep_escalations(session: AsyncSession, now: dt.datetime) -> int:
    """One pass: every case past due and unanswered whose miss is not yet written. Returns how many
    breaches this pass wrote."""
    already = exists().where(ConsultationBreach.case_id == ConsultationCase.id,
                             ConsultationBreach.due_at == ConsultationCase.due_at)
    cases = (await session.scalars(select(ConsultationCase).where(
        ConsultationCase.state.in_(UNANSWERED), ConsultationCase.due_at <= now,
        ConsultationCase.target_facility_id.is_not(None), ~already)
        .order_by(ConsultationCase.due_at, ConsultationCase.id).limit(BATCH))).all()
    written = 0
    for case in cases:
        try:
            async with session.begin_nested():  # one bad case must not hold back the others every pass
                if await escalate_case(session, case, now) is not None:
                    written += 1
        except Exception:
            log.exception("escalating consultation %s failed", case.id)
    return written


@dataclass(frozen=True)
class BreachView:
    breach: ConsultationBreach
    case_state: str
    target_name: str
    escalated_to: str


def _visible(principal: Principal):  # noqa: ANN202 - a SQLAlchemy boolean clause
    mine = principal.facilities_with(Role.facility_admin, Role.doctor)
    return or_(ConsultationBreach.target_facility_id.in_(mine), ConsultationBreach.escalated_to_facility_id.in_(mine),
               ConsultationCase.target_facility_id.in_(mine),
               ConsultationCase.requesting_facility_id.in_(principal.facilities_with(Role.facility_admin)))


async def list_breaches(session: AsyncSession, principal: Principal, case_id: int | None = None,
                        limit: int = 100) -> list[BreachView]:
    """Missed targets the caller coordinates: of their facility's cases (as target then or now, or as
    requesting facility for its administrators); platform administrators see the whole network."""
    if not (principal.is_platform_admin or principal.facilities_with(Role.facility_admin, Role.doctor)):
        raise Forbidden(N_("only coordinators and administrators see response-time breaches"))
    query = select(ConsultationBreach, ConsultationCase.state).join(
        ConsultationCase, ConsultationCase.id == ConsultationBreach.case_id)
    if not principal.is_platform_admin:
        query = query.where(_visible(principal))
    if case_id is not None:
        query = query.where(ConsultationBreach.case_id == case_id)
    rows = (await session.execute(query.order_by(ConsultationBreach.id.desc()).limit(check_limit(limit)))).all()
    return await _named(session, [(b, s) for b, s in rows])


async def breaches_of_case(session: AsyncSession, case_id: int) -> list[BreachView]:
    """For the case page, which has already decided the caller may read the case."""
    rows = (await session.execute(select(ConsultationBreach, ConsultationCase.state).join(
        ConsultationCase, ConsultationCase.id == ConsultationBreach.case_id)
        .where(ConsultationBreach.case_id == case_id).order_by(ConsultationBreach.id))).all()
    return await _named(session, [(b, s) for b, s in rows])


async def _named(session: AsyncSession, rows: list[tuple[ConsultationBreach, str]]) -> list[BreachView]:
    facility_ids = {b.target_facility_id for b, _ in rows} | {b.escalated_to_facility_id for b, _ in rows}
    user_ids = {b.escalated_to_user_id for b, _ in rows} - {None}
    english = get_locale() == "en"
    facilities = {f.id: (f.name_en or f.name) if english else f.name for f in (await session.scalars(
        select(Facility).where(Facility.id.in_(facility_ids - {None})))).all()}
    users = {u.id: u.display_name for u in (await session.scalars(select(User).where(User.id.in_(user_ids)))).all()}
    return [BreachView(b, state, facilities.get(b.target_facility_id, ""),
                       facilities.get(b.escalated_to_facility_id) or users.get(b.escalated_to_user_id, ""))
            for b, state in rows]
