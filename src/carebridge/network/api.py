"""JSON routes for the network under /api/v1: parse, call the service, return a schema.

Everyone signed in may read the directory; changes need a platform administrator, or the
facility administrator of the facility concerned (the services decide)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated

from fastapi import File, Form, Query, UploadFile
from fastapi.responses import Response

from carebridge.kit.clock import utcnow
from carebridge.network import importer, offerings, practitioners, service
from carebridge.network.models import ServiceKind, Tier, Title
from carebridge.network.schemas import (
    DepartmentIn,
    DepartmentOut,
    DepartmentUpdate,
    FacilityDetailOut,
    FacilityIn,
    FacilityOut,
    FacilityUpdate,
    HubLinkIn,
    HubLinkOut,
    ImportReportOut,
    OfferingIn,
    OfferingOut,
    OfferingUpdate,
    Page,
    PracticeSiteIn,
    PracticeSiteOut,
    PractitionerIn,
    PractitionerOut,
    PractitionerUpdate,
    ProviderOut,
    ShiftIn,
    ShiftOut,
    ShiftUpdate,
)
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["network"])
Limit = Annotated[int, Query(ge=1, le=200)]


# --- facilities ------------------------------------------------------------------------------

@router.get("/facilities", response_model=Page[FacilityOut], summary="List and search facilities")
async def list_facilities(
    db: Db, _principal: CurrentPrincipal, tier: Tier | None = None,
    region: Annotated[str | None, Query(description="province, city or county code")] = None,
    hub_id: Annotated[int | None, Query(description="only members linked to this hub")] = None,
    q: Annotated[str | None, Query(max_length=100, description="name, English name or code")] = None,
    include_inactive: bool = False, cursor: str | None = None, limit: Limit = 50,
) -> Page[FacilityOut]:
    page = await service.list_facilities(db, tier=tier, region=region, hub_id=hub_id, q=q,
                                         include_inactive=include_inactive, cursor=cursor, limit=limit)
    return Page[FacilityOut](items=[FacilityOut.model_validate(f) for f in page.items], next_cursor=page.next_cursor)


async def _detail(db: Db, facility_id: int) -> FacilityDetailOut:
    facility = await service.get_facility(db, facility_id)
    return FacilityDetailOut.model_validate({
        **FacilityOut.model_validate(facility).model_dump(),
        "hubs": [HubLinkOut.model_validate(h) for h in await service.list_hubs(db, facility.id)],
        "departments": [DepartmentOut.model_validate(d) for d in await service.facility_departments(db, facility.id)],
        "members": (await service.member_counts(db, [facility.id])).get(facility.id, 0),
    })


@router.post("/facilities", response_model=FacilityDetailOut, status_code=201, summary="Create a facility")
async def create_facility(body: FacilityIn, db: Db, principal: CurrentPrincipal) -> FacilityDetailOut:
    facility = await service.create_facility(db, principal, body)
    return await _detail(db, facility.id)


@router.get("/facilities/{facility_id}", response_model=FacilityDetailOut, summary="One facility")
async def get_facility(facility_id: int, db: Db, _principal: CurrentPrincipal) -> FacilityDetailOut:
    return await _detail(db, facility_id)


@router.patch("/facilities/{facility_id}", response_model=FacilityDetailOut, summary="Change a facility")
async def update_facility(facility_id: int, body: FacilityUpdate, db: Db,
                          principal: CurrentPrincipal) -> FacilityDetailOut:
    await service.update_facility(db, principal, facility_id, body)
    return await _detail(db, facility_id)


@router.post("/facilities/{facility_id}/deactivate", response_model=FacilityDetailOut,
             summary="Deactivate a facility (it stays in the records, hidden from the directory)")
async def deactivate_facility(facility_id: int, db: Db, principal: CurrentPrincipal) -> FacilityDetailOut:
    await service.deactivate_facility(db, principal, facility_id)
    return await _detail(db, facility_id)


@router.get("/facilities/{facility_id}/hubs", response_model=list[HubLinkOut], summary="A facility's hubs")
async def list_hubs(facility_id: int, db: Db, _principal: CurrentPrincipal) -> list[HubLinkOut]:
    await service.get_facility(db, facility_id)
    return [HubLinkOut.model_validate(h) for h in await service.list_hubs(db, facility_id)]


@router.post("/facilities/{facility_id}/hubs", response_model=list[HubLinkOut], status_code=201,
             summary="Link a facility to a higher-tier hub")
async def add_hub(facility_id: int, body: HubLinkIn, db: Db, principal: CurrentPrincipal) -> list[HubLinkOut]:
    await service.add_hub_link(db, principal, facility_id, body.hub_id, body.alliance)
    return [HubLinkOut.model_validate(h) for h in await service.list_hubs(db, facility_id)]


@router.delete("/facilities/{facility_id}/hubs/{link_id}", status_code=204, summary="Remove a hub link")
async def remove_hub(facility_id: int, link_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    await service.remove_hub_link(db, principal, facility_id, link_id)
    return Response(status_code=204)


# --- departments -----------------------------------------------------------------------------

@router.get("/departments", response_model=list[DepartmentOut], summary="The department list")
async def list_departments(db: Db, _principal: CurrentPrincipal, include_inactive: bool = False) -> list[DepartmentOut]:
    return [DepartmentOut.model_validate(d) for d in await service.list_departments(db, include_inactive)]


@router.post("/departments", response_model=DepartmentOut, status_code=201, summary="Add a department")
async def add_department(body: DepartmentIn, db: Db, principal: CurrentPrincipal) -> DepartmentOut:
    return DepartmentOut.model_validate(await service.add_department(db, principal, body))


@router.patch("/departments/{code}", response_model=DepartmentOut, summary="Rename or (de)activate a department")
async def update_department(code: str, body: DepartmentUpdate, db: Db, principal: CurrentPrincipal) -> DepartmentOut:
    return DepartmentOut.model_validate(await service.update_department(db, principal, code, body))


@router.get("/facilities/{facility_id}/departments", response_model=list[DepartmentOut],
            summary="A facility's departments")
async def facility_departments(facility_id: int, db: Db, _principal: CurrentPrincipal) -> list[DepartmentOut]:
    await service.get_facility(db, facility_id)
    return [DepartmentOut.model_validate(d) for d in await service.facility_departments(db, facility_id)]


@router.put("/facilities/{facility_id}/departments/{code}", response_model=DepartmentOut,
            summary="Add a department to a facility")
async def add_facility_department(facility_id: int, code: str, db: Db, principal: CurrentPrincipal) -> DepartmentOut:
    return DepartmentOut.model_validate(await service.add_facility_department(db, principal, facility_id, code))


@router.delete("/facilities/{facility_id}/departments/{code}", status_code=204,
               summary="Remove a department from a facility")
async def remove_facility_department(facility_id: int, code: str, db: Db, principal: CurrentPrincipal) -> Response:
    await service.remove_facility_department(db, principal, facility_id, code)
    return Response(status_code=204)


# --- services offered ------------------------------------------------------------------------

@router.get("/facilities/{facility_id}/offerings", response_model=list[OfferingOut],
            summary="Remote services a facility offers")
async def list_offerings(facility_id: int, db: Db, _principal: CurrentPrincipal,
                         include_inactive: bool = False) -> list[OfferingOut]:
    await service.get_facility(db, facility_id)
    views = await offerings.list_offerings(db, facility_id, include_inactive)
    return [OfferingOut.model_validate(v) for v in views]


@router.post("/facilities/{facility_id}/offerings", response_model=OfferingOut, status_code=201,
             summary="Offer a remote service")
async def create_offering(facility_id: int, body: OfferingIn, db: Db, principal: CurrentPrincipal) -> OfferingOut:
    return OfferingOut.model_validate(await offerings.create_offering(db, principal, facility_id, body))


@router.patch("/offerings/{offering_id}", response_model=OfferingOut, summary="Change or stop a service offering")
async def update_offering(offering_id: int, body: OfferingUpdate, db: Db, principal: CurrentPrincipal) -> OfferingOut:
    return OfferingOut.model_validate(await offerings.update_offering(db, principal, offering_id, body))


@router.get("/service-providers", response_model=list[ProviderOut],
            summary="Which facilities offer a service (for a specialty) to a facility, nearest higher tier first")
async def find_providers(
    db: Db, _principal: CurrentPrincipal, kind: ServiceKind, for_facility_id: int,
    specialty: Annotated[str | None, Query(description="department code")] = None, limit: Limit = 20,
) -> list[ProviderOut]:
    matches = await offerings.find_service_providers(db, kind=kind, for_facility_id=for_facility_id,
                                                     specialty=specialty, limit=limit)
    return [ProviderOut.model_validate(m) for m in matches]


# --- practitioners ---------------------------------------------------------------------------

@router.get("/practitioners", response_model=Page[PractitionerOut], summary="Practitioner directory")
async def list_practitioners(
    db: Db, _principal: CurrentPrincipal,
    specialty: Annotated[str | None, Query(description="department code")] = None,
    facility_id: int | None = None, title: Title | None = None,
    language: Annotated[str | None, Query(max_length=20, description="language tag, e.g. zh, en, yue")] = None,
    on_duty: Annotated[bool, Query(description="only those on duty now")] = False,
    q: Annotated[str | None, Query(max_length=100, description="name or license number")] = None,
    cursor: str | None = None, limit: Limit = 50,
) -> Page[PractitionerOut]:
    page = await practitioners.list_practitioners(db, specialty=specialty, facility_id=facility_id, title=title,
                                                  language=language, on_duty=on_duty, q=q, cursor=cursor,
                                                  limit=limit)
    return Page[PractitionerOut](items=[PractitionerOut.model_validate(v) for v in page.items],
                                 next_cursor=page.next_cursor)


@router.post("/practitioners", response_model=PractitionerOut, status_code=201, summary="Register a practitioner")
async def create_practitioner(body: PractitionerIn, db: Db, principal: CurrentPrincipal) -> PractitionerOut:
    return PractitionerOut.model_validate(await practitioners.create_practitioner(db, principal, body))


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerOut, summary="One practitioner")
async def get_practitioner(practitioner_id: int, db: Db, _principal: CurrentPrincipal) -> PractitionerOut:
    return PractitionerOut.model_validate(await practitioners.practitioner_view(db, practitioner_id))


@router.patch("/practitioners/{practitioner_id}", response_model=PractitionerOut, summary="Change a practitioner")
async def update_practitioner(practitioner_id: int, body: PractitionerUpdate, db: Db,
                              principal: CurrentPrincipal) -> PractitionerOut:
    return PractitionerOut.model_validate(
        await practitioners.update_practitioner(db, principal, practitioner_id, body))


@router.put("/practitioners/{practitioner_id}/sites", response_model=PracticeSiteOut,
            summary="Add a practice site (or change its department)")
async def add_site(practitioner_id: int, body: PracticeSiteIn, db: Db, principal: CurrentPrincipal) -> PracticeSiteOut:
    site = await practitioners.add_practice_site(db, principal, practitioner_id, body.facility_id, body.department)
    return PracticeSiteOut.model_validate(site)


@router.delete("/practitioners/{practitioner_id}/sites/{facility_id}", status_code=204,
               summary="Remove a practice site")
async def remove_site(practitioner_id: int, facility_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    await practitioners.remove_practice_site(db, principal, practitioner_id, facility_id)
    return Response(status_code=204)


@router.get("/facilities/{facility_id}/on-duty", response_model=list[PractitionerOut],
            summary="Practitioners on duty at a facility now")
async def on_duty(facility_id: int, db: Db, _principal: CurrentPrincipal) -> list[PractitionerOut]:
    await service.get_facility(db, facility_id)
    return [PractitionerOut.model_validate(v) for v in await practitioners.on_duty_now(db, facility_id)]


# --- rosters ---------------------------------------------------------------------------------

@router.get("/practitioners/{practitioner_id}/shifts", response_model=list[ShiftOut],
            summary="A practitioner's shifts overlapping a window (default: the next 14 days)")
async def list_shifts(practitioner_id: int, db: Db, _principal: CurrentPrincipal,
                      start: dt.datetime | None = None, end: dt.datetime | None = None) -> list[ShiftOut]:
    await practitioners.get_practitioner(db, practitioner_id)
    start = _aware(start) or utcnow() - dt.timedelta(days=1)
    end = _aware(end) or start + dt.timedelta(days=15)
    return [ShiftOut.model_validate(s) for s in await practitioners.list_shifts(db, practitioner_id, start, end)]


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


@router.post("/practitioners/{practitioner_id}/shifts", response_model=ShiftOut, status_code=201,
             summary="Add a duty shift")
async def add_shift(practitioner_id: int, body: ShiftIn, db: Db, principal: CurrentPrincipal) -> ShiftOut:
    return ShiftOut.model_validate(await practitioners.add_shift(db, principal, practitioner_id, body))


@router.patch("/shifts/{shift_id}", response_model=ShiftOut, summary="Move a duty shift")
async def update_shift(shift_id: int, body: ShiftUpdate, db: Db, principal: CurrentPrincipal) -> ShiftOut:
    return ShiftOut.model_validate(await practitioners.update_shift(db, principal, shift_id, body))


@router.delete("/shifts/{shift_id}", status_code=204, summary="Remove a duty shift")
async def delete_shift(shift_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    await practitioners.delete_shift(db, principal, shift_id)
    return Response(status_code=204)


# --- bulk onboarding -------------------------------------------------------------------------

@router.post("/network/import", response_model=ImportReportOut,
             summary="Import facilities, departments and admins from one CSV or JSON file (platform admin)",
             description=importer.__doc__)
async def import_facilities(
    db: Db, principal: CurrentPrincipal, file: Annotated[UploadFile, File(description="CSV or JSON")],
    issue_passwords: Annotated[bool, Form(description="return one-time passwords for the new admins")] = False,
) -> ImportReportOut:
    service.check_network_admin(principal)
    report = await importer.import_facilities(db, await file.read(), file.filename or "", principal=principal,
                                              issue_passwords=issue_passwords)
    return ImportReportOut(facilities=report.facilities, hub_links=report.hub_links,
                           department_links=report.department_links, admins=report.admins,
                           seconds=report.seconds, summary=report.summary(),
                           credentials=[asdict(c) for c in report.credentials])
