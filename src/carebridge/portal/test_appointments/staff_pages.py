"""The facility's pages (laptops at the desk): its test catalogue and hours (administrators; anyone
signed in may look), and the day's appointments with check-in, done, no-show, cancel and the lab
results form (its doctors, nurses and technicians)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.errors import CareBridgeError, Conflict, InvalidInput, NotFound
from carebridge.kit import i18n
from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.service import can_manage_facility, get_facility
from carebridge.portal.test_appointments import catalogue, fulfilment, labels, service, slots, views
from carebridge.portal.test_appointments.schemas import CatalogueTestIn, CatalogueTestUpdate, HoursIn
from carebridge.portal.test_appointments.starter import COMPONENTS
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
HOUR_ROWS = 4
Text = Annotated[str, Form(max_length=1000)]
Short = Annotated[str, Form(max_length=100)]


def _context(**values: object) -> dict:
    return {"labels": labels, "english": i18n.get_locale() == "en", "categories": list(catalogue.CATEGORIES),
            **values}


async def _catalogue_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int, *,
                          error: str | None = None, form: dict | None = None, status_code: int = 200) -> Response:
    facility = await get_facility(db, facility_id)
    admin = can_manage_facility(principal, facility.id)
    tests = await catalogue.list_tests(db, facility.id, include_inactive=admin)
    return render(request, "test_appointments/catalogue.html", _context(
        facility=facility, tests=tests, hours=await catalogue.hours_of(db, [t.id for t in tests]), admin=admin,
        staff=service.is_staff(principal, facility.id), error=error, form=form or {},
        hours_text=catalogue.hours_text), status_code=status_code)


@router.get("/facilities/{facility_id}/tests")
async def catalogue_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int) -> Response:
    return await _catalogue_page(request, db, principal, facility_id)


@router.post("/facilities/{facility_id}/tests/starter")
async def load_starter(db: Db, principal: CurrentPrincipal, facility_id: int) -> Response:
    await catalogue.load_starter(db, principal, await get_facility(db, facility_id))
    return RedirectResponse(f"/facilities/{facility_id}/tests", status_code=303)


@router.post("/facilities/{facility_id}/tests/new")
async def create_test(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int,
                      code: Annotated[str, Form(max_length=32)], name: Short,
                      category: Annotated[str, Form(max_length=20)],
                      list_price: Annotated[str, Form(max_length=12)], name_en: Short = "",
                      modality: Annotated[str, Form(max_length=8)] = "", result_codes: Short = "", prep: Text = "",
                      prep_en: Text = "", duration_minutes: Annotated[int, Form(ge=1, le=480)] = 15,
                      insured: Annotated[str, Form(max_length=5)] = "",
                      self_bookable: Annotated[str, Form(max_length=5)] = "") -> Response:
    form = {"code": code, "name": name, "name_en": name_en, "category": category, "list_price": list_price,
            "modality": modality, "result_codes": result_codes, "prep": prep, "prep_en": prep_en}
    try:
        data = CatalogueTestIn(code=code, name=name, name_en=name_en, category=category, modality=modality,
                               result_codes=[c for c in result_codes.replace(",", " ").split() if c],
                               prep=prep, prep_en=prep_en, duration_minutes=duration_minutes,
                               list_price_fen=parse_yuan(list_price), insured=insured == "on",
                               self_bookable=self_bookable == "on")
        await catalogue.create_test(db, principal, facility_id, data)
    except (InvalidInput, Conflict, ValueError) as problem:  # pydantic's ValidationError is a ValueError
        await db.rollback()
        return await _catalogue_page(request, db, principal, facility_id, error=_message(problem), form=form,
                                     status_code=422)
    return RedirectResponse(f"/facilities/{facility_id}/tests", status_code=303)


def _message(problem: Exception) -> str:
    if isinstance(problem, CareBridgeError):
        return _(problem.message)
    return _("check the form: a field is missing or too long")


def parse_yuan(text: str) -> int:
    """"12.5" yuan to 1250 fen, exactly (no floats)."""
    whole, _dot, part = text.strip().replace("¥", "").partition(".")
    if not whole.isdigit() or (part and (not part.isdigit() or len(part) > 2)):
        raise InvalidInput(N_("give the price in yuan, e.g. 120 or 12.50"), details={"field": "list_price"})
    return int(whole) * 100 + int(part.ljust(2, "0") or 0)


async def _own_test(db: Db, facility_id: int, test_id: int):  # noqa: ANN202 - a CatalogueTest
    test = await catalogue.get_test(db, test_id)
    if test.facility_id != facility_id:  # an id from another facility reveals nothing
        raise NotFound(N_("test not found"))
    return test


@router.get("/facilities/{facility_id}/tests/{test_id}")
async def test_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int, test_id: int) -> Response:
    return await _test_page(request, db, principal, facility_id, test_id)


async def _test_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int, test_id: int,
                     error: str | None = None, status_code: int = 200) -> Response:
    facility = await get_facility(db, facility_id)
    test = await _own_test(db, facility.id, test_id)
    if not can_manage_facility(principal, facility.id):
        raise NotFound(N_("test not found"))
    hours = (await catalogue.hours_of(db, [test.id]))[test.id]
    rows = [*hours, *([None] * max(HOUR_ROWS - len(hours), 0))]
    return render(request, "test_appointments/test_edit.html", _context(
        facility=facility, test=test, rows=rows, hours_text=catalogue.hours_text, error=error),
        status_code=status_code)


@router.post("/facilities/{facility_id}/tests/{test_id}")
async def update_test(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int, test_id: int,
                      name: Short, list_price: Annotated[str, Form(max_length=12)], name_en: Short = "",
                      prep: Text = "", prep_en: Text = "", duration_minutes: Annotated[int, Form(ge=1, le=480)] = 15,
                      insured: Annotated[str, Form(max_length=5)] = "",
                      self_bookable: Annotated[str, Form(max_length=5)] = "",
                      active: Annotated[str, Form(max_length=5)] = "") -> Response:
    await _own_test(db, facility_id, test_id)
    try:
        await catalogue.update_test(db, principal, test_id, CatalogueTestUpdate(
            name=name, name_en=name_en, prep=prep, prep_en=prep_en, duration_minutes=duration_minutes,
            list_price_fen=parse_yuan(list_price), insured=insured == "on", self_bookable=self_bookable == "on",
            active=active == "on"))
    except (InvalidInput, ValueError) as problem:
        await db.rollback()
        return await _test_page(request, db, principal, facility_id, test_id, _message(problem), 422)
    return RedirectResponse(f"/facilities/{facility_id}/tests", status_code=303)


@router.post("/facilities/{facility_id}/tests/{test_id}/hours")
async def set_hours(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int, test_id: int) -> Response:
    await _own_test(db, facility_id, test_id)
    form = await request.form()
    rows = []
    try:
        for n in range(HOUR_ROWS):
            values = {k: str(form.get(f"{k}_{n}", "")).strip()
                      for k in ("weekdays", "opens", "closes", "block", "capacity")}
            if not values["weekdays"]:
                continue
            rows.append(HoursIn(weekdays=values["weekdays"], opens=values["opens"], closes=values["closes"],
                                block_minutes=int(values["block"] or 30), capacity=int(values["capacity"] or 0)))
        await catalogue.set_hours(db, principal, test_id, rows)
    except (ValueError, InvalidInput) as problem:
        await db.rollback()
        return await _test_page(request, db, principal, facility_id, test_id, _message(problem), 422)
    return RedirectResponse(f"/facilities/{facility_id}/tests", status_code=303)


# ---- the day's appointments ----------------------------------------------------------------------

@router.get("/facilities/{facility_id}/tests/appointments/day")
async def appointments_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int,
                            day: dt.date | None = None) -> Response:
    facility = await get_facility(db, facility_id)
    start, end = slots.local_day_bounds(day)
    rows = await fulfilment.day_list(db, principal, facility.id, start, end)
    shown = start.astimezone(local_zone()).date()
    built = [await views.booking_view(db, r.booking, frozenset({service.Party.staff})) for r in rows]
    return render(request, "test_appointments/appointments.html", _context(
        facility=facility, rows=list(zip(rows, built, strict=True)), day=shown,
        previous=shown - dt.timedelta(days=1), following=shown + dt.timedelta(days=1)))


async def _staff_booking(db: Db, principal: CurrentPrincipal, facility_id: int, booking_id: int):  # noqa: ANN202
    booking, parties = await service.load_booking(db, principal, booking_id, action="test_results_page")
    if booking.facility_id != facility_id or service.Party.staff not in parties:
        raise NotFound(N_("booking not found"))
    return booking


@router.get("/facilities/{facility_id}/tests/appointments/{booking_id}/results")
async def results_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int,
                       booking_id: int) -> Response:
    return await _results_page(request, db, principal, facility_id, booking_id)


async def _results_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int, booking_id: int,
                        error: str | None = None, status_code: int = 200) -> Response:
    booking = await _staff_booking(db, principal, facility_id, booking_id)
    test = await catalogue.get_test(db, booking.test_id)
    codes = test.result_codes or [test.code]
    return render(request, "test_appointments/results.html", _context(
        facility=await get_facility(db, facility_id), b=booking, components=[(c, COMPONENTS.get(c)) for c in codes],
        error=error), status_code=status_code)


@router.post("/facilities/{facility_id}/tests/appointments/{booking_id}/results")
async def save_results(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int,
                       booking_id: int) -> Response:
    booking = await _staff_booking(db, principal, facility_id, booking_id)
    test = await catalogue.get_test(db, booking.test_id)
    form = await request.form()
    values = []
    try:
        for code in test.result_codes or [test.code]:
            raw = str(form.get(f"value_{code}", "")).strip()
            number = float(raw) if raw and _is_number(raw) else None
            values.append(fulfilment.ResultValue(code, number, "" if number is not None else raw[:200],
                                                 str(form.get(f"unit_{code}", "")).strip()[:30]))
        given = [v for v in values if v.value is not None or v.value_text]
        await fulfilment.record_results(db, principal, booking_id, given)
    except InvalidInput as problem:
        await db.rollback()
        return await _results_page(request, db, principal, facility_id, booking_id, _(problem.message), 422)
    day = booking.starts_at.astimezone(local_zone()).date().isoformat()
    return RedirectResponse(f"/facilities/{facility_id}/tests/appointments/day?day={day}#b{booking_id}",
                            status_code=303)


ACTIONS = {"check_in": fulfilment.check_in, "perform": fulfilment.mark_performed, "no_show": fulfilment.mark_no_show}


@router.post("/facilities/{facility_id}/tests/appointments/{booking_id}/{action}")
async def appointment_action(db: Db, principal: CurrentPrincipal, facility_id: int, booking_id: int, action: str,
                             reason: Annotated[str, Form(max_length=500)] = "",
                             day: Annotated[str, Form(max_length=10)] = "") -> Response:
    booking, _parties = await service.load_booking(db, principal, booking_id, action="test_page")
    if booking.facility_id != facility_id:
        raise NotFound(N_("booking not found"))
    if action == "cancel":
        await service.cancel_booking(db, principal, booking_id, reason)
    elif action in ACTIONS:
        await ACTIONS[action](db, principal, booking_id)
    else:
        raise NotFound(N_("no such action"))
    return RedirectResponse(f"/facilities/{facility_id}/tests/appointments/day?day={day}#b{booking_id}",
                            status_code=303)



def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
