"""Pages for access: consent (clinician and patient), grants (facility admin), break-the-glass."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.access import emergency, grants
from carebridge.access import service as access
from carebridge.access.grants import GRANT_PURPOSES
from carebridge.audit.queries import facility_names
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit import i18n
from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.records.models import EntryKind
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import is_htmx, render

router = make_router(include_in_schema=False)
KINDS = [k.value for k in EntryKind]
LABELS = {
    "kind": {"encounter": N_("Visits"), "condition": N_("Diagnoses"),
             "observation": N_("Vital signs and lab results"), "medication": N_("Medications"),
             "allergy": N_("Allergies"), "procedure": N_("Procedures"), "document": N_("Documents")},
    "status": {"granted": N_("Sharing allowed"), "refused": N_("Sharing refused"),
               "revoked": N_("Sharing withdrawn")},
    "purpose": {"treatment": N_("Treatment"), "consultation": N_("Consultation"), "referral": N_("Referral"),
                "diagnosis": N_("Diagnosis")},
    "grant": {"active": N_("Active"), "expired": N_("Expired"), "revoked": N_("Revoked")},
    "sex": {"male": N_("Male"), "female": N_("Female"), "other": N_("Other"), "unknown": N_("Unknown")},
}
Text = Annotated[str, Form(max_length=500)]


async def _facility_names(db: Db, ids: set[int]) -> dict[int, str]:
    english = i18n.get_locale() == "en"
    return {fid: names[1 if english else 0] for fid, names in (await facility_names(db, ids)).items()}


# --- consent ---------------------------------------------------------------------------------------


async def _consent_page(request: Request, db: Db, principal: Principal, patient_id: int, *, self_view: bool,
                        error: str | None = None, status_code: int = 200) -> Response:
    history = await access.consent_history(db, principal, patient_id)
    own_grants = await grants.list_patient_grants(db, principal, patient_id) if self_view else []
    return render(request, "access/consent.html", {
        "history": history, "self_view": self_view, "kinds": KINDS, "labels": LABELS, "error": error,
        "grants": own_grants,
        "may_record": history.access.basis in ("registration", "self"),
        "form_action": "/me/consent" if self_view else f"/patients/{patient_id}/consent",
        "saved": request.query_params.get("saved") == "1"}, status_code=status_code)


async def _record_from_form(request: Request, db: Db, principal: Principal, patient_id: int, *, self_view: bool,
                            status: str, scope: str, scope_kinds: list[str], note: str) -> Response:
    try:
        await access.record_consent(db, principal, patient_id, status=status, scope_all=scope != "some",
                                    scope_kinds=scope_kinds, note=note)
    except (InvalidInput, Conflict) as exc:
        return await _consent_page(request, db, principal, patient_id, self_view=self_view, error=_(exc.message),
                                   status_code=exc.status_code)
    target = "/me/consent" if self_view else f"/patients/{patient_id}/consent"
    return RedirectResponse(f"{target}?saved=1", status_code=303)


def _own_patient_id(principal: Principal) -> int:
    if principal.patient_id is None:
        raise Forbidden(N_("this page is for patients"))
    return principal.patient_id


@router.get("/patients/{patient_id}/consent")
async def patient_consent(request: Request, patient_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    return await _consent_page(request, db, principal, patient_id, self_view=False)


@router.post("/patients/{patient_id}/consent")
async def patient_consent_submit(request: Request, patient_id: int, db: Db, principal: CurrentPrincipal,
                                 status: Annotated[str, Form(max_length=20)],
                                 scope: Annotated[str, Form(max_length=10)] = "all",
                                 scope_kinds: Annotated[list[str], Form()] = (), note: Text = "") -> Response:
    return await _record_from_form(request, db, principal, patient_id, self_view=False, status=status,
                                   scope=scope, scope_kinds=list(scope_kinds), note=note)


@router.get("/me/consent")
async def my_consent(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    return await _consent_page(request, db, principal, _own_patient_id(principal), self_view=True)


@router.post("/me/consent")
async def my_consent_submit(request: Request, db: Db, principal: CurrentPrincipal,
                            status: Annotated[str, Form(max_length=20)],
                            scope: Annotated[str, Form(max_length=10)] = "all",
                            scope_kinds: Annotated[list[str], Form()] = (), note: Text = "") -> Response:
    return await _record_from_form(request, db, principal, _own_patient_id(principal), self_view=True,
                                   status=status, scope=scope, scope_kinds=list(scope_kinds), note=note)


# --- grants ----------------------------------------------------------------------------------------


def _managed_facility(principal: Principal, facility_id: int | None) -> int:
    managed = principal.facilities_with(Role.facility_admin)
    if not managed:
        raise Forbidden(N_("only facility administrators can do this"))
    if facility_id is None:
        return min(managed)
    if facility_id not in managed:
        raise NotFound(N_("facility not found"))
    return facility_id


def _end_of_day(value: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(N_("enter the expiry date as YYYY-MM-DD"), details={"field": "expires_on"}) from exc
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), local_zone())


async def _grants_page(request: Request, db: Db, principal: Principal, facility_id: int | None, *,
                       error: str | None = None, form: dict | None = None, status_code: int = 200) -> Response:
    facility_id = _managed_facility(principal, facility_id)
    active_only = request.query_params.get("active_only") == "1"
    page = await grants.list_facility_grants(db, principal, facility_id, active_only=active_only,
                                             cursor=request.query_params.get("cursor") or None)
    managed = principal.facilities_with(Role.facility_admin)
    default_expiry = (dt.datetime.now(local_zone()) + dt.timedelta(days=30)).date().isoformat()
    return render(request, "access/grants.html", {
        "page": page, "facility_id": facility_id, "facilities": await _facility_names(db, managed),
        "active_only": active_only, "purposes": GRANT_PURPOSES, "kinds": KINDS, "labels": LABELS, "error": error,
        "form": form or {"expires_on": default_expiry, "grantee_kind": "facility", "purpose": "treatment"},
        "saved": request.query_params.get("saved")}, status_code=status_code)


@router.get("/grants")
async def grants_page(request: Request, db: Db, principal: CurrentPrincipal,
                      facility_id: int | None = None) -> Response:
    return await _grants_page(request, db, principal, facility_id)


@router.post("/grants")
async def grants_create(request: Request, db: Db, principal: CurrentPrincipal,
                        facility_id: Annotated[int, Form()], mrn: Annotated[str, Form(max_length=40)],
                        grantee_kind: Annotated[str, Form(max_length=10)],
                        grantee: Annotated[str, Form(max_length=64)], purpose: Annotated[str, Form(max_length=20)],
                        expires_on: Annotated[str, Form(max_length=10)],
                        scope: Annotated[str, Form(max_length=10)] = "all",
                        scope_kinds: Annotated[list[str], Form()] = ()) -> Response:
    facility_id = _managed_facility(principal, facility_id)
    form = {"mrn": mrn, "grantee_kind": grantee_kind, "grantee": grantee, "purpose": purpose,
            "expires_on": expires_on, "scope": scope, "scope_kinds": list(scope_kinds)}
    try:
        patient_id = await grants.find_registered_patient(db, principal, facility_id, mrn)
        grantee_ids = await grants.resolve_grantee(db, grantee_kind, grantee)
        await grants.create_grant(db, principal, patient_id, purpose=purpose, expires_at=_end_of_day(expires_on),
                                  scope_all=scope != "some", scope_kinds=list(scope_kinds), **grantee_ids)
    except InvalidInput as exc:
        return await _grants_page(request, db, principal, facility_id, error=_(exc.message), form=form,
                                  status_code=exc.status_code)
    return RedirectResponse(f"/grants?facility_id={facility_id}&saved=created", status_code=303)


@router.post("/grants/{grant_id}/revoke")
async def grants_revoke(request: Request, grant_id: int, db: Db, principal: CurrentPrincipal,
                        reason: Annotated[str, Form(max_length=500)],
                        facility_id: Annotated[int | None, Form()] = None,
                        back: Annotated[str, Form(max_length=20)] = "grants") -> Response:
    try:
        await grants.revoke_grant(db, principal, grant_id, reason)
    except (InvalidInput, Conflict) as exc:
        if back == "consent":
            return await _consent_page(request, db, principal, _own_patient_id(principal), self_view=True,
                                       error=_(exc.message), status_code=exc.status_code)
        return await _grants_page(request, db, principal, facility_id, error=_(exc.message),
                                  status_code=exc.status_code)
    if back == "consent":
        return RedirectResponse("/me/consent?saved=1", status_code=303)
    return RedirectResponse(f"/grants?facility_id={facility_id or ''}&saved=revoked", status_code=303)


# --- break-the-glass -------------------------------------------------------------------------------


def _emergency_context(principal: Principal, **extra: object) -> dict:
    if not principal.is_clinician:
        raise Forbidden(N_("only clinical staff can use emergency access"))
    hours = get_settings().break_glass_hours
    return {"matches": None, "error": None, "national_id": "", "reason": "", "patient_id": None, "labels": LABELS,
            "hours": int(hours) if hours == int(hours) else hours, **extra}


async def _emergency_page(request: Request, db: Db, principal: Principal, status_code: int = 200,
                          **extra: object) -> Response:
    context = _emergency_context(principal, **extra)
    context["open"] = await emergency.my_emergency_access(db, principal)
    context["facilities"] = await _facility_names(db, principal.clinical_facility_ids)
    template = "access/_lookup_result.html" if is_htmx(request) and "matches" in extra else "access/emergency.html"
    return render(request, template, context, status_code=status_code)


@router.get("/emergency")
async def emergency_page(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    return await _emergency_page(request, db, principal)


@router.post("/emergency/lookup")
async def emergency_lookup(request: Request, db: Db, principal: CurrentPrincipal,
                           national_id: Annotated[str, Form(max_length=40)]) -> Response:
    try:
        matches = await emergency.emergency_lookup(db, principal, national_id)
    except (InvalidInput, NotFound) as exc:
        return await _emergency_page(request, db, principal, matches=[], error=_(exc.message),
                                     national_id=national_id, status_code=exc.status_code)
    return await _emergency_page(request, db, principal, matches=matches, national_id=national_id)


@router.post("/emergency/break-glass")
async def emergency_break_glass(request: Request, db: Db, principal: CurrentPrincipal,
                                patient_id: Annotated[int, Form()], facility_id: Annotated[int, Form()],
                                reason: Annotated[str, Form(max_length=500)]) -> Response:
    try:
        glass = await emergency.start_break_glass(db, principal, patient_id, reason, facility_id)
    except InvalidInput as exc:
        return await _emergency_page(request, db, principal, error=_(exc.message), patient_id=patient_id,
                                     reason=reason, status_code=exc.status_code)
    return RedirectResponse(f"/emergency/open/{glass.id}", status_code=303)


@router.get("/emergency/open/{glass_id}")
async def emergency_open(request: Request, glass_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    found = await emergency.my_emergency_access(db, principal, glass_id=glass_id)
    if not found:
        raise NotFound(N_("this emergency access has ended or is not yours"))
    return render(request, "access/emergency_open.html", {"item": found[0]})
