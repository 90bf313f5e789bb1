"""Pages for the facility's administrators (the catalogue and its nurses' credentials) and for
doctors (ordering home nursing for a patient of their facility)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.errors import CareBridgeError, Conflict, Forbidden, InvalidInput
from carebridge.kit.clock import today_local, utcnow
from carebridge.kit.i18n import gettext as _
from carebridge.network.service import check_facility_admin
from carebridge.portal.home_nursing import catalogue, doctor_orders, nurses
from carebridge.portal.home_nursing.page_parts import facility_name, names, yuan
from carebridge.records.models import Patient
from carebridge.records.service import search_patients
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
Short = Annotated[str, Form(max_length=200)]


async def _catalogue_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int, *,
                          error: str | None = None, status_code: int = 200) -> Response:
    check_facility_admin(principal, facility_id)
    return render(request, "nursing/catalogue.html", {
        "services": await catalogue.list_services(db, facility_id, active_only=False), "facility_id": facility_id,
        "facility_name": await facility_name(db, facility_id), "credentials": catalogue.CREDENTIALS,
        "assessor": catalogue.ASSESSOR, "yuan": yuan, "error": error}, status_code=status_code)


@router.get("/nursing/facilities/{facility_id}/catalogue")
async def catalogue_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int) -> Response:
    return await _catalogue_page(request, db, principal, facility_id)


@router.post("/nursing/facilities/{facility_id}/catalogue/starter")
async def install_starter(db: Db, principal: CurrentPrincipal, facility_id: int) -> Response:
    await catalogue.install_starter(db, principal, facility_id)
    return RedirectResponse(f"/nursing/facilities/{facility_id}/catalogue", status_code=303)


def _yuan_to_fen(value: str) -> int:
    """Prices are typed in yuan with up to two decimals and kept in integer fen."""
    text = value.strip().replace("¥", "")
    whole, _dot, cents = text.partition(".")
    if not whole.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        raise InvalidInput(_("type the price in yuan, e.g. 120 or 99.50"), details={"field": "price"})
    return int(whole) * 100 + int(cents.ljust(2, "0") or 0)


@router.post("/nursing/facilities/{facility_id}/catalogue")
async def save_service(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int,
                       code: Annotated[str, Form(max_length=40)], name: Annotated[str, Form(max_length=100)],
                       price: Annotated[str, Form(max_length=20)], duration_minutes: Annotated[int, Form()],
                       name_en: Annotated[str, Form(max_length=100)] = "", description: Short = "",
                       required_credential: Annotated[str, Form(max_length=40)] = "",
                       min_years: Annotated[int, Form()] = 0, insured: Annotated[bool, Form()] = False,
                       active: Annotated[bool, Form()] = False,
                       service_id: Annotated[int | None, Form()] = None) -> Response:
    try:
        data = catalogue.ServiceInput(code=code.strip(), name=name, name_en=name_en, price_fen=_yuan_to_fen(price),
                                      duration_minutes=duration_minutes, required_credential=required_credential,
                                      min_years=min_years, insured=insured, description=description,
                                      active=active or service_id is None)
        if service_id is None:
            await catalogue.create_service(db, principal, facility_id, data)
        else:
            service = await catalogue.get_service(db, service_id)
            if service.facility_id != facility_id:
                raise Forbidden(_("you can manage only your own facility"))
            await catalogue.update_service(db, principal, service_id, data)
    except (InvalidInput, Conflict) as problem:
        await db.rollback()
        return await _catalogue_page(request, db, principal, facility_id, error=_(problem.message),
                                     status_code=problem.status_code)
    return RedirectResponse(f"/nursing/facilities/{facility_id}/catalogue", status_code=303)


@router.get("/nursing/facilities/{facility_id}/nurses")
async def nurses_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int,
                      error: str | None = None) -> Response:
    check_facility_admin(principal, facility_id)
    return render(request, "nursing/nurses.html", {
        "nurses": await nurses.nurses_of(db, facility_id), "facility_id": facility_id,
        "facility_name": await facility_name(db, facility_id), "credentials": catalogue.CREDENTIALS,
        "today": today_local(), "error": error})


def _date(value: str, field: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(_("give a date as YYYY-MM-DD"), details={"field": field}) from None


def _coordinate(value: str) -> float | None:
    try:
        return float(value) if value.strip() else None
    except ValueError:
        raise InvalidInput(_("enter numbers only"), details={"value": value}) from None


@router.post("/nursing/facilities/{facility_id}/nurses/{practitioner_id}/profile")
async def save_profile(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int, practitioner_id: int,
                       license_valid_until: Short, practising_since: Short, base_label: Short = "",
                       base_latitude: Short = "", base_longitude: Short = "",
                       active: Annotated[bool, Form()] = False) -> Response:
    try:
        valid, since = _date(license_valid_until, "license_valid_until"), _date(practising_since, "practising_since")
        if valid is None or since is None:
            raise InvalidInput(_("give the licence's end date and the start of practice"))
        await nurses.set_profile(db, principal, practitioner_id, nurses.ProfileInput(
            license_valid_until=valid, practising_since=since, base_label=base_label,
            base_latitude=_coordinate(base_latitude), base_longitude=_coordinate(base_longitude), active=active))
    except InvalidInput as problem:
        await db.rollback()
        return await nurses_page(request, db, principal, facility_id, error=_(problem.message))
    return RedirectResponse(f"/nursing/facilities/{facility_id}/nurses", status_code=303)


@router.post("/nursing/facilities/{facility_id}/nurses/{practitioner_id}/credentials")
async def save_credential(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int,
                          practitioner_id: int, credential: Annotated[str, Form(max_length=40)],
                          certificate_no: Short = "", valid_until: Short = "",
                          remove: Annotated[bool, Form()] = False) -> Response:
    try:
        if remove:
            await nurses.remove_credential(db, principal, practitioner_id, credential)
        else:
            await nurses.set_credential(db, principal, practitioner_id, credential, certificate_no=certificate_no,
                                        valid_until=_date(valid_until, "valid_until"))
    except InvalidInput as problem:
        await db.rollback()
        return await nurses_page(request, db, principal, facility_id, error=_(problem.message))
    return RedirectResponse(f"/nursing/facilities/{facility_id}/nurses", status_code=303)


# --- doctors ---------------------------------------------------------------------------------

async def _doctor_page(request: Request, db: Db, principal: CurrentPrincipal, q: str = "",
                       patient_id: int | None = None, error: str | None = None, status_code: int = 200) -> Response:
    if not principal.has_role("doctor"):
        raise Forbidden(_("only doctors can order home nursing"))
    found = (await search_patients(db, principal, q)).items if q.strip() else []
    mine = await doctor_orders.orders_by_doctor(db, principal)
    patients = dict((await db.execute(select(Patient.id, Patient.name).where(
        Patient.id.in_({o.patient_id for o in mine} | ({patient_id} if patient_id else set()))))).all())
    return render(request, "nursing/doctor_orders.html", {
        "q": q, "found": found, "mine": mine, "patients": patients, "patient_id": patient_id, "error": error,
        "services": catalogue.STARTER, "now": utcnow(),
        "doctors": await names(db, {principal.user_id})}, status_code=status_code)


@router.get("/nursing/doctor-orders")
async def doctor_orders_page(request: Request, db: Db, principal: CurrentPrincipal, q: str = "",
                             patient_id: int | None = None) -> Response:
    return await _doctor_page(request, db, principal, q, patient_id)


@router.post("/nursing/doctor-orders")
async def create_doctor_order(request: Request, db: Db, principal: CurrentPrincipal,
                              patient_id: Annotated[int, Form()], reason: Annotated[str, Form(max_length=500)],
                              service_code: Annotated[str, Form(max_length=40)] = "",
                              valid_days: Annotated[int | None, Form()] = None) -> Response:
    try:
        await doctor_orders.create_doctor_order(db, principal, patient_id, reason=reason, service_code=service_code,
                                                valid_days=valid_days)
    except (InvalidInput, Forbidden) as problem:
        await db.rollback()
        return await _doctor_page(request, db, principal, patient_id=patient_id, error=_(problem.message),
                                  status_code=problem.status_code)
    except CareBridgeError:
        raise
    return RedirectResponse("/nursing/doctor-orders", status_code=303)


@router.post("/nursing/doctor-orders/{order_id}/void")
async def void_doctor_order(db: Db, principal: CurrentPrincipal, order_id: int,
                            reason: Annotated[str, Form(max_length=500)]) -> Response:
    await doctor_orders.void_doctor_order(db, principal, order_id, reason)
    return RedirectResponse("/nursing/doctor-orders", status_code=303)
