"""The patient's pages (phones first, Chinese first): choose a test, see where it can be had and at
what price, pick a block, book, and follow the booking to its results. The patient acted for is
`patient_id` (the signed-in patient by default); every page goes through `access_patient`."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.access.models import ConsentStatus
from carebridge.access.service import current_consent
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit import i18n
from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Facility
from carebridge.portal.test_appointments import (
    catalogue,
    doctor_orders,
    fulfilment,
    labels,
    offers,
    service,
    slots,
    tasks,  # noqa: F401 - registers the sweeps
    views,
)
from carebridge.portal.test_appointments import mine as _mine  # noqa: F401 - registers "my orders"
from carebridge.portal.test_appointments.lifecycle import UPCOMING
from carebridge.portal.test_appointments.pricing import price_test
from carebridge.portal.test_appointments.starter import COMPONENTS
from carebridge.records.models import PatientRegistration
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
Field = Annotated[str, Query(max_length=20)]


def _number(text: str, kind: type) -> int | float | None:
    try:
        return kind(text) if text.strip() else None
    except ValueError:
        raise InvalidInput(N_("a position needs a latitude and a longitude"), details={"field": "latitude"}) from None


def _patient_id(principal: Principal, patient_id: int | None) -> int:
    chosen = patient_id if patient_id is not None else principal.patient_id
    if chosen is None:
        raise NotFound(N_("patient not found"))
    return chosen


def _context(**values: object) -> dict:
    return {"labels": labels, "english": i18n.get_locale() == "en", **values}


@router.get("/portal/tests")
async def tests_home(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int | None = None) -> Response:
    access = await service.access_as_patient(db, principal, _patient_id(principal, patient_id), "test_home")
    bookings = await service.patient_bookings(db, principal, access.patient.id)
    await fulfilment.follow_diagnosis(db, bookings)
    upcoming = sorted((b for b in bookings if b.state in UPCOMING), key=lambda b: b.starts_at)
    codes = await offers.offered_codes(db)
    orders = await doctor_orders.open_orders(db, access.patient.id)
    names = {c.code: c for c in codes}
    return render(request, "test_appointments/home.html", _context(
        patient=access.patient, upcoming=upcoming, past=[b for b in bookings if b.state not in UPCOMING][:5],
        groups=[(k, list(v)) for k, v in groupby(codes, key=lambda c: c.category)], orders=orders, names=names,
        facilities=await _facility_names(db, {b.facility_id for b in bookings})))


async def _facility_names(db: Db, ids: set[int]) -> dict[int, Facility]:
    if not ids:
        return {}
    return {f.id: f for f in (await db.scalars(select(Facility).where(Facility.id.in_(ids)))).all()}


async def _registered_facilities(db: Db, patient_id: int) -> list[Facility]:
    query = (select(Facility).join(PatientRegistration, PatientRegistration.facility_id == Facility.id)
             .where(PatientRegistration.patient_id == patient_id).order_by(PatientRegistration.registered_at))
    return list((await db.scalars(query)).all())


@router.get("/portal/tests/find")
async def find_page(request: Request, db: Db, principal: CurrentPrincipal, code: str, patient_id: int | None = None,
                    near_facility_id: Field = "", latitude: Field = "", longitude: Field = "") -> Response:
    """The location form sends empty fields for what it does not use (a plain GET form)."""
    access = await service.access_as_patient(db, principal, _patient_id(principal, patient_id), "test_offers")
    error = None
    try:
        origin = await offers.resolve_origin(db, access.patient.id, facility_id=_number(near_facility_id, int),
                                             latitude=_number(latitude, float), longitude=_number(longitude, float))
    except InvalidInput as problem:
        origin, error = await offers.resolve_origin(db, access.patient.id), _(problem.message)
    found = await offers.find_offers(db, code=code, patient_id=access.patient.id, origin=origin)
    choice = next((c for c in await offers.offered_codes(db) if c.code == code), None)
    if choice is None:
        raise NotFound(N_("test not found"))
    places = {f.id: f for f in await _registered_facilities(db, access.patient.id)}
    places.update({o.facility.id: o.facility for o in found})
    return render(request, "test_appointments/find.html", _context(
        patient=access.patient, choice=choice, offers=found, origin=origin, error=error, places=list(places.values()),
        needs_order=not choice.self_bookable and not await doctor_orders.open_orders(db, access.patient.id, code),
        may_self_book={o.test.id: catalogue.may_self_book(o.test) for o in found}))


def _days(open_slots: list[slots.Slot]) -> list[tuple[dt.date, list[slots.Slot]]]:
    zone = local_zone()
    return [(day, list(group)) for day, group in groupby(open_slots, key=lambda s: s.starts_at.astimezone(zone).date())]


async def _offer_page(request: Request, db: Db, principal: Principal, test_id: int, patient_id: int | None, *,
                      day: dt.date | None = None, form: dict | None = None, error: str | None = None,
                      status_code: int = 200) -> Response:
    access = await service.access_as_patient(db, principal, _patient_id(principal, patient_id), "test_offer")
    test, facility = await service.bookable_test(db, test_id)
    days = [(d, group) for d, group in _days(await slots.open_slots(db, test)) if any(s.free for s in group)]
    chosen = next((d for d in days if d[0] == day), days[0] if days else None)
    consent = await current_consent(db, access.patient.id)
    return render(request, "test_appointments/offer.html", _context(
        patient=access.patient, test=test, facility=facility, days=days, chosen=chosen, form=form or {},
        price=await price_test(db, facility=facility, patient_id=access.patient.id, test=test), error=error,
        ask_consent=not catalogue.is_lab(test) and (consent is None or consent.status != ConsentStatus.granted),
        orders=await doctor_orders.open_orders(db, access.patient.id, test.code),
        cutoff_hours=f"{get_settings().test_appointments_cancel_cutoff_hours:g}",
        self_bookable=catalogue.may_self_book(test)), status_code=status_code)


@router.get("/portal/tests/offer/{test_id}")
async def offer_page(request: Request, db: Db, principal: CurrentPrincipal, test_id: int,
                     patient_id: int | None = None, day: dt.date | None = None) -> Response:
    return await _offer_page(request, db, principal, test_id, patient_id, day=day)


@router.post("/portal/tests/book")
async def book(request: Request, db: Db, principal: CurrentPrincipal, patient_id: Annotated[int, Form()],
               test_id: Annotated[int, Form()], starts_at: Annotated[str, Form(max_length=40)] = "",
               doctor_order_id: Annotated[str, Form(max_length=20)] = "",
               note: Annotated[str, Form(max_length=500)] = "",
               consent: Annotated[str, Form(max_length=5)] = "") -> Response:
    form = {"starts_at": starts_at, "note": note, "consent": consent, "doctor_order_id": doctor_order_id}
    try:
        when = dt.datetime.fromisoformat(starts_at) if starts_at else None
        if when is None:
            raise InvalidInput(N_("choose a time"), details={"field": "starts_at"})
        booking = await service.book_test(db, principal, service.BookingInput(
            patient_id=patient_id, test_id=test_id, starts_at=when, note=note, consent_remote_reading=consent == "on",
            doctor_order_id=int(doctor_order_id) if doctor_order_id.isdigit() else None))
    except ValueError:
        return await _refused(request, db, principal, test_id, patient_id, form, _("choose a time"))
    except (InvalidInput, Conflict) as problem:
        return await _refused(request, db, principal, test_id, patient_id, form, _(problem.message))
    return RedirectResponse(f"/portal/tests/bookings/{booking.id}", status_code=303)


async def _refused(request: Request, db: Db, principal: Principal, test_id: int, patient_id: int, form: dict,
                   message: str) -> Response:
    await db.rollback()  # nothing of the refused booking is kept; the form is shown again
    return await _offer_page(request, db, principal, test_id, patient_id, form=form, error=message, status_code=422)


@router.get("/portal/tests/bookings/{booking_id}")
async def booking_page(request: Request, db: Db, principal: CurrentPrincipal, booking_id: int,
                       done: str = "") -> Response:
    booking, parties = await service.load_booking(db, principal, booking_id, action="test_page")
    view = await views.booking_view(db, booking, parties)
    return render(request, "test_appointments/booking.html", _context(view=view, b=booking, f=view.facility,
                                                                      done=done, components=COMPONENTS))


@router.get("/portal/tests/{booking_id:int}")
async def booking_short_link(booking_id: int) -> Response:
    """The address payments links a paid "test" charge back to (payments/labels.py PURPOSE_PAGE)."""
    return RedirectResponse(f"/portal/tests/bookings/{booking_id}", status_code=307)


@router.post("/portal/tests/bookings/{booking_id}/cancel")
async def cancel(db: Db, principal: CurrentPrincipal, booking_id: int,
                 reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    await service.cancel_booking(db, principal, booking_id, reason)
    return RedirectResponse(f"/portal/tests/bookings/{booking_id}?done=cancelled", status_code=303)
