"""Pages for practitioners: the directory, a practitioner's profile with their week roster, and the
admin forms for profiles, practice sites and shifts. Included by network.pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select

from carebridge.auth.models import Role
from carebridge.errors import Forbidden, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network import practitioners, service
from carebridge.network.models import Facility, RosterShift, Title
from carebridge.network.schemas import PractitionerIn, PractitionerUpdate, ShiftIn, ShiftUpdate
from carebridge.network.web_forms import (
    CST,
    Outcome,
    attempt,
    list_field,
    local_date,
    local_datetime,
    optional,
    redirect,
    render_page,
    text,
)
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(include_in_schema=False)
PAGE_SIZE = 50


def _is_any_admin(principal: CurrentPrincipal) -> bool:
    return principal.is_platform_admin or bool(principal.facilities_with(Role.facility_admin))


# --- the directory ---------------------------------------------------------------------------

@router.get("/practitioners")
async def directory(request: Request, db: Db, principal: CurrentPrincipal, q: str = "", specialty: str = "",
                    title: str = "", language: str = "", facility: str = "", on_duty: str = "",
                    cursor: str | None = None) -> Response:
    facility_row = None
    if facility.strip():
        facility_row = await db.scalar(select(Facility).where(Facility.code == facility.strip()))
        if facility_row is None and facility.strip().isdigit():
            facility_row = await db.get(Facility, int(facility.strip()))
    page = None
    if facility.strip() and facility_row is None:
        error = _("no facility has that code")
    else:
        error = None
        page = await practitioners.list_practitioners(
            db, q=q, specialty=specialty or None, title=title if title in Title.__members__ else None,
            language=language or None, facility_id=facility_row.id if facility_row else None,
            on_duty=bool(on_duty), cursor=cursor, limit=PAGE_SIZE)
    filters = {"q": q, "specialty": specialty, "title": title, "language": language, "facility": facility,
               "on_duty": on_duty}
    return render_page(request, "network/practitioners.html", {
        "page": page, "filters": filters, "facility_row": facility_row, "error": error,
        "departments": await service.list_departments(db), "titles": list(Title),
        "can_register": _is_any_admin(principal)}, status_code=404 if error else 200)


# --- registering -----------------------------------------------------------------------------

async def _admin_facilities(db: Db, principal: CurrentPrincipal) -> list[Facility]:
    ids = principal.facilities_with(Role.facility_admin)
    return list(await db.scalars(select(Facility).where(Facility.id.in_(ids)).order_by(Facility.code))) if ids else []


async def _new_form(request: Request, db: Db, principal: CurrentPrincipal, form: dict[str, Any],
                    outcome: Outcome | None = None) -> Response:
    outcome = outcome or Outcome()
    return render_page(request, "network/practitioner_new.html", {
        "form": form, "error": outcome.error, "titles": list(Title),
        "departments": await service.list_departments(db), "admin_facilities": await _admin_facilities(db, principal),
        "is_platform_admin": principal.is_platform_admin}, outcome.status_code)


@router.get("/practitioners/new")
async def new_practitioner_form(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    if not _is_any_admin(principal):
        raise Forbidden(N_("only administrators can register practitioners"))
    return await _new_form(request, db, principal, {"languages": "zh"})


async def _facility_from_form(db: Db, form: Any) -> Facility:
    if (facility_id := text(form, "facility_id")).isdigit():
        return await service.get_facility(db, int(facility_id))
    return await service.get_facility_by_code(db, text(form, "facility_code"))


@router.post("/practitioners")
async def create_practitioner(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    if not _is_any_admin(principal):
        raise Forbidden(N_("only administrators can register practitioners"))
    form = await request.form()
    created: list[int] = []

    async def action() -> None:
        facility = await _facility_from_form(db, form)
        new_user = {"username": text(form, "username"), "display_name": text(form, "display_name"),
                    "password": optional(form, "password"), "role": text(form, "role") or "doctor"}
        data = PractitionerIn(new_user=new_user, title=text(form, "title"), specialty=optional(form, "specialty"),
                              license_no=text(form, "license_no"), languages=list_field(form, "languages"),
                              facility_id=facility.id, department=optional(form, "department"))
        created.append((await practitioners.create_practitioner(db, principal, data)).id)

    outcome = await attempt(db, action)
    if outcome.error is None:
        return redirect(f"/practitioners/{created[0]}?saved=1")
    return await _new_form(request, db, principal, {k: v for k, v in form.items() if k != "password"}, outcome)


# --- one practitioner and their week ---------------------------------------------------------

def _week_days(week: dt.date | None) -> list[dt.date]:
    today = utcnow().astimezone(CST).date()
    start = week or today
    monday = start - dt.timedelta(days=start.weekday())
    return [monday + dt.timedelta(days=i) for i in range(7)]


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), CST).astimezone(dt.UTC)
    return start, start + dt.timedelta(days=1)


def _roster(days: list[dt.date], shifts: list[RosterShift]) -> list[dict[str, Any]]:
    week = []
    for day in days:
        start, end = _day_bounds(day)
        week.append({"day": day, "shifts": [
            {"shift": s, "continues_from": s.starts_at < start, "continues_to": s.ends_at > end}
            for s in shifts if s.starts_at < end and s.ends_at > start]})
    return week


async def _practitioner_page(request: Request, db: Db, principal: CurrentPrincipal, practitioner_id: int,
                             outcome: Outcome | None = None) -> Response:
    view = await practitioners.practitioner_view(db, practitioner_id)
    days = _week_days(local_date(request.query_params.get("week")))
    week_start, _end = _day_bounds(days[0])
    shifts = await practitioners.list_shifts(db, view.id, week_start, week_start + dt.timedelta(days=7))
    facility_ids = {s.facility_id for s in shifts}
    facilities = {f.id: f for f in await db.scalars(select(Facility).where(Facility.id.in_(facility_ids)))} \
        if facility_ids else {}
    manageable = [s for s in view.sites if service.can_manage_facility(principal, s.facility.id)]
    outcome = outcome or Outcome()
    return render_page(request, "network/practitioner.html", {
        "p": view, "week": _roster(days, shifts), "facilities": facilities, "manageable_sites": manageable,
        "manageable_ids": {s.facility.id for s in manageable},
        "can_edit": principal.is_platform_admin or bool(manageable),
        "can_add_site": _is_any_admin(principal), "titles": list(Title),
        "departments": await service.list_departments(db), "admin_facilities": await _admin_facilities(db, principal),
        "is_platform_admin": principal.is_platform_admin, "prev_week": days[0] - dt.timedelta(days=7),
        "next_week": days[0] + dt.timedelta(days=7), "this_week": days[0], "error": outcome.error,
        "today": utcnow().astimezone(CST).date(),
        "saved": request.query_params.get("saved")}, outcome.status_code)


@router.get("/practitioners/{practitioner_id}")
async def practitioner_page(request: Request, practitioner_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    return await _practitioner_page(request, db, principal, practitioner_id)


async def _act(request: Request, db: Db, principal: CurrentPrincipal, practitioner_id: int, action,  # noqa: ANN001
               week: str = "") -> Response:
    outcome = await attempt(db, action)
    if outcome.error is None:
        suffix = f"&week={week}" if local_date(week) else ""
        return redirect(f"/practitioners/{practitioner_id}?saved=1{suffix}")
    return await _practitioner_page(request, db, principal, practitioner_id, outcome)


@router.post("/practitioners/{practitioner_id}")
async def update_practitioner(request: Request, practitioner_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    await practitioners.check_practitioner_admin(db, principal, practitioner_id)
    form = await request.form()

    async def action() -> None:
        data = PractitionerUpdate(title=text(form, "title"), specialty=optional(form, "specialty"),
                                  license_no=text(form, "license_no"), languages=list_field(form, "languages"))
        await practitioners.update_practitioner(db, principal, practitioner_id, data)

    return await _act(request, db, principal, practitioner_id, action)


@router.post("/practitioners/{practitioner_id}/sites")
async def add_site(request: Request, practitioner_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    if not _is_any_admin(principal):
        raise Forbidden(N_("you can manage only your own facility"))
    form = await request.form()

    async def action() -> None:
        facility = await _facility_from_form(db, form)
        await practitioners.add_practice_site(db, principal, practitioner_id, facility.id,
                                              optional(form, "department"))

    return await _act(request, db, principal, practitioner_id, action)


@router.post("/practitioners/{practitioner_id}/sites/{facility_id}/delete")
async def remove_site(request: Request, practitioner_id: int, facility_id: int, db: Db,
                      principal: CurrentPrincipal) -> Response:
    service.check_facility_admin(principal, facility_id)
    return await _act(request, db, principal, practitioner_id,
                      lambda: practitioners.remove_practice_site(db, principal, practitioner_id, facility_id))


@router.post("/practitioners/{practitioner_id}/shifts")
async def add_shift(request: Request, practitioner_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    facility_id = text(form, "facility_id")
    service.check_facility_admin(principal, int(facility_id) if facility_id.isdigit() else 0)

    async def action() -> None:
        data = ShiftIn(facility_id=int(facility_id), starts_at=local_datetime(text(form, "starts_at"), "starts_at"),
                       ends_at=local_datetime(text(form, "ends_at"), "ends_at"))
        await practitioners.add_shift(db, principal, practitioner_id, data)

    return await _act(request, db, principal, practitioner_id, action, text(form, "week"))


async def _own_shift(db: Db, principal: CurrentPrincipal, practitioner_id: int, shift_id: int) -> RosterShift:
    shift = await practitioners.get_shift(db, shift_id)
    if shift.practitioner_id != practitioner_id:
        raise NotFound(N_("shift not found"))
    service.check_facility_admin(principal, shift.facility_id)
    return shift


@router.post("/practitioners/{practitioner_id}/shifts/{shift_id}")
async def update_shift(request: Request, practitioner_id: int, shift_id: int, db: Db,
                       principal: CurrentPrincipal) -> Response:
    await _own_shift(db, principal, practitioner_id, shift_id)
    form = await request.form()

    async def action() -> None:
        data = ShiftUpdate(starts_at=local_datetime(text(form, "starts_at"), "starts_at"),
                           ends_at=local_datetime(text(form, "ends_at"), "ends_at"))
        await practitioners.update_shift(db, principal, shift_id, data)

    return await _act(request, db, principal, practitioner_id, action, text(form, "week"))


@router.post("/practitioners/{practitioner_id}/shifts/{shift_id}/delete")
async def delete_shift(request: Request, practitioner_id: int, shift_id: int, db: Db,
                       principal: CurrentPrincipal) -> Response:
    await _own_shift(db, principal, practitioner_id, shift_id)
    form = await request.form()
    return await _act(request, db, principal, practitioner_id,
                      lambda: practitioners.delete_shift(db, principal, shift_id), text(form, "week"))
