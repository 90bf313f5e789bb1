"""Pages for records: patient search, registration with the duplicate check, the patient page
(header, trend charts, entry forms, timeline) and a patient's own read-only record. They call the
same services as the JSON API; entry forms, uploads, voiding and merging live in entry_pages.py."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from carebridge.access.models import Purpose
from carebridge.access.service import WRITE_BASES, access_patient
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.i18n import N_
from carebridge.records import entry_pages, service
from carebridge.records.models import Sex
from carebridge.records.page_parts import (
    TIMELINE_PAGE,
    entry_label,
    error_view,
    form_fields,
    parse_form,
    patient_context,
    render_patient,
)
from carebridge.records.schemas import PatientIn, PatientUpdate, RegistrationIn
from carebridge.records.views import facility_names
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import is_htmx, render

router = make_router(include_in_schema=False)
router.include_router(entry_pages.router)
SEARCH_PAGE = 20


# ---- search ---------------------------------------------------------------------------------

@router.get("/patients")
async def search_page(request: Request, db: Db, principal: CurrentPrincipal, q: str = "",
                      cursor: str | None = None) -> Response:
    page, error = None, None
    if q.strip():
        try:
            page = await service.search_patients(db, principal, q, limit=SEARCH_PAGE, cursor=cursor)
        except InvalidInput as exc:
            error = error_view(exc)
    elif not (principal.is_clinician or principal.patient_id is not None):
        raise Forbidden(N_("only clinical staff and patients can search for patients"))
    context = {"q": q, "page": page, "error": error, "more": bool(cursor)}
    if is_htmx(request):
        return render(request, "records/_results.html", context)
    return render(request, "records/search.html", context)


# ---- registration ---------------------------------------------------------------------------

def _registration_context(principal: Principal, names: dict[int, str], values: dict, **extra) -> dict:
    return {"values": values, "sexes": list(Sex), "facilities": sorted(names.items(), key=lambda kv: kv[1]),
            "error": None, "duplicates": None, "existing": None, **extra}


@router.get("/patients/new")
async def registration_form(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    if not principal.is_clinician:
        raise Forbidden(N_("only clinical staff can register patients"))
    names = await facility_names(db, principal.clinical_facility_ids)
    return render(request, "records/new.html", _registration_context(principal, names, {}))


@router.post("/patients/new")
async def register(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    fields = form_fields(await request.form())
    fields["confirm_not_duplicate"] = fields.get("confirm_not_duplicate") == "1"
    names = await facility_names(db, principal.clinical_facility_ids)
    try:
        async with db.begin_nested():
            patient = await service.register_patient(db, principal, parse_form(PatientIn, fields))
    except (InvalidInput, Conflict) as exc:
        db.expunge_all()
        details = exc.details if isinstance(exc.details, dict) else {}
        context = _registration_context(
            principal, names, fields, error=error_view(exc),
            duplicates=details.get("candidates") if exc.code == "possible_duplicates" else None,
            existing=details.get("patient") if exc.code == "duplicate_national_id" else None)
        return render(request, "records/new.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


@router.post("/patients/{patient_id}/register-here")
async def register_here(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int) -> Response:
    fields = form_fields(await request.form())
    data = parse_form(RegistrationIn, {k: v for k, v in fields.items()
                                       if k in RegistrationIn.model_fields})
    registration = await service.register_at_facility(db, principal, patient_id, data)
    return RedirectResponse(f"/patients/{registration.patient_id}", status_code=303)


# ---- the patient page -----------------------------------------------------------------------

@router.get("/patients/{patient_id}")
async def patient_page(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int) -> Response:
    return await render_patient(request, db, principal, patient_id, added=request.query_params.get("added"))


@router.get("/patients/{patient_id}/timeline")
async def timeline_fragment(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int,
                            kind: str = "", facility_id: str = "", cursor: str | None = None) -> Response:
    """The timeline items (htmx): after a filter change, or the next page for 'load more'."""
    access = await access_patient(db, principal, patient_id, action="read", resource_type="Timeline")
    return await _timeline_items(request, db, access, f"/patients/{access.patient.id}/timeline",
                                 kind, facility_id, cursor, readonly=False)


async def _timeline_items(request: Request, db: Db, access, url: str, kind: str, facility_id: str,  # noqa: ANN001
                          cursor: str | None, *, readonly: bool) -> Response:
    page = await service.timeline_for(db, access, kinds=service.check_kinds([kind]),
                                      facility_id=int(facility_id) if facility_id.isdigit() else None,
                                      limit=TIMELINE_PAGE, cursor=cursor)
    return render(request, "records/_timeline_items.html", {
        "page": page, "entry_label": entry_label, "timeline_url": url,
        "can_write": access.basis in WRITE_BASES and not readonly,
        "filters": {"kind": kind, "facility_id": facility_id}})


# ---- demographics ---------------------------------------------------------------------------

@router.get("/patients/{patient_id}/edit")
async def edit_form(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int) -> Response:
    access = await access_patient(db, principal, patient_id, action="read", resource_type="Patient")
    patient = await service.patient_out_for(db, access)
    if not patient.can_write:
        raise NotFound(N_("patient not found"))
    values = patient.model_dump(include={"name", "name_en", "sex", "birth_date", "national_id", "phone", "address"})
    return render(request, "records/edit.html", {"patient": patient, "values": values, "sexes": list(Sex),
                                                 "error": None})


@router.post("/patients/{patient_id}/edit")
async def edit(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int) -> Response:
    raw = {k: v.strip() for k, v in (await request.form()).items() if k != "csrf_token" and isinstance(v, str)}
    fields = {k: (v or None) if k in ("national_id", "birth_date", "sex") else v for k, v in raw.items()}
    try:
        async with db.begin_nested():
            await service.update_patient(db, principal, patient_id, parse_form(PatientUpdate, fields))
    except (InvalidInput, Conflict) as exc:
        db.expunge_all()
        access = await access_patient(db, principal, patient_id, action="read", resource_type="Patient")
        patient = await service.patient_out_for(db, access)
        return render(request, "records/edit.html", {"patient": patient, "values": raw, "sexes": list(Sex),
                                                     "error": error_view(exc)}, status_code=exc.status_code)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


# ---- a patient's own record -----------------------------------------------------------------

@router.get("/me/record")
async def my_record(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    access = await _own_record(db, principal, "Patient")
    context = await patient_context(db, principal, access, timeline_url="/me/record/timeline", readonly=True)
    return render(request, "records/patient.html", {**context, "own_record": True})


@router.get("/me/record/timeline")
async def my_timeline(request: Request, db: Db, principal: CurrentPrincipal, kind: str = "",
                      facility_id: str = "", cursor: str | None = None) -> Response:
    access = await _own_record(db, principal, "Timeline")
    return await _timeline_items(request, db, access, "/me/record/timeline", kind, facility_id, cursor,
                                 readonly=True)


async def _own_record(db: Db, principal: Principal, resource_type: str):  # noqa: ANN202 - PatientAccess
    if principal.patient_id is None:
        raise NotFound(N_("there is no patient record linked to your account"))
    return await access_patient(db, principal, principal.patient_id, purpose=Purpose.patient_self,
                                action="read", resource_type=resource_type)
