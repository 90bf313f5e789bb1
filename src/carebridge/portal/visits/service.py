"""Visit use cases: book one (the follow-up rule, the two counters, registration at the visit's
facility, the charge), read one (the patient or their family through `access_patient`; the visit's
own doctor, who reads the patient through `access_patient` too), and move it along its lifecycle.

Booking registers the patient at the facility that holds the visit when they are not registered
there yet: the doctor must read the record and write the visit's encounter and diagnosis into it,
and writing is for the facilities where a patient is registered (access.service.WRITE_BASES). The
booking form says so; booking is the patient's consent to it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import ACT, READ, PatientAccess, access_patient, record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit import i18n
from carebridge.kit.clock import local_zone, utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.visits import billing, notices
from carebridge.portal.visits.eligibility import require_eligible
from carebridge.portal.visits.lifecycle import HOLDING, Action, Party, State, next_state
from carebridge.portal.visits.models import Visit, VisitDay, VisitSlot
from carebridge.portal.visits.slots import slot_for_booking
from carebridge.records.models import PatientRegistration
from carebridge.records.registration import add_registration

PATIENT_BASES = frozenset({"self", "proxy"})  # the patient, or family acting for them (portal accounts)
COMPLAINT_MAX, REASON_MIN, REASON_MAX = 1000, 3, 500


@dataclass(frozen=True)
class BookingInput:
    patient_id: int
    slot_id: int
    condition_id: int
    complaint: str = ""


@dataclass(frozen=True)
class VisitAccess:
    visit: Visit
    parties: frozenset[Party]
    access: PatientAccess


def local_text(when: dt.datetime) -> str:
    return when.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def _translated(message: str, **params: Any) -> str:
    """A refusal whose words depend on the visit: translated here, because the error handler
    translates only plain messages."""
    return i18n.gettext(message) % params


async def access_for_patient(session: AsyncSession, principal: Principal, patient_id: int, *,
                             action: str, resource_id: int | None = None, mode: str = READ) -> PatientAccess:
    """The patient side: the patient themself or family acting for them; a clinician who can read
    the record acts through the doctor's pages, not the patient's."""
    if not principal.has_role(Role.patient):
        record_denial(session, principal, patient_id, action=action, resource_type="Visit", resource_id=resource_id)
        raise NotFound(N_("visit not found"))
    access = await access_patient(session, principal, patient_id, purpose=Purpose.patient_self, action=action,
                                  resource_type="Visit", resource_id=resource_id, mode=mode)
    if access.basis not in PATIENT_BASES:
        raise NotFound(N_("visit not found"))
    return access


async def access_visit(session: AsyncSession, principal: Principal, visit_id: int, *,
                       action: str = "visit_read") -> VisitAccess:
    """The visit and the caller's part in it. Its doctor, and the patient or family; anyone else
    (another patient, another doctor of the same hospital) gets the same 404 as a missing visit."""
    visit = await session.get(Visit, visit_id)
    if visit is not None and visit.doctor_user_id == principal.user_id:
        access = await access_patient(session, principal, visit.patient_id, purpose=Purpose.treatment,
                                      action=action, resource_type="Visit", resource_id=visit.id)
        return VisitAccess(visit, frozenset({Party.doctor}), access)
    if visit is None:
        record_denial(session, principal, None, action=action, resource_type="Visit", resource_id=visit_id)
        raise NotFound(N_("visit not found"))
    access = await access_for_patient(session, principal, visit.patient_id, action=action, resource_id=visit.id)
    # A read-only family permission sees it but takes no step.
    return VisitAccess(visit, frozenset({Party.patient}) if access.may_act else frozenset(), access)


# ---- booking ---------------------------------------------------------------------------------


async def _take(session: AsyncSession, slot: VisitSlot) -> None:
    """Both counters by conditional UPDATE, day first then slot (the order every writer keeps, so
    two bookings cannot deadlock): of two patients taking the last place, the second's UPDATE
    finds nothing to change and is refused."""
    day = await session.execute(update(VisitDay).where(VisitDay.id == slot.day_id, VisitDay.booked < VisitDay.capacity)
                                .values(booked=VisitDay.booked + 1).execution_options(synchronize_session=False))
    if day.rowcount != 1:
        raise Conflict(N_("the doctor's online visits for this day are fully booked"), code="day_full")
    taken = await session.execute(update(VisitSlot).where(
        VisitSlot.id == slot.id, VisitSlot.taken.is_(False), VisitSlot.withdrawn_at.is_(None))
        .values(taken=True).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise Conflict(N_("someone else has just booked this time; please choose another"), code="slot_taken")


async def release(session: AsyncSession, visit: Visit) -> None:
    slot = await session.get(VisitSlot, visit.slot_id)
    await session.execute(update(VisitDay).where(VisitDay.id == slot.day_id, VisitDay.booked > 0)
                          .values(booked=VisitDay.booked - 1).execution_options(synchronize_session=False))
    await session.execute(update(VisitSlot).where(VisitSlot.id == slot.id).values(taken=False)
                          .execution_options(synchronize_session=False))


async def _check_clash(session: AsyncSession, patient_id: int, slot: VisitSlot) -> None:
    clash = await session.scalar(select(Visit.id).where(
        Visit.patient_id == patient_id, Visit.state.in_([s.value for s in HOLDING]),
        Visit.starts_at < slot.ends_at, Visit.ends_at > slot.starts_at).limit(1))
    if clash is not None:
        raise Conflict(N_("you already have a visit booked at this time"), code="patient_busy",
                       details={"visit_id": clash})


async def _register_here(session: AsyncSession, principal: Principal, visit: Visit, access: PatientAccess) -> bool:
    known = await session.scalar(select(PatientRegistration.id).where(
        PatientRegistration.patient_id == access.patient.id, PatientRegistration.facility_id == visit.facility_id))
    if known is not None:
        return False
    registration = await add_registration(session, access.patient, visit.facility_id, None)
    await audit.append(session, audit.Entry(
        action="register", outcome="success", actor=principal.actor(visit.facility_id), patient_id=access.patient.id,
        resource_type="PatientRegistration", resource_id=registration.id, purpose=Purpose.treatment.value,
        detail={"visit_id": visit.id, "mrn": registration.mrn, "basis": "online_visit_booking"}))
    return True


def _check_slot(slot: VisitSlot, series_withdrawn: bool, now: dt.datetime) -> None:
    if slot.withdrawn_at is not None or series_withdrawn:
        raise Conflict(N_("the doctor has withdrawn this visit time"), code="slot_withdrawn")
    if slot.starts_at <= now:
        raise Conflict(N_("this visit time has already begun"), code="slot_past")


async def book_visit(session: AsyncSession, principal: Principal, data: BookingInput) -> Visit:
    access = await access_for_patient(session, principal, data.patient_id, action="visit_book", mode=ACT)
    condition = await require_eligible(session, access.patient.id, data.condition_id)
    complaint = data.complaint.strip()
    if len(complaint) > COMPLAINT_MAX:
        raise InvalidInput(N_("say what changed in at most 1000 characters"), details={"field": "complaint"})
    slot, series = await slot_for_booking(session, data.slot_id)
    now = utcnow()
    _check_slot(slot, series.withdrawn_at is not None, now)
    await _check_clash(session, access.patient.id, slot)
    await _take(session, slot)
    visit = Visit(
        slot_id=slot.id, patient_id=access.patient.id, doctor_user_id=slot.doctor_user_id,
        facility_id=slot.facility_id, department_id=series.department_id, condition_id=condition.condition_id,
        condition_code=condition.code, condition_display=condition.display[:300], complaint=complaint,
        mode=series.mode, price_fen=series.price_fen, starts_at=slot.starts_at, ends_at=slot.ends_at,
        cancel_until=slot.starts_at - dt.timedelta(hours=series.cancel_cutoff_hours),
        state=(State.awaiting_payment if series.price_fen > 0 else State.booked).value,
        booked_by_id=principal.user_id, created_at=now, updated_at=now)
    session.add(visit)
    await session.flush()
    visit.registered_by_booking = await _register_here(session, principal, visit, access)
    await record(session, principal, visit, "visit_book", condition=condition.code, price_fen=visit.price_fen)
    if visit.price_fen > 0:
        await billing.open_visit_charge(session, principal, visit)  # a charge with nothing to pay confirms at once
    else:
        await notices.booked(session, visit)
    return visit


async def record(session: AsyncSession, principal: Principal | None, visit: Visit, action: str,
                  **detail: object) -> None:
    actor = principal.actor(visit.facility_id) if principal else audit.Actor(name="visit timers")
    await audit.append(session, audit.Entry(
        action=action[:32], outcome="success", actor=actor, patient_id=visit.patient_id, resource_type="Visit",
        resource_id=visit.id, purpose=Purpose.treatment.value, facility_id=visit.facility_id,
        detail={"state": visit.state, **detail}))


# ---- lifecycle moves -------------------------------------------------------------------------


async def move(session: AsyncSession, visit: Visit, action: Action, parties: frozenset[Party] | set[Party],
               **changes: object) -> Visit:
    """One move. The UPDATE applies only to the version read, so of two movers at once (the doctor
    starting while the timers mark a no-show) exactly one wins; the other gets a 409."""
    to = next_state(visit.state, action, parties)
    read_version = visit.version
    done = await session.execute(update(Visit).where(Visit.id == visit.id, Visit.version == read_version).values(
        state=to.value, version=read_version + 1, updated_at=utcnow(), **changes)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(N_("the visit changed meanwhile; reload the page"), code="stale_visit")
    await session.refresh(visit)
    return visit


def _reason(text: str, *, required: bool) -> str:
    text = (text or "").strip()
    if (required and len(text) < REASON_MIN) or len(text) > REASON_MAX:
        raise InvalidInput(N_("give a reason (3 to 500 characters)"), details={"field": "reason"})
    return text


async def cancel_visit(session: AsyncSession, principal: Principal, visit_id: int, reason: str = "") -> Visit:
    """The patient until the cut-off (then refused with the time it closed); the doctor at any time
    before the visit starts, with a reason the patient reads. Either way the time is freed and any
    payment refunded in full."""
    found = await access_visit(session, principal, visit_id, action="visit_cancel")
    visit, now = found.visit, utcnow()
    by_patient = Party.patient in found.parties
    next_state(visit.state, Action.cancel, found.parties)  # an impossible move is refused before the clock rules
    if by_patient and now > visit.cancel_until and visit.state != State.awaiting_payment.value:
        hours = round((visit.starts_at - visit.cancel_until).total_seconds() / 3600)
        raise Conflict(_translated(N_("Cancellation closed at %(until)s, %(hours)s hours before the visit. "
                                      "Contact the hospital if you cannot come."),
                                   until=local_text(visit.cancel_until), hours=hours),
                       code="cancellation_closed", details={"cancel_until": visit.cancel_until.isoformat()})
    text = _reason(reason, required=not by_patient)
    await move(session, visit, Action.cancel, found.parties, state_reason=text, ended_at=now)
    await _after_cancel(session, principal, visit, by_patient=by_patient)
    return visit


async def _after_cancel(session: AsyncSession, principal: Principal | None, visit: Visit, *, by_patient: bool) -> None:
    await release(session, visit)
    await billing.refund_visit(session, principal, visit, reason=visit.state_reason or "visit cancelled")
    await record(session, principal, visit, "visit_cancel", reason=visit.state_reason)
    await notices.cancelled(session, visit, by_patient=by_patient)


async def check_in(session: AsyncSession, principal: Principal, visit_id: int) -> Visit:
    return await enter_waiting_room(session, principal, await access_visit(session, principal, visit_id,
                                                                           action="visit_check_in"))


async def enter_waiting_room(session: AsyncSession, principal: Principal, found: VisitAccess) -> Visit:
    """The patient enters the waiting room (from `visits_checkin_open_minutes` before the start until
    the end); the doctor is told. Entering again is not a second move."""
    visit, now = found.visit, utcnow()
    if visit.state in (State.checked_in.value, State.in_progress.value) and Party.patient in found.parties:
        return visit
    next_state(visit.state, Action.check_in, found.parties)
    opens = visit.starts_at - dt.timedelta(minutes=get_settings().visits_checkin_open_minutes)
    if now < opens:
        raise Conflict(_translated(N_("The waiting room opens at %(time)s."), time=local_text(opens)),
                       code="waiting_room_not_open", details={"opens_at": opens.isoformat()})
    if now > visit.ends_at:
        raise Conflict(N_("the time of this visit has passed"), code="visit_over")
    await move(session, visit, Action.check_in, found.parties, checked_in_at=now)
    await record(session, principal, visit, "visit_check_in")
    await notices.patient_waiting(session, visit)
    return visit


async def start_visit(session: AsyncSession, principal: Principal, visit_id: int) -> Visit:
    return await begin(session, principal, await access_visit(session, principal, visit_id, action="visit_start"))


async def begin(session: AsyncSession, principal: Principal, found: VisitAccess) -> Visit:
    """The doctor starts a visit whose patient is in the waiting room."""
    visit = found.visit
    if visit.state == State.in_progress.value and Party.doctor in found.parties:
        return visit
    if visit.state == State.booked.value and Party.doctor in found.parties:
        raise Conflict(N_("the patient has not entered the waiting room yet"), code="patient_not_waiting")
    await move(session, visit, Action.start, found.parties, started_at=utcnow())
    await record(session, principal, visit, "visit_start")
    return visit


async def mark_no_show(session: AsyncSession, principal: Principal, visit_id: int) -> Visit:
    found = await access_visit(session, principal, visit_id, action="visit_no_show")
    visit, now = found.visit, utcnow()
    next_state(visit.state, Action.no_show, found.parties)
    if now < visit.starts_at:
        raise Conflict(N_("a patient can be marked as not come only after the visit's start time"),
                       code="too_early_for_no_show")
    await move(session, visit, Action.no_show, found.parties, ended_at=now)
    await record(session, principal, visit, "visit_no_show")
    await notices.no_show(session, visit)
    return visit


async def list_for_patient(session: AsyncSession, principal: Principal, patient_id: int) -> tuple[PatientAccess,
                                                                                                  list[Visit]]:
    access = await access_for_patient(session, principal, patient_id, action="visit_list")
    visits = (await session.scalars(select(Visit).where(Visit.patient_id == access.patient.id)
                                    .order_by(Visit.starts_at.desc(), Visit.id.desc()).limit(200))).all()
    return access, list(visits)


async def doctor_day(session: AsyncSession, principal: Principal, start: dt.datetime,
                     end: dt.datetime) -> list[Visit]:
    """The doctor's own visits between two instants. Listing shows patients' names, so the list is
    written down once (patient by patient it is written when a visit is opened)."""
    if not principal.has_role(Role.doctor):
        raise Forbidden(N_("only doctors hold online visits"), code="not_a_doctor")
    visits = list((await session.scalars(select(Visit).where(
        Visit.doctor_user_id == principal.user_id, Visit.starts_at >= start, Visit.starts_at < end)
        .order_by(Visit.starts_at, Visit.id))).all())
    await audit.append(session, audit.Entry(
        action="visit_list", outcome="allowed", actor=principal.actor(), resource_type="Visit",
        purpose=Purpose.treatment.value, detail={"count": len(visits), "from": start.isoformat()}))
    return visits
