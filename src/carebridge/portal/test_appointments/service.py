"""Booking a test: choose a facility's test and a block, take a place, price it, pay, cancel.

Who acts (lifecycle.Party):
- the patient, or family acting for them: whoever `access_patient` lets in on the "self" or
  "proxy" basis for the booking's patient. Clinicians do not book for patients here: a doctor who
  wants a test the patient may not book alone writes a doctor's order (doctor_orders.py);
- the staff of the performing facility (doctor, nurse, technician): check-in, results, no-show
  and cancelling for the facility (fulfilment.py).
Anyone else gets the same 404 as for a missing booking, and the refusal is audited.

Who orders a self-booked test: see doctor_orders.py and docs/architecture.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import ConsentStatus, Purpose
from carebridge.access.service import (
    ACT,
    READ,
    PatientAccess,
    access_patient,
    current_consent,
    record_consent,
    record_denial,
)
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.diagnostics.service import RELEVANT_KINDS
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.portal.test_appointments import catalogue, charging, doctor_orders, notices, slots
from carebridge.portal.test_appointments.lifecycle import UPCOMING, Action, Party, State, next_state
from carebridge.portal.test_appointments.models import Booking, CatalogueTest
from carebridge.portal.test_appointments.pricing import price_test

ACTING_FOR_PATIENT = frozenset({"self", "proxy"})
STAFF_ROLES = (Role.doctor, Role.nurse, Role.technician)
NOTE_MAX = 500
# Every way out of the place-holding states (lifecycle.HOLDS_PLACE) gives the place back.
RELEASES_PLACE = frozenset({Action.cancel, Action.no_show})
REMOTE_READING_NOTE = "agreed when booking a test that a partner hospital reads"


@dataclass(frozen=True)
class BookingInput:
    patient_id: int
    test_id: int
    starts_at: dt.datetime
    doctor_order_id: int | None = None
    note: str = ""
    consent_remote_reading: bool = False


def is_staff(principal: Principal, facility_id: int) -> bool:
    return facility_id in principal.facilities_with(*STAFF_ROLES)


async def access_as_patient(session: AsyncSession, principal: Principal, patient_id: int,
                            action: str, mode: str = READ) -> PatientAccess:
    """The patient, or family acting for them; clinicians reading the record are not the patient."""
    access = await access_patient(session, principal, patient_id, purpose=Purpose.patient_self, action=action,
                                  resource_type="TestBooking", mode=mode)
    if access.basis not in ACTING_FOR_PATIENT:
        raise Forbidden(N_("tests are booked by the patient or their family"))
    return access


async def audit_booking(session: AsyncSession, actor: audit.Actor, booking: Booking, action: str,
                        outcome: str = "success", **detail: object) -> None:
    await audit.append(session, audit.Entry(
        action=f"test_{action}"[:32], outcome=outcome, actor=actor, patient_id=booking.patient_id,
        resource_type="TestBooking", resource_id=booking.id, purpose=Purpose.treatment.value,
        facility_id=actor.facility_id, detail={"state": booking.state, **detail}))


SYSTEM = audit.Actor(name="carebridge")


def pay_by(booking: Booking) -> dt.datetime:
    """An unpaid booking holds its place this long (tasks.release_unpaid)."""
    return booking.created_at + dt.timedelta(minutes=get_settings().test_appointments_payment_hold_minutes)


def cancel_until(booking: Booking) -> dt.datetime:
    return booking.starts_at - dt.timedelta(hours=get_settings().test_appointments_cancel_cutoff_hours)


async def move(session: AsyncSession, booking: Booking, action: Action, parties: frozenset[Party] | set[Party],
               **changes: object) -> Booking:
    """One lifecycle move under the booking's version: of two people acting at once exactly one wins."""
    to = next_state(booking.state, action, parties)
    done = await session.execute(
        update(Booking).where(Booking.id == booking.id, Booking.version == booking.version)
        .values(state=to.value, version=Booking.version + 1, updated_at=utcnow(), **changes)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(N_("someone else changed this booking first; reload it and try again"), code="stale_booking")
    await session.refresh(booking)
    if action in RELEASES_PLACE:
        await slots.give_back(session, booking.test_id, booking.starts_at)
    return booking


# ---- booking -------------------------------------------------------------------------------------

async def bookable_test(session: AsyncSession, test_id: int) -> tuple[CatalogueTest, Facility]:
    test = await session.get(CatalogueTest, test_id)
    facility = await session.get(Facility, test.facility_id) if test else None
    if test is None or not test.active or facility is None or not facility.active:
        raise NotFound(N_("test not found"))
    return test, facility


async def _basis(session: AsyncSession, test: CatalogueTest, patient_id: int,
                 doctor_order_id: int | None) -> tuple[str, int | None]:
    if doctor_order_id is not None:
        order = await doctor_orders.use_order(session, doctor_order_id, patient_id=patient_id, code=test.code)
        return "doctor_order", order.id
    if not catalogue.may_self_book(test):
        raise Conflict(N_("this test needs a doctor's order; ask your doctor, then book it from the order"),
                       code="doctor_order_needed")
    return "self_booked", None


async def _check_remote_reading_consent(session: AsyncSession, principal: Principal, patient_id: int,
                                        agreed: bool) -> None:
    """Imaging and ECG are read at a partner hospital: the study and the relevant record leave the
    facility, which diagnostics allows only under the patient's consent to sharing."""
    consent = await current_consent(session, patient_id)
    if consent is not None and consent.status == ConsentStatus.granted:
        return
    if not agreed:
        raise Conflict(N_("a specialist at a partner hospital reads this test: agree to share your images and "
                          "the relevant part of your record with them to book it"), code="consent_needed")
    await record_consent(session, principal, patient_id, status=ConsentStatus.granted.value, scope_all=False,
                         scope_kinds=RELEVANT_KINDS, note=REMOTE_READING_NOTE)


async def _no_twin(session: AsyncSession, patient_id: int, code: str) -> None:
    twin = await session.scalar(select(Booking.id).where(
        Booking.patient_id == patient_id, Booking.code == code, Booking.state.in_([s.value for s in UPCOMING])))
    if twin is not None:
        raise Conflict(N_("you already have this test booked; cancel that booking to choose another time"),
                       code="already_booked", details={"booking_id": twin})


async def book_test(session: AsyncSession, principal: Principal, data: BookingInput,
                    now: dt.datetime | None = None) -> Booking:
    if len(data.note) > NOTE_MAX:
        raise InvalidInput(N_("the note is too long (at most 500 characters)"), details={"field": "note"})
    access = await access_as_patient(session, principal, data.patient_id, "test_book", mode=ACT)
    patient_id = access.patient.id
    test, facility = await bookable_test(session, data.test_id)
    block = await slots.block_at(session, test, data.starts_at, now)
    await _no_twin(session, patient_id, test.code)
    basis, order_id = await _basis(session, test, patient_id, data.doctor_order_id)
    if not catalogue.is_lab(test):
        await _check_remote_reading_consent(session, principal, patient_id, data.consent_remote_reading)
    await slots.take_place(session, test.id, block)
    price = await price_test(session, facility=facility, patient_id=patient_id, test=test)
    booking = Booking(
        patient_id=patient_id, facility_id=facility.id, test_id=test.id, code=test.code, name=test.name,
        name_en=test.name_en, category=test.category, prep=test.prep, prep_en=test.prep_en,
        starts_at=block.starts_at, ends_at=block.ends_at, state=State.pending_payment.value, version=1,
        basis=basis, request_id=order_id, note=data.note.strip(), list_price_fen=price.list_fen,
        discount_fen=price.discount_fen, insurance_fen=price.insurance_fen, self_pay_fen=price.self_pay_fen,
        pricing_rules=list(price.rules), booked_by_id=principal.user_id)
    session.add(booking)
    await session.flush()
    await audit_booking(session, principal.actor(), booking, "book", basis=basis, self_pay_fen=price.self_pay_fen)
    charge = await charging.open_booking_charge(session, principal, booking, test)
    booking.charge_id = charge.id
    await session.flush()
    return booking


async def confirm_booking(session: AsyncSession, booking: Booking) -> Booking:
    """The payment went through (or there was nothing to pay): the place is the patient's."""
    await move(session, booking, Action.pay, {Party.system}, confirmed_at=utcnow())
    await audit_booking(session, SYSTEM, booking, "confirm")
    await notices.tell(session, await notices.patient_users(session, booking.patient_id), booking,
                       title=N_("Test booked: %(test)s"),
                       body=N_("%(facility)s, %(time)s. Preparation: %(prep)s"), link=notices.patient_link(booking))
    return booking


# ---- reading -------------------------------------------------------------------------------------

async def load_booking(session: AsyncSession, principal: Principal, booking_id: int, *,
                       action: str = "test_read") -> tuple[Booking, frozenset[Party]]:
    """The booking for the staff of its facility, or for the patient and their family; the read is
    audited. Anyone else, and a missing booking, get the same 404 (the refusal audited)."""
    booking = await session.get(Booking, booking_id)
    if booking is not None and is_staff(principal, booking.facility_id):
        await audit_booking(session, principal.actor(booking.facility_id), booking, action.removeprefix("test_"))
        return booking, frozenset({Party.staff})
    if booking is not None and principal.has_role(Role.patient):
        try:
            access = await access_as_patient(session, principal, booking.patient_id, action)
            # A read-only family permission sees it but takes no step.
            return booking, frozenset({Party.patient}) if access.may_act else frozenset()
        except (NotFound, Forbidden):
            pass
    record_denial(session, principal, booking.patient_id if booking else None, action=action,
                  resource_type="TestBooking", resource_id=booking_id, purpose=Purpose.treatment.value)
    raise NotFound(N_("booking not found"))


async def patient_bookings(session: AsyncSession, principal: Principal, patient_id: int) -> list[Booking]:
    access = await access_as_patient(session, principal, patient_id, "test_list")
    return list((await session.scalars(select(Booking).where(Booking.patient_id == access.patient.id)
                                       .order_by(Booking.starts_at.desc(), Booking.id.desc()).limit(200))).all())


def may_cancel_online(booking: Booking, now: dt.datetime | None = None) -> bool:
    if booking.state == State.pending_payment:
        return True
    return booking.state == State.booked and (now or utcnow()) <= cancel_until(booking)


def patient_actions(booking: Booking, now: dt.datetime | None = None) -> list[str]:
    return ["cancel"] if may_cancel_online(booking, now) else []


# ---- cancelling ----------------------------------------------------------------------------------

async def cancel_booking(session: AsyncSession, principal: Principal, booking_id: int, reason: str = "",
                         now: dt.datetime | None = None) -> Booking:
    booking, parties = await load_booking(session, principal, booking_id, action="test_cancel")
    reason = reason.strip()[:NOTE_MAX]
    if Party.staff in parties:
        if len(reason) < 3:
            raise InvalidInput(N_("tell the patient why (3 to 500 characters)"), details={"field": "reason"})
        actor = principal.actor(booking.facility_id)
    else:
        if booking.state == State.booked and not may_cancel_online(booking, now):
            raise Conflict(N_("it is too late to cancel online; please call the facility"), code="past_cutoff",
                           details={"cancel_until": cancel_until(booking).isoformat()})
        actor = principal.actor()
    await move(session, booking, Action.cancel, parties, cancelled_at=utcnow(), cancelled_by_id=principal.user_id,
               cancel_reason=reason)
    await doctor_orders.release_order(session, booking.request_id)
    # Online cancelling is allowed only before the cut-off, and the facility's own cancelling is never
    # the patient's loss: either way the money goes back (an unpaid charge is cancelled).
    await charging.give_back(session, principal, booking,
                             reason if len(reason) >= 2 else "cancelled before the cut-off")
    await audit_booking(session, actor, booking, "cancel", reason=reason)
    if Party.staff in parties:
        await notices.tell(session, await notices.patient_users(session, booking.patient_id), booking,
                           title=N_("Test cancelled by the facility: %(test)s"),
                           body=N_("%(facility)s cancelled your booking for %(time)s: %(reason)s"),
                           link=notices.patient_link(booking), extra={"reason": reason})
    return booking
