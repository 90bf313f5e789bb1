"""Pages for the network: the facility tree, facility pages with their admin forms, the department
list and bulk import. They call the same services as the JSON API."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from carebridge.errors import CareBridgeError
from carebridge.kit.i18n import gettext as _
from carebridge.network import importer, offerings, practitioner_pages, practitioners, service
from carebridge.network.models import Facility, ServiceKind, Tier
from carebridge.network.schemas import (
    DepartmentIn,
    DepartmentUpdate,
    FacilityIn,
    FacilityUpdate,
    OfferingIn,
    OfferingUpdate,
)
from carebridge.network.web_forms import (
    Outcome,
    attempt,
    checked,
    list_field,
    number,
    optional,
    redirect,
    render_page,
    text,
    validation_message,
)
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import is_htmx

router = make_router(include_in_schema=False)
router.include_router(practitioner_pages.router)
SEARCH_LIMIT = 50


# --- the tree --------------------------------------------------------------------------------

@router.get("/network")
async def network_page(request: Request, db: Db, principal: CurrentPrincipal, q: str = "", tier: str = "",
                       region: str = "", cursor: str | None = None) -> Response:
    results = None
    if q.strip() or tier or region.strip():
        results = await service.list_facilities(db, q=q, tier=Tier(tier) if tier in Tier.__members__ else None,
                                                region=region.strip() or None, cursor=cursor, limit=SEARCH_LIMIT)
    roots = await service.tree_children(db, None)
    # The top of the tree is small (the national centre, a few orphans): open it one level deep.
    children = {n.facility.id: await service.tree_children(db, n.facility.id)
                for n in roots[:5] if n.members}
    return render_page(request, "network/tree.html", {
        "counts": await service.tier_counts(db), "roots": roots, "children": children, "results": results,
        "q": q, "tier": tier, "region": region, "can_admin": principal.is_platform_admin})


@router.get("/network/tree/{facility_id}")
async def tree_branch(request: Request, facility_id: int, db: Db, _principal: CurrentPrincipal) -> Response:
    if not is_htmx(request):
        return redirect(f"/network/facilities/{facility_id}")
    await service.get_facility(db, facility_id)
    nodes = await service.tree_children(db, facility_id)
    return render_page(request, "network/_branch.html", {"nodes": nodes})


# --- one facility ----------------------------------------------------------------------------

async def _facility_context(db: Db, principal: CurrentPrincipal, facility: Facility) -> dict[str, Any]:
    departments = await service.facility_departments(db, facility.id)
    present = {d.id for d in departments}
    offered = await offerings.list_offerings(db, facility.id, include_inactive=True)
    recipient_ids = {i for o in offered for i in o.recipient_ids}
    recipients = {f.id: f for f in await _facilities_by_id(db, recipient_ids)}
    return {
        "facility": facility, "hubs": await service.list_hubs(db, facility.id),
        "members": await service.tree_children(db, facility.id), "departments": departments,
        "other_departments": [d for d in await service.list_departments(db) if d.id not in present],
        "offerings": offered, "recipients": recipients, "service_kinds": list(ServiceKind),
        "on_duty": await practitioners.on_duty_now(db, facility.id),
        "can_manage": service.can_manage_facility(principal, facility.id),
        "is_platform_admin": principal.is_platform_admin, "tiers": list(Tier),
    }


async def _facilities_by_id(db: Db, ids: set[int]) -> list[Facility]:
    return list(await db.scalars(select(Facility).where(Facility.id.in_(ids)))) if ids else []


async def _facility_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int,
                         outcome: Outcome | None = None) -> Response:
    facility = await service.get_facility(db, facility_id)
    context = await _facility_context(db, principal, facility)
    outcome = outcome or Outcome()
    return render_page(request, "network/facility.html", {**context, "error": outcome.error,
                                                          "saved": request.query_params.get("saved")},
                       status_code=outcome.status_code)


@router.get("/network/facilities/new")
async def new_facility_form(request: Request, principal: CurrentPrincipal) -> Response:
    service.check_network_admin(principal)
    return render_page(request, "network/facility_new.html", {"form": {}, "tiers": list(Tier), "error": None})


def _facility_fields(form: Any) -> dict[str, Any]:
    fields = {name: text(form, name) for name in ("name", "name_en", "province_code", "city_code", "county_code",
                                                  "address", "phone", "email")}
    return {**fields, "latitude": number(form, "latitude"), "longitude": number(form, "longitude"),
            "require_mfa": checked(form, "require_mfa")}


@router.post("/network/facilities")
async def create_facility(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    service.check_network_admin(principal)
    form = await request.form()
    created: list[Facility] = []

    async def action() -> None:
        data = FacilityIn(code=text(form, "code"), tier=text(form, "tier"), departments=list_field(form, "departments"),
                          **_facility_fields(form))
        created.append(await service.create_facility(db, principal, data))
        if hub_code := optional(form, "hub_code"):
            hub = await service.get_facility_by_code(db, hub_code)
            await service.add_hub_link(db, principal, created[0].id, hub.id, text(form, "alliance"))

    outcome = await attempt(db, action)
    if outcome.error is None:
        return redirect(f"/network/facilities/{created[0].id}?saved=1")
    return render_page(request, "network/facility_new.html", {"form": dict(form), "tiers": list(Tier),
                                                              "error": outcome.error}, outcome.status_code)


@router.get("/network/facilities/{facility_id}")
async def facility_page(request: Request, facility_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    return await _facility_page(request, db, principal, facility_id)


async def _act(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int, action) -> Response:  # noqa: ANN001
    outcome = await attempt(db, action)
    if outcome.error is None:
        return redirect(f"/network/facilities/{facility_id}?saved=1")
    return await _facility_page(request, db, principal, facility_id, outcome)


@router.post("/network/facilities/{facility_id}")
async def update_facility(request: Request, facility_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    service.check_facility_admin(principal, facility_id)
    fields = _facility_fields(form)
    if principal.is_platform_admin:
        fields.update(code=text(form, "code"), tier=text(form, "tier"), active=checked(form, "active"))

    async def action() -> None:
        await service.update_facility(db, principal, facility_id, FacilityUpdate(**fields))

    return await _act(request, db, principal, facility_id, action)


@router.post("/network/facilities/{facility_id}/hubs")
async def add_hub(request: Request, facility_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    service.check_network_admin(principal)

    async def action() -> None:
        hub = await service.get_facility_by_code(db, text(form, "hub_code"))
        await service.add_hub_link(db, principal, facility_id, hub.id, text(form, "alliance"))

    return await _act(request, db, principal, facility_id, action)


@router.post("/network/facilities/{facility_id}/hubs/{link_id}/delete")
async def remove_hub(request: Request, facility_id: int, link_id: int, db: Db,
                     principal: CurrentPrincipal) -> Response:
    service.check_network_admin(principal)
    return await _act(request, db, principal, facility_id,
                      lambda: service.remove_hub_link(db, principal, facility_id, link_id))


@router.post("/network/facilities/{facility_id}/departments")
async def add_department(request: Request, facility_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    service.check_facility_admin(principal, facility_id)
    return await _act(request, db, principal, facility_id,
                      lambda: service.add_facility_department(db, principal, facility_id, text(form, "department")))


@router.post("/network/facilities/{facility_id}/departments/{code}/delete")
async def remove_department(request: Request, facility_id: int, code: str, db: Db,
                            principal: CurrentPrincipal) -> Response:
    service.check_facility_admin(principal, facility_id)
    return await _act(request, db, principal, facility_id,
                      lambda: service.remove_facility_department(db, principal, facility_id, code))


async def _recipient_ids(db: Db, form: Any) -> list[int]:
    return [(await service.get_facility_by_code(db, code)).id for code in list_field(form, "recipients")]


@router.post("/network/facilities/{facility_id}/offerings")
async def create_offering(request: Request, facility_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    service.check_facility_admin(principal, facility_id)

    async def action() -> None:
        data = OfferingIn(kind=text(form, "kind"), department=optional(form, "department"),
                          open_to_all=checked(form, "open_to_all"), recipient_ids=await _recipient_ids(db, form))
        await offerings.create_offering(db, principal, facility_id, data)

    return await _act(request, db, principal, facility_id, action)


@router.post("/network/offerings/{offering_id}")
async def update_offering(request: Request, offering_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    offering = await offerings.get_offering(db, offering_id)
    service.check_facility_admin(principal, offering.facility_id)

    async def action() -> None:
        data = OfferingUpdate(open_to_all=checked(form, "open_to_all"), active=checked(form, "active"),
                              recipient_ids=await _recipient_ids(db, form))
        await offerings.update_offering(db, principal, offering_id, data)

    return await _act(request, db, principal, offering.facility_id, action)


# --- the department list ---------------------------------------------------------------------

async def _departments_page(request: Request, db: Db, principal: CurrentPrincipal,
                            outcome: Outcome | None = None) -> Response:
    outcome = outcome or Outcome()
    return render_page(request, "network/departments.html", {
        "departments": await service.list_departments(db, include_inactive=principal.is_platform_admin),
        "can_admin": principal.is_platform_admin, "error": outcome.error,
        "saved": request.query_params.get("saved")}, outcome.status_code)


@router.get("/network/departments")
async def departments_page(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    return await _departments_page(request, db, principal)


async def _department_act(request: Request, db: Db, principal: CurrentPrincipal, action) -> Response:  # noqa: ANN001
    service.check_network_admin(principal)
    outcome = await attempt(db, action)
    if outcome.error is None:
        return redirect("/network/departments?saved=1")
    return await _departments_page(request, db, principal, outcome)


@router.post("/network/departments")
async def add_catalog_department(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()

    async def action() -> None:
        data = DepartmentIn(code=text(form, "code"), name=text(form, "name"), name_en=text(form, "name_en"))
        await service.add_department(db, principal, data)

    return await _department_act(request, db, principal, action)


@router.post("/network/departments/{code}")
async def update_catalog_department(request: Request, code: str, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()

    async def action() -> None:
        data = DepartmentUpdate(name=text(form, "name"), name_en=text(form, "name_en"), active=checked(form, "active"))
        await service.update_department(db, principal, code, data)

    return await _department_act(request, db, principal, action)


# --- bulk import -----------------------------------------------------------------------------

@router.get("/network/import")
async def import_page(request: Request, principal: CurrentPrincipal) -> Response:
    service.check_network_admin(principal)
    return render_page(request, "network/import.html", {"columns": importer.COLUMNS})


@router.post("/network/import")
async def import_upload(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    service.check_network_admin(principal)
    form = await request.form()
    upload = form.get("file")
    context: dict[str, Any] = {"columns": importer.COLUMNS}
    if upload is None or isinstance(upload, str) or not upload.filename:
        context["problems"] = [importer.Problem(1, _("choose a CSV or JSON file"))]
        return render_page(request, "network/import.html", context, status_code=422)
    context["filename"] = upload.filename
    try:
        async with db.begin_nested():
            context["report"] = await importer.import_facilities(
                db, await upload.read(), upload.filename, principal=principal,
                issue_passwords=checked(form, "issue_passwords"))
    except importer.ImportRejected as exc:
        context["problems"] = exc.problems
        return render_page(request, "network/import.html", context, status_code=422)
    except (CareBridgeError, ValidationError) as exc:
        message = _(exc.message) if isinstance(exc, CareBridgeError) else validation_message(exc)
        context["problems"] = [importer.Problem(1, message)]
        return render_page(request, "network/import.html", context, status_code=422)
    return render_page(request, "network/import.html", context)

