"""Referral use cases: refer a patient, move a referral along its lifecycle, read and list.

Access grants follow the patient: referring grants the receiving facility the whole record until
the referral ends plus a grace period, and the patient's arrival registers them at the receiver.
Only staff of the two facilities see a referral at all; anyone else gets the same 404 as a
missing one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.grants import grant_access
from carebridge.access.models import AccessGrant, Purpose
from carebridge.access.service import WRITE, access_patient, record_denial, surviving_patient
from carebridge.audit import service as audit
from carebridge.auth.models import CLINICAL_ROLES, Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.errors import InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.network.models import Facility
from carebridge.notifications.service import notify
from carebridge.records.models import PatientRegistration
from carebridge.records.registration import add_registration
from carebridge.referrals import lifecycle
from carebridge.referrals.lifecycle import NEEDS_REASON, TERMINAL, Action, Actor, State
from carebridge.referrals.models import Referral

UP, DOWN = "up", "down"
UP_REASONS = ("capability_gap", "equipment", "specialist_needed", "patient_preference", "emergency")
DOWN_REASONS = ("rehabilitation", "follow_up")
# While open, the grant runs long; when the referral ends it is cut to the end plus this grace.
OPEN_GRANT = dt.timedelta(days=365)
AFTER_END = dt.timedelta(days=30)
TEXT_MAX, REASON_MIN, REASON_MAX = 2000, 3, 500
STAFF_ROLES = (*CLINICAL_ROLES, Role.facility_admin)


@dataclass(frozen=True)
class ReferralInput:
    patient_id: int
    to_facility_id: int
    reason: str
    summary: str = ""
    plan: str = ""
    follow_up_days: int | None = None


def sides_of(principal: Principal, referral: Referral) -> set[Actor]:
    sides = set()
    if referral.from_facility_id in principal.clinical_facility_ids:
        sides.add(Actor.sender)
    if referral.to_facility_id in principal.facilities_with(*STAFF_ROLES):
        sides.add(Actor.receiver)
    return sides


def _may_see(principal: Principal, referral: Referral) -> bool:
    return bool({referral.from_facility_id, referral.to_facility_id} & principal.facilities_with(*STAFF_ROLES))


async def _receiving_facility(session: AsyncSession, facility_id: int, from_facility_id: int) -> Facility:
    facility = await session.get(Facility, facility_id)
    if facility is None or not facility.active:
        raise InvalidInput(N_("the receiving facility does not exist"), details={"field": "to_facility_id"})
    if facility.id == from_facility_id:
        raise InvalidInput(N_("a referral goes to another facility"), details={"field": "to_facility_id"})
    return facility


def _check_input(data: ReferralInput, direction: str) -> None:
    allowed = UP_REASONS if direction == UP else DOWN_REASONS
    if data.reason not in allowed:
        raise InvalidInput(N_("this reason does not fit a referral in this direction"),
                           details={"field": "reason", "direction": direction, "allowed": list(allowed)})
    if len(data.summary) > TEXT_MAX or len(data.plan) > TEXT_MAX:
        raise InvalidInput(N_("the text is too long (at most 2000 characters)"), details={"field": "plan"})
    if direction == DOWN:
        if len(data.plan.strip()) < REASON_MIN:
            raise InvalidInput(N_("a down-referral needs a plan for the local doctor"), details={"field": "plan"})
        if data.follow_up_days is None or not 1 <= data.follow_up_days <= 365:
            raise InvalidInput(N_("give a follow-up interval between 1 and 365 days"),
                               details={"field": "follow_up_days"})


async def refer_patient(session: AsyncSession, principal: Principal, data: ReferralInput) -> Referral:
    """The sender must be able to write the patient's record (registered at their facility)."""
    access = await access_patient(session, principal, data.patient_id, purpose=Purpose.referral,
                                  action="refer", mode=WRITE, resource_type="Referral")
    from_facility = await session.get(Facility, access.facility_id)
    to_facility = await _receiving_facility(session, data.to_facility_id, from_facility.id)
    direction = UP if to_facility.level > from_facility.level else DOWN
    _check_input(data, direction)
    down = direction == DOWN
    referral = Referral(
        patient_id=access.patient.id, from_facility_id=from_facility.id, to_facility_id=to_facility.id,
        direction=direction, reason=data.reason, summary=data.summary.strip(),
        plan=data.plan.strip() if down else "", follow_up_days=data.follow_up_days if down else None,
        state=State.requested.value, requested_by_id=principal.user_id)
    session.add(referral)
    await session.flush()
    grant = await grant_access(
        session, patient_id=referral.patient_id, purpose=Purpose.referral, expires_at=utcnow() + OPEN_GRANT,
        granted_by=principal, grantee_facility_id=to_facility.id, scope_all=True, source_type="referral",
        source_id=referral.id, facility_id=from_facility.id)
    referral.grant_id = grant.id
    await _record(session, principal, referral, "refer", from_facility.id)
    await notify(session, await _staff_of(session, to_facility.id), kind="referral",
                 title=N_("New referral"), link=f"/referrals/{referral.id}")
    return referral


async def _staff_of(session: AsyncSession, facility_id: int) -> list[int]:
    return list((await session.scalars(select(RoleAssignment.user_id).join(User, User.id == RoleAssignment.user_id)
                                       .where(RoleAssignment.facility_id == facility_id, User.is_active,
                                              RoleAssignment.role.in_([str(r) for r in STAFF_ROLES])))).all())


async def _record(session: AsyncSession, principal: Principal, referral: Referral, action: str,
                  facility_id: int, **detail: object) -> None:
    await audit.append(session, audit.Entry(
        action=f"referral_{action}"[:32], outcome="success", actor=principal.actor(facility_id),
        patient_id=referral.patient_id, resource_type="Referral", resource_id=referral.id,
        purpose=Purpose.referral.value, detail={"state": referral.state, **detail}))


async def get_referral(session: AsyncSession, principal: Principal, referral_id: int, *,
                       for_update: bool = False) -> Referral:
    # Locked when about to move it, so two concurrent moves cannot both start from the same state.
    referral = await session.get(Referral, referral_id, with_for_update=for_update)
    if referral is None or not _may_see(principal, referral):
        record_denial(session, principal, referral.patient_id if referral else None, action="read",
                      resource_type="Referral", resource_id=referral_id, purpose=Purpose.referral.value)
        raise NotFound(N_("referral not found"))
    return referral


async def view_referral(session: AsyncSession, principal: Principal, referral_id: int) -> Referral:
    """Reading a referral shows who the patient is, so the view is written down like any other."""
    referral = await get_referral(session, principal, referral_id)
    here = sorted({referral.from_facility_id, referral.to_facility_id} & principal.facilities_with(*STAFF_ROLES))
    await _record(session, principal, referral, "read", here[0])
    return referral


def _check_reason(action: Action, reason: str) -> str:
    reason = reason.strip()
    if action in NEEDS_REASON and not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InvalidInput(N_("give a reason (3 to 500 characters)"), details={"field": "reason"})
    return reason[:REASON_MAX]


async def act(session: AsyncSession, principal: Principal, referral_id: int, action: str,
              reason: str = "") -> Referral:
    referral = await get_referral(session, principal, referral_id, for_update=True)
    try:
        action = Action(action)
    except ValueError:
        raise NotFound(N_("no such action"), details={"action": action}) from None
    sides = sides_of(principal, referral)
    referral.state = lifecycle.next_state(referral.state, action, sides).value
    referral.state_reason = _check_reason(action, reason)
    referral.updated_at = utcnow()
    if action is Action.arrive:
        await _register_at_receiver(session, principal, referral)
    if State(referral.state) in TERMINAL:
        await _end(session, referral)
    side = Actor.receiver if Actor.receiver in sides and action is not Action.cancel else Actor.sender
    here = referral.to_facility_id if side is Actor.receiver else referral.from_facility_id
    await session.flush()
    await _record(session, principal, referral, action.value, here, reason=referral.state_reason)
    others = await _staff_of(session, referral.to_facility_id) if side is Actor.sender else [referral.requested_by_id]
    await notify(session, [u for u in others if u != principal.user_id], kind="referral",
                 title=N_("Referral updated"), body=referral.state, link=f"/referrals/{referral.id}")
    return referral


async def _end(session: AsyncSession, referral: Referral) -> None:
    referral.ended_at = utcnow()
    grant = await session.get(AccessGrant, referral.grant_id) if referral.grant_id else None
    if grant is not None and grant.revoked_at is None:
        grant.expires_at = referral.ended_at + AFTER_END


async def _register_at_receiver(session: AsyncSession, principal: Principal, referral: Referral) -> None:
    patient = await surviving_patient(session, referral.patient_id)  # merged since the referral was made
    if patient is None:
        raise NotFound(N_("patient not found"))
    known = await session.scalar(select(PatientRegistration.id).where(
        PatientRegistration.patient_id == patient.id, PatientRegistration.facility_id == referral.to_facility_id))
    if known is not None:
        return
    registration = await add_registration(session, patient, referral.to_facility_id, None)
    await audit.append(session, audit.Entry(
        action="register", outcome="success", actor=principal.actor(referral.to_facility_id),
        patient_id=patient.id, resource_type="PatientRegistration", resource_id=registration.id,
        purpose=Purpose.referral.value, detail={"referral_id": referral.id, "mrn": registration.mrn}))


async def list_referrals(session: AsyncSession, principal: Principal, *, box: str = "all",
                         cursor: str | None = None, limit: int = 50) -> Page[Referral]:
    """Incoming, outgoing or both for the caller's facilities, newest first."""
    mine = principal.facilities_with(*STAFF_ROLES)
    clauses = {"incoming": [Referral.to_facility_id.in_(mine)], "outgoing": [Referral.from_facility_id.in_(mine)]}
    if box not in (*clauses, "all"):
        raise InvalidInput(N_("box must be incoming, outgoing or all"), details={"field": "box"})
    where = clauses.get(box) or [or_(*clauses["incoming"], *clauses["outgoing"])]
    query = select(Referral).where(*where)
    after = decode_cursor(cursor)
    if after:
        query = query.where(Referral.id < int(after[0]))
    rows = list((await session.scalars(query.order_by(Referral.id.desc()).limit(check_limit(limit) + 1))).all())
    more = len(rows) > limit
    return Page(rows[:limit], encode_cursor([rows[limit - 1].id]) if more else None)
