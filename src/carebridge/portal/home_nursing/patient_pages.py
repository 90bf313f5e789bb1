"""The patient's pages (phone first): my home-nursing orders, booking in a few taps, one order's
progress with cancel, rating and complaint. The patient is named in the URL and authorised by
`access_patient` (self, or a family member acting as proxy)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.config import get_settings
from carebridge.errors import CareBridgeError, Conflict, InvalidInput
from carebridge.kit.clock import today_local
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Facility
from carebridge.portal.home_nursing import booking, catalogue, feedback, labels, visit
from carebridge.portal.home_nursing.eligibility import ADVICE, REFUSAL, check_eligibility
from carebridge.portal.home_nursing.geo import WINDOW_LABELS, WINDOWS, window_of
from carebridge.portal.home_nursing.models import NursingOrder
from carebridge.portal.home_nursing.page_parts import nurse_name, order_context, yuan
from carebridge.portal.home_nursing.service import access_order
from carebridge.records.models import PatientRegistration
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
Text = Annotated[str, Form(max_length=500)]


def _patient_id(principal: CurrentPrincipal, patient_id: int | None) -> int:
    return patient_id if patient_id is not None else (principal.patient_id or 0)


@router.get("/portal/nursing")
async def my_nursing(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int | None = None) -> Response:
    access, orders = await booking.orders_of_patient(db, principal, _patient_id(principal, patient_id))
    return render(request, "nursing/patient_list.html", {
        "patient": access.patient, "orders": orders, "labels": labels, "yuan": yuan})


async def _facilities(db: Db, patient_id: int) -> list[Facility]:
    """Facilities with a home-nursing catalogue, the patient's own first."""
    offering = await catalogue.facilities_offering(db)
    mine = set((await db.scalars(select(PatientRegistration.facility_id)
                                 .where(PatientRegistration.patient_id == patient_id))).all())
    return sorted(offering, key=lambda f: (f.id not in mine, f.tier, f.name))


def _days() -> list[dt.date]:
    first = today_local()
    return [first + dt.timedelta(days=n) for n in range(get_settings().nursing_booking_days + 1)]


async def _booking_page(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int,
                        facility_id: int | None, *, form: dict | None = None, error: str | None = None,
                        status_code: int = 200) -> Response:
    access = await booking.access_as_patient(db, principal, patient_id, "nursing_book_form")
    facilities = await _facilities(db, access.patient.id)
    facility = next((f for f in facilities if f.id == facility_id), facilities[0] if facilities else None)
    services = await catalogue.list_services(db, facility.id) if facility else []
    eligibility = await check_eligibility(db, access)
    settings = get_settings()
    default_day = today_local() + dt.timedelta(days=1)
    return render(request, "nursing/patient_book.html", {
        "patient": access.patient, "facilities": facilities, "facility": facility, "services": services,
        "eligibility": eligibility, "refusal": _(REFUSAL) % {"min": settings.nursing_min_age,
                                                              "days": settings.nursing_discharge_days},
        "advice": ADVICE, "days": _days(), "windows": WINDOWS, "window_labels": WINDOW_LABELS,
        "form": {"address": access.patient.address, "contact_phone": access.patient.phone,
                 "day": default_day.isoformat(), "window": "morning", **(form or {})},
        "error": error, "yuan": yuan, "credential_label": catalogue.credential_label}, status_code=status_code)


@router.get("/portal/nursing/new")
async def booking_form(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int | None = None,
                       facility_id: int | None = None) -> Response:
    return await _booking_page(request, db, principal, _patient_id(principal, patient_id), facility_id)


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(_("tap \"Use my location\" or enter the latitude and longitude"),
                           details={"field": "latitude"}) from None


@router.post("/portal/nursing/new")
async def book(request: Request, db: Db, principal: CurrentPrincipal, patient_id: Annotated[int, Form()],
               service_id: Annotated[int, Form()], address: Annotated[str, Form(max_length=300)],
               day: Annotated[dt.date, Form()], window: Annotated[str, Form(max_length=20)],
               latitude: Annotated[str, Form(max_length=30)] = "", longitude: Annotated[str, Form(max_length=30)] = "",
               contact_phone: Annotated[str, Form(max_length=40)] = "", notes: Text = "",
               facility_id: Annotated[int | None, Form()] = None) -> Response:
    form = {"service_id": service_id, "address": address, "day": day.isoformat(), "window": window,
            "latitude": latitude, "longitude": longitude, "contact_phone": contact_phone, "notes": notes}
    try:
        order = await booking.book(db, principal, booking.BookingInput(
            patient_id=patient_id, service_id=service_id, address=address, latitude=_float(latitude),
            longitude=_float(longitude), day=day, window=window, contact_phone=contact_phone, notes=notes))
    except (InvalidInput, Conflict) as problem:
        await db.rollback()  # nothing of the refused booking is kept; the form is shown again
        return await _booking_page(request, db, principal, patient_id, facility_id, form=form,
                                   error=_(problem.message), status_code=problem.status_code)
    return RedirectResponse(f"/portal/nursing/{order.id}", status_code=303)


async def _order_page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, *,
                      error: str | None = None, status_code: int = 200) -> Response:
    seen = await access_order(db, principal, order_id)
    if "patient" not in seen.parties:
        return RedirectResponse(f"/nursing/orders/{order_id}", status_code=303)
    context = await order_context(db, seen)
    day, window = window_of(seen.order.window_start)
    return render(request, "nursing/patient_order.html", {
        **context, "day": day, "window_label": WINDOW_LABELS.get(window, ""), "error": error,
        "photos": await visit.photos_of(db, order_id), "complaints": await feedback.complaints_of_order(db, order_id),
        "nurse": await nurse_name(db, seen.order)}, status_code=status_code)


@router.get("/portal/nursing/{order_id}")
async def order_page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    return await _order_page(request, db, principal, order_id)


async def _after(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, work) -> Response:  # noqa: ANN001
    try:
        await work()
    except (InvalidInput, Conflict) as problem:
        await db.rollback()
        return await _order_page(request, db, principal, order_id, error=_(problem.message),
                                 status_code=problem.status_code)
    except CareBridgeError:
        raise
    return RedirectResponse(f"/portal/nursing/{order_id}", status_code=303)


@router.post("/portal/nursing/{order_id}/cancel")
async def cancel(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, reason: Text = "") -> Response:
    return await _after(request, db, principal, order_id, lambda: booking.cancel(db, principal, order_id, reason))


@router.post("/portal/nursing/{order_id}/rate")
async def rate(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
               stars: Annotated[int, Form(ge=1, le=5)], comment: Text = "") -> Response:
    return await _after(request, db, principal, order_id,
                        lambda: feedback.rate(db, principal, order_id, stars, comment))


@router.post("/portal/nursing/{order_id}/complain")
async def complain(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                   text: Annotated[str, Form(max_length=1000)]) -> Response:
    return await _after(request, db, principal, order_id, lambda: feedback.complain(db, principal, order_id, text))


def order_url(order: NursingOrder) -> str:
    return f"/portal/nursing/{order.id}"
