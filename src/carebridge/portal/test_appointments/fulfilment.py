"""At the facility: the day's bookings, check-in (which places the order), performed, results,
no-show. Only the performing facility's doctors, nurses and technicians act here.

Check-in registers the patient at the facility when they are not yet (so its staff may write the
results into the record) and turns the booking into an order:
- a lab test becomes a `LabOrder`; its results, entered here, become LOINC+UCUM observations in
  the patient's record through `records.entries.add_observation`;
- imaging and ECG become a remote diagnosis order (`diagnostics.service.order_diagnosis`), routed
  to the reading hub that serves this facility; the booking follows that order: performed when
  its study is complete, resulted when the report is signed (`follow_diagnosis`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import surviving_patient
from carebridge.audit import service as audit
from carebridge.auth.models import User
from carebridge.auth.principal import Principal
from carebridge.diagnostics import service as diagnosis
from carebridge.diagnostics.lifecycle import State as OrderState
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.test_appointments import doctor_orders, notices
from carebridge.portal.test_appointments.lifecycle import Action, Party, State
from carebridge.portal.test_appointments.models import Booking, CatalogueTest, DoctorOrder, LabOrder
from carebridge.portal.test_appointments.service import SYSTEM, audit_booking, is_staff, load_booking, move
from carebridge.portal.test_appointments.starter import COMPONENTS
from carebridge.records.entries import add_observation
from carebridge.records.models import Patient, PatientRegistration
from carebridge.records.registration import add_registration
from carebridge.records.schemas import ObservationIn

READ_ORDER_STATES = {OrderState.ready.value, OrderState.preliminary.value, OrderState.reported.value}


@dataclass(frozen=True)
class ResultValue:
    code: str
    value: float | None = None
    value_text: str = ""
    unit: str = ""


async def _staff_booking(session: AsyncSession, principal: Principal, booking_id: int, action: str) -> Booking:
    booking, parties = await load_booking(session, principal, booking_id, action=action)
    if Party.staff not in parties:
        raise Forbidden(N_("only the facility's staff can do this"))
    return booking


# ---- check-in ------------------------------------------------------------------------------------

async def _register_here(session: AsyncSession, principal: Principal, booking: Booking) -> None:
    patient = await surviving_patient(session, booking.patient_id)
    if patient is None:
        raise NotFound(N_("patient not found"))
    known = await session.scalar(select(PatientRegistration.id).where(
        PatientRegistration.patient_id == patient.id, PatientRegistration.facility_id == booking.facility_id))
    if known is not None:
        return
    registration = await add_registration(session, patient, booking.facility_id, None)
    await audit.append(session, audit.Entry(
        action="register", outcome="success", actor=principal.actor(booking.facility_id), patient_id=patient.id,
        resource_type="PatientRegistration", resource_id=registration.id, purpose=Purpose.treatment.value,
        facility_id=booking.facility_id, detail={"test_booking_id": booking.id, "mrn": registration.mrn}))


async def _clinical_question(session: AsyncSession, booking: Booking) -> str:
    order = await session.get(DoctorOrder, booking.request_id) if booking.request_id else None
    if order is None:
        text = _("Self-booked by the patient: %(test)s") % {"test": booking.name}
    else:
        doctor = await session.scalar(select(User.display_name).where(User.id == order.requested_by_id))
        text = _("%(reason)s (ordered by %(doctor)s)") % {"reason": order.reason, "doctor": doctor}
    return f"{text}. {booking.note}" if booking.note else text


async def _order_reading(session: AsyncSession, principal: Principal, booking: Booking,
                         test: CatalogueTest) -> DiagnosisOrder:
    order = await diagnosis.order_diagnosis(session, principal, diagnosis.OrderRequest(
        patient_id=booking.patient_id, modality=test.modality, body_part=test.body_part,
        clinical_question=(await _clinical_question(session, booking))[:2000]))
    if order.requesting_facility_id != booking.facility_id:
        # The caller works at several facilities where the patient is registered: the order must be
        # sent from the facility that performs the test.
        raise Conflict(N_("check the patient in from the facility of the booking"), code="wrong_facility")
    return order


async def check_in(session: AsyncSession, principal: Principal, booking_id: int) -> Booking:
    booking = await _staff_booking(session, principal, booking_id, "test_check_in")
    test = await session.get(CatalogueTest, booking.test_id)
    await move(session, booking, Action.check_in, {Party.staff}, checked_in_at=utcnow(),
               checked_in_by_id=principal.user_id)
    await _register_here(session, principal, booking)
    if test.category == "lab":
        session.add(LabOrder(booking_id=booking.id, patient_id=booking.patient_id, facility_id=booking.facility_id,
                             code=booking.code, display=booking.name, state="ordered", basis=booking.basis,
                             ordering_user_id=await doctor_orders.ordering_doctor(session, booking.request_id),
                             placed_by_id=principal.user_id))
    else:
        booking.diagnosis_order_id = (await _order_reading(session, principal, booking, test)).id
    await session.flush()
    await audit_booking(session, principal.actor(booking.facility_id), booking, "check_in",
                        diagnosis_order_id=booking.diagnosis_order_id)
    return booking


async def mark_performed(session: AsyncSession, principal: Principal, booking_id: int) -> Booking:
    booking = await _staff_booking(session, principal, booking_id, "test_perform")
    await move(session, booking, Action.perform, {Party.staff}, performed_at=utcnow())
    await audit_booking(session, principal.actor(booking.facility_id), booking, "perform")
    return booking


async def mark_no_show(session: AsyncSession, principal: Principal, booking_id: int,
                       now: dt.datetime | None = None) -> Booking:
    booking = await _staff_booking(session, principal, booking_id, "test_no_show")
    if (now or utcnow()) < booking.starts_at:
        raise Conflict(N_("the appointment has not started yet"), code="too_early")
    await move(session, booking, Action.no_show, {Party.staff}, no_show_at=utcnow())
    await doctor_orders.release_order(session, booking.request_id)
    await audit_booking(session, principal.actor(booking.facility_id), booking, "no_show")
    return booking


# ---- lab results ---------------------------------------------------------------------------------

async def lab_order_of(session: AsyncSession, booking_id: int) -> LabOrder | None:
    return await session.scalar(select(LabOrder).where(LabOrder.booking_id == booking_id))


def _observation(code: str, given: ResultValue, taken_at: dt.datetime) -> ObservationIn:
    known = COMPONENTS.get(code)
    unit = known.unit if known else given.unit
    return ObservationIn(code=code, display=known.name_en if known else "", value=given.value,
                         value_text=given.value_text.strip(), unit=unit if given.value is not None else "",
                         ref_low=known.ref_low if known else None, ref_high=known.ref_high if known else None,
                         category="laboratory", occurred_at=taken_at)


def _check_values(wanted: list[str], values: Iterable[ResultValue]) -> dict[str, ResultValue]:
    given = {v.code: v for v in values}
    unknown = sorted(set(given) - set(wanted))
    missing = [c for c in wanted if c not in given]
    if unknown or missing:
        raise InvalidInput(N_("enter exactly the results this test has"),
                           details={"field": "results", "missing": missing, "unknown": unknown})
    return given


async def record_results(session: AsyncSession, principal: Principal, booking_id: int,
                         values: Iterable[ResultValue]) -> LabOrder:
    booking = await _staff_booking(session, principal, booking_id, "test_results")
    order = await lab_order_of(session, booking.id)
    if order is None or order.state != "ordered":
        raise Conflict(N_("this booking has no lab order waiting for results"), code="no_lab_order")
    test = await session.get(CatalogueTest, booking.test_id)
    given = _check_values(test.result_codes or [test.code], values)
    if booking.state == State.checked_in:
        await move(session, booking, Action.perform, {Party.staff}, performed_at=utcnow())
    taken_at = booking.performed_at or utcnow()
    entries = [await add_observation(session, principal, booking.patient_id, _observation(code, given[code], taken_at))
               for code in test.result_codes or [test.code]]
    order.state, order.resulted_at, order.resulted_by_id = "resulted", utcnow(), principal.user_id
    order.observation_ids = [e.id for e in entries]
    await move(session, booking, Action.result, {Party.staff}, resulted_at=utcnow())
    await audit_booking(session, principal.actor(booking.facility_id), booking, "results",
                        observations=order.observation_ids)
    await _tell_resulted(session, booking, extra_users=[order.ordering_user_id])
    return order


async def _tell_resulted(session: AsyncSession, booking: Booking, extra_users: Iterable[int | None] = ()) -> None:
    users = [*await notices.patient_users(session, booking.patient_id), *(u for u in extra_users if u)]
    await notices.tell(session, users, booking, title=N_("Results ready: %(test)s"),
                       body=N_("%(facility)s has entered the results. Open the booking to read them."),
                       link=notices.patient_link(booking))


# ---- following the diagnosis order ---------------------------------------------------------------

async def follow_diagnosis(session: AsyncSession, bookings: Iterable[Booking]) -> None:
    """A booking whose reading order has its study is performed; signed, it is resulted. Moves are
    conditional on the booking's version, so a page and the sweep doing this at once move it once."""
    waiting = [b for b in bookings if b.diagnosis_order_id and b.state in (State.checked_in, State.performed)]
    if not waiting:
        return
    orders = {o.id: o for o in (await session.scalars(select(DiagnosisOrder).where(
        DiagnosisOrder.id.in_([b.diagnosis_order_id for b in waiting])))).all()}
    for booking in waiting:
        order = orders[booking.diagnosis_order_id]
        if order.state not in READ_ORDER_STATES:
            continue
        try:
            if booking.state == State.checked_in:
                await move(session, booking, Action.perform, {Party.system},
                           performed_at=order.study_complete_at or utcnow())
            if order.state == OrderState.reported and order.signed_at is not None:
                await move(session, booking, Action.result, {Party.system}, resulted_at=order.signed_at)
                await audit_booking(session, SYSTEM, booking, "report_signed", diagnosis_order_id=order.id)
                await _tell_resulted(session, booking)
        except Conflict:  # moved by someone else meanwhile: they did it
            await session.refresh(booking)


# ---- the day's list ------------------------------------------------------------------------------

@dataclass(frozen=True)
class DayRow:
    booking: Booking
    patient_name: str


async def day_list(session: AsyncSession, principal: Principal, facility_id: int, start: dt.datetime,
                   end: dt.datetime) -> list[DayRow]:
    """The facility's bookings in [start, end) with the patients' names, for its staff; the listing
    is written to the audit trail once, naming every booking and patient shown."""
    if not is_staff(principal, facility_id):
        raise Forbidden(N_("only the facility's doctors, nurses and technicians see its appointments"))
    rows = (await session.execute(
        select(Booking, Patient.name).join(Patient, Patient.id == Booking.patient_id)
        .where(Booking.facility_id == facility_id, Booking.starts_at >= start, Booking.starts_at < end,
               Booking.state != State.pending_payment)
        .order_by(Booking.starts_at, Booking.id))).all()
    await follow_diagnosis(session, [b for b, _ in rows])
    await audit.append(session, audit.Entry(
        action="test_day_list", outcome="allowed", actor=principal.actor(facility_id), resource_type="TestBooking",
        resource_id=f"{facility_id}:{start.date().isoformat()}", purpose=Purpose.treatment.value,
        facility_id=facility_id, detail={"bookings": [b.id for b, _ in rows],
                                         "patients": sorted({b.patient_id for b, _ in rows})}))
    return [DayRow(b, name) for b, name in rows]
