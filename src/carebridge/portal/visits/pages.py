"""The patient's pages of online follow-up visits (phones first): my visits, find a doctor, the
doctor's free times, the booking form that names the condition, one visit (pay, cancel, enter the
waiting room, read the note) and the waiting room with the visit itself. They call the same
services as the JSON API. `?patient=` chooses whom a family member acts for (default: oneself)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit import i18n
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.labels import TITLE_LABELS
from carebridge.payments import labels as payment_labels
from carebridge.portal.visits import billing, eligibility, labels, notes, service, slots, views
from carebridge.portal.visits import mine as _mine  # noqa: F401 - registers the patient's "my orders" source
from carebridge.portal.visits import paid as _paid  # noqa: F401 - confirms a booking when its charge is paid
from carebridge.portal.visits import prices as _prices  # noqa: F401 - puts visits on the public price list
from carebridge.portal.visits.lifecycle import ROOM_OPEN, State
from carebridge.portal.visits.room import list_messages
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render, yuan

router = make_router(include_in_schema=False)
PatientId = Annotated[int | None, Query(alias="patient")]


def _base(**context: object) -> dict:
    return {"labels": labels, "title_labels": TITLE_LABELS, "yuan": yuan, **context}


def _patient_id(principal: Principal, chosen: int | None) -> int:
    if chosen is not None:
        return chosen
    if principal.patient_id is None:
        raise NotFound(N_("visit not found"))
    return principal.patient_id


@router.get("/portal/visits")
async def my_visits(request: Request, db: Db, principal: CurrentPrincipal, patient: PatientId = None) -> Response:
    access, visits = await service.list_for_patient(db, principal, _patient_id(principal, patient))
    return render(request, "visits/mine.html", _base(
        patient=access.patient, visits=visits, names=await views.names_of_visits(db, visits)))


@router.get("/portal/visits/doctors")
async def find_doctors(request: Request, db: Db, principal: CurrentPrincipal, patient: PatientId = None,
                       department: int | None = None, q: Annotated[str, Query(max_length=50)] = "") -> Response:
    access = await service.access_for_patient(db, principal, _patient_id(principal, patient), action="visit_search")
    found = await slots.find_doctors(db, department_id=department, name=q)
    return render(request, "visits/doctors.html", _base(
        patient=access.patient, doctors=found, departments=await views.departments(db), department=department, q=q))


@router.get("/portal/visits/doctors/{doctor_user_id}")
async def doctor_slots(request: Request, db: Db, principal: CurrentPrincipal, doctor_user_id: int,
                       patient: PatientId = None, facility: int | None = None) -> Response:
    access = await service.access_for_patient(db, principal, _patient_id(principal, patient), action="visit_search")
    found = await slots.open_slots(db, doctor_user_id, facility_id=facility)
    names = await views.names_for(db, doctors={doctor_user_id}, facilities={s.facility_id for s in found})
    if doctor_user_id not in names.doctors:
        raise NotFound(N_("doctor not found"))
    return render(request, "visits/slots.html", _base(
        patient=access.patient, doctor_user_id=doctor_user_id, days=views.by_local_day(found), names=names))


async def _booking_form(request: Request, db: Db, principal: Principal, patient_id: int, slot_id: int, *,
                        form: dict | None = None, error: str = "", status_code: int = 200) -> Response:
    access = await service.access_for_patient(db, principal, patient_id, action="visit_book_form")
    slot, series = await slots.slot_for_booking(db, slot_id)
    conditions = await eligibility.conditions_to_follow_up(db, access)
    names = await views.names_for(db, doctors={slot.doctor_user_id}, facilities={slot.facility_id},
                                  departments={series.department_id})
    quoted = await billing.price_for(db, facility_id=slot.facility_id, patient_id=access.patient.id,
                                     price_fen=series.price_fen) if series.price_fen else None
    return render(request, "visits/book.html", _base(
        patient=access.patient, slot=slot, series=series, conditions=conditions, names=names, quoted=quoted,
        rule_labels=payment_labels.RULE,
        rule=eligibility.RULE, form=form or {}, error=error,
        bookable=slot.withdrawn_at is None and not slot.taken and slot.starts_at > utcnow()), status_code=status_code)


@router.get("/portal/visits/book")
async def booking_form(request: Request, db: Db, principal: CurrentPrincipal, slot: int,
                       patient: PatientId = None) -> Response:
    return await _booking_form(request, db, principal, _patient_id(principal, patient), slot)


@router.post("/portal/visits/book")
async def book(request: Request, db: Db, principal: CurrentPrincipal, patient_id: Annotated[int, Form()],
               slot_id: Annotated[int, Form()], condition_id: Annotated[int | None, Form()] = None,
               complaint: Annotated[str, Form(max_length=1000)] = "") -> Response:
    data = {"condition_id": condition_id, "complaint": complaint}
    if condition_id is None:
        return await _booking_form(request, db, principal, patient_id, slot_id, form=data, status_code=422,
                                   error=_("Choose the condition this visit follows up."))
    try:
        visit = await service.book_visit(db, principal, service.BookingInput(patient_id, slot_id, condition_id,
                                                                             complaint))
    except (InvalidInput, Conflict) as problem:
        await db.rollback()  # nothing of the refused booking is kept; the form is shown again
        return await _booking_form(request, db, principal, patient_id, slot_id, form=data, error=_(problem.message),
                                   status_code=problem.status_code)
    return RedirectResponse(f"/portal/visits/{visit.id}", status_code=303)


async def _visit_page(request: Request, db: Db, principal: Principal, visit_id: int, *, error: str = "",
                      status_code: int = 200) -> Response:
    found = await service.access_visit(db, principal, visit_id)
    visit = found.visit
    if service.Party.patient not in found.parties:
        raise NotFound(N_("visit not found"))  # the doctor uses the console
    now = utcnow()
    return render(request, "visits/visit.html", _base(
        visit=visit, names=await views.names_of_visits(db, [visit]), error=error,
        charge=await billing.charge_of(db, visit),
        can_cancel=visit.state in (State.awaiting_payment.value, State.booked.value),
        cancel_closed=now > visit.cancel_until and visit.state == State.booked.value,
        can_enter=visit.state in (State.booked.value, *ROOM_OPEN), diagnoses=await notes.diagnoses_of(db, visit),
        cancel_until=service.local_text(visit.cancel_until)), status_code=status_code)


@router.get("/portal/visits/{visit_id}")
async def visit_page(request: Request, db: Db, principal: CurrentPrincipal, visit_id: int) -> Response:
    return await _visit_page(request, db, principal, visit_id)


@router.post("/portal/visits/{visit_id}/cancel")
async def cancel(request: Request, db: Db, principal: CurrentPrincipal, visit_id: int,
                 reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        await service.cancel_visit(db, principal, visit_id, reason)
    except Conflict as problem:
        await db.rollback()
        return await _visit_page(request, db, principal, visit_id, error=_(problem.message), status_code=409)
    return RedirectResponse(f"/portal/visits/{visit_id}", status_code=303)


@router.get("/portal/visits/{visit_id}/room")
async def waiting_room(request: Request, db: Db, principal: CurrentPrincipal, visit_id: int) -> Response:
    """Opening the page changes nothing: the script asks for the room token (which is the check-in)
    when the patient presses Enter after the device check."""
    found = await service.access_visit(db, principal, visit_id, action="visit_room_page")
    visit = found.visit
    if service.Party.patient not in found.parties:
        raise NotFound(N_("visit not found"))
    messages = await list_messages(db, principal, visit.id) if visit.state in ROOM_OPEN else []
    return render(request, "visits/room_patient.html", _base(
        visit=visit, names=await views.names_of_visits(db, [visit]), messages=messages,
        open=visit.state in (State.booked.value, *ROOM_OPEN), strings=views.room_strings(),
        locale_en=i18n.get_locale() == "en"))
