"""The doctor's pages of online visits (laptops): the day's visits, publishing slot series, and the
visit console (the patient summary, the video or text room, the note with the diagnoses, the link
to write the e-prescription)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Facility
from carebridge.portal.visits import labels, notes, room, service, slots, views
from carebridge.portal.visits.lifecycle import ROOM_OPEN, Party, State
from carebridge.records.models import Patient, PatientRegistration
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render, yuan

router = make_router(include_in_schema=False)
Text = Annotated[str, Form(max_length=4000)]


def _base(**context: object) -> dict:
    return {"labels": labels, "yuan": yuan, **context}


def _require_doctor(principal: Principal) -> None:
    if not principal.has_role(Role.doctor):
        raise Forbidden(N_("only doctors hold online visits"), code="not_a_doctor")


@router.get("/visits")
async def day_page(request: Request, db: Db, principal: CurrentPrincipal, day: dt.date | None = None) -> Response:
    _require_doctor(principal)
    day = day or slots.local_day(utcnow())
    start, end = slots.day_bounds(day)
    visits = await service.doctor_day(db, principal, start, end)
    # The doctor's own visits' patients, by name only; the list itself is audited by doctor_day.
    patients = dict((await db.execute(select(Patient.id, Patient.name)
                                      .where(Patient.id.in_({v.patient_id for v in visits})))).all())
    return render(request, "visits/day.html", _base(
        day=day, previous=day - dt.timedelta(days=1), following=day + dt.timedelta(days=1), visits=visits,
        patients=patients, names=await views.names_of_visits(db, visits)))


async def _slots_page(request: Request, db: Db, principal: Principal, *, form: dict | None = None,
                      error: str = "", notice: str = "", status_code: int = 200) -> Response:
    _require_doctor(principal)
    facilities = sorted(principal.facilities_with(Role.doctor))
    names = await views.names_for(db, facilities=set(facilities))
    tomorrow = slots.local_day(utcnow()) + dt.timedelta(days=1)
    defaults = {"facility_id": facilities[0] if facilities else None, "first_day": tomorrow.isoformat(),
                "last_day": (tomorrow + dt.timedelta(days=13)).isoformat(), "weekdays": [1, 2, 3, 4, 5],
                "start": "14:00", "end": "17:00", "visit_minutes": 15, "buffer_minutes": 5, "daily_max": 8,
                "cancel_cutoff_hours": 4, "mode": "video", "price": "20.00"}
    return render(request, "visits/publish.html", _base(
        series=await slots.my_series(db, principal), facilities=[(f, names.facilities.get(f, "")) for f in facilities],
        departments=await views.departments(db), form={**defaults, **(form or {})}, error=error, notice=notice,
        weekday_labels=labels.WEEKDAY_LABELS), status_code=status_code)


@router.get("/visits/slots")
async def slots_page(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    return await _slots_page(request, db, principal)


def _fen(price: str) -> int:
    """"20" or "20.5" or "20.50" yuan to fen, exactly (no float on the way)."""
    whole, _dot, cents = price.strip().partition(".")
    if not whole.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        raise InvalidInput(N_("give the price in yuan, e.g. 20 or 20.50"), details={"field": "price_fen"})
    return int(whole) * 100 + int(cents.ljust(2, "0") or 0)


@router.post("/visits/slots")
async def publish(request: Request, db: Db, principal: CurrentPrincipal, facility_id: Annotated[int, Form()],
                  first_day: Annotated[dt.date, Form()], last_day: Annotated[dt.date, Form()],
                  start: Annotated[str, Form(max_length=5)], end: Annotated[str, Form(max_length=5)],
                  visit_minutes: Annotated[int, Form()], buffer_minutes: Annotated[int, Form()],
                  daily_max: Annotated[int, Form()], cancel_cutoff_hours: Annotated[int, Form()],
                  mode: Annotated[str, Form(max_length=10)], price: Annotated[str, Form(max_length=12)],
                  weekdays: Annotated[list[int] | None, Form()] = None,
                  department_id: Annotated[str, Form(max_length=12)] = "") -> Response:
    form = {"facility_id": facility_id, "first_day": first_day.isoformat(), "last_day": last_day.isoformat(),
            "weekdays": weekdays or [], "start": start, "end": end, "visit_minutes": visit_minutes,
            "buffer_minutes": buffer_minutes, "daily_max": daily_max, "cancel_cutoff_hours": cancel_cutoff_hours,
            "mode": mode, "price": price, "department_id": department_id}
    try:
        data = slots.SeriesInput(
            facility_id=facility_id, first_day=first_day, last_day=last_day, weekdays=tuple(weekdays or ()),
            start=start, end=end, visit_minutes=visit_minutes, buffer_minutes=buffer_minutes, daily_max=daily_max,
            cancel_cutoff_hours=cancel_cutoff_hours, mode=mode, price_fen=_fen(price),
            department_id=int(department_id) if department_id.isdigit() else None)
        _series, count = await slots.publish_series(db, principal, data)
    except (InvalidInput, Forbidden) as problem:
        await db.rollback()
        return await _slots_page(request, db, principal, form=form, error=_(problem.message), status_code=422)
    return await _slots_page(request, db, principal, notice=_("%(count)s visit slots published.") % {"count": count})


@router.post("/visits/slots/{series_id}/withdraw")
async def withdraw(db: Db, principal: CurrentPrincipal, series_id: int) -> Response:
    await slots.withdraw_series(db, principal, series_id)
    return RedirectResponse("/visits/slots", status_code=303)


async def _console(request: Request, db: Db, principal: Principal, visit_id: int, *, error: str = "",
                   form: dict | None = None, status_code: int = 200) -> Response:
    found = await service.access_visit(db, principal, visit_id, action="visit_console")
    if Party.doctor not in found.parties:
        raise NotFound(N_("visit not found"))  # the patient's page is /portal/visits/{id}
    visit = found.visit
    mrn = await db.scalar(select(PatientRegistration.mrn).where(
        PatientRegistration.patient_id == found.access.patient.id,
        PatientRegistration.facility_id == visit.facility_id))
    facility = await db.get(Facility, visit.facility_id)
    return render(request, "visits/console.html", _base(
        visit=visit, patient=found.access.patient, mrn=mrn or "", facility=facility,
        summary=await views.patient_summary(db, found.access), diagnoses=await notes.diagnoses_of(db, visit),
        messages=await room.list_messages(db, principal, visit.id) if visit.state in ROOM_OPEN else [],
        open=visit.state in (State.checked_in.value, State.in_progress.value), strings=views.room_strings(),
        form=form or {"code": visit.condition_code, "display": visit.condition_display}, error=error,
        can_cancel=visit.state in (State.awaiting_payment.value, State.booked.value, State.checked_in.value),
        can_no_show=visit.state == State.booked.value and utcnow() >= visit.starts_at,
        starts=service.local_text(visit.starts_at)), status_code=status_code)


@router.get("/visits/{visit_id}")
async def console(request: Request, db: Db, principal: CurrentPrincipal, visit_id: int) -> Response:
    return await _console(request, db, principal, visit_id)


@router.post("/visits/{visit_id}/complete")
async def complete(request: Request, db: Db, principal: CurrentPrincipal, visit_id: int, note: Text = "",
                   code: Annotated[list[str] | None, Form()] = None,
                   display: Annotated[list[str] | None, Form()] = None,
                   status: Annotated[list[str] | None, Form()] = None) -> Response:
    codes, displays, statuses = code or [], display or [], status or []
    diagnoses = [notes.Diagnosis(c.strip(), (displays[i] if i < len(displays) else "")[:300],
                                 statuses[i] if i < len(statuses) else "active")
                 for i, c in enumerate(codes) if c.strip()]
    try:
        await notes.complete_visit(db, principal, visit_id, note, diagnoses)
    except (InvalidInput, Conflict) as problem:
        await db.rollback()
        form = {"note": note, "code": codes[0] if codes else "", "display": displays[0] if displays else ""}
        return await _console(request, db, principal, visit_id, error=_(problem.message), form=form,
                              status_code=problem.status_code)
    return RedirectResponse(f"/visits/{visit_id}", status_code=303)


@router.post("/visits/{visit_id}/cancel")
async def cancel(request: Request, db: Db, principal: CurrentPrincipal, visit_id: int,
                 reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        await service.cancel_visit(db, principal, visit_id, reason)
    except (InvalidInput, Conflict) as problem:
        await db.rollback()
        return await _console(request, db, principal, visit_id, error=_(problem.message),
                              status_code=problem.status_code)
    return RedirectResponse(f"/visits/{visit_id}", status_code=303)


@router.post("/visits/{visit_id}/no-show")
async def no_show(db: Db, principal: CurrentPrincipal, visit_id: int) -> Response:
    await service.mark_no_show(db, principal, visit_id)
    return RedirectResponse(f"/visits/{visit_id}", status_code=303)
