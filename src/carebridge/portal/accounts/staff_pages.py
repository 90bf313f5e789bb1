"""Staff pages (laptop): accounts waiting to be linked to patients registered at my facilities, and
the family permissions of a patient, where a signed paper permission is recorded or withdrawn."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.auth.principal import Principal
from carebridge.errors import CareBridgeError, Forbidden, InvalidInput, NotFound
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.accounts import family, linking
from carebridge.portal.accounts.labels import RELATIONSHIPS, SCOPES, labels_for_templates
from carebridge.records import service as records
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
LINKS = "/portal/staff/links"
NOTICES = {"confirmed": N_("The account is linked to the patient's record."),
           "rejected": N_("Refused. The account is not linked to this patient."),
           "recorded": N_("The permission is recorded; it works once the family member signs in with that phone."),
           "revoked": N_("The permission is withdrawn.")}


def _clinician(principal: Principal) -> None:
    if not principal.is_clinician:
        raise Forbidden(N_("only clinical staff can do this"))


@router.get(LINKS)
async def links_page(request: Request, db: Db, principal: CurrentPrincipal, q: str = "",
                     done: str | None = None) -> Response:
    _clinician(principal)
    found, search_error = None, None
    if q.strip():
        try:
            found = (await records.search_patients(db, principal, q, limit=20)).items
        except InvalidInput as exc:
            search_error = _(exc.message)
    return render(request, "portal/staff_links.html", {
        **labels_for_templates(), "rows": await linking.pending_claims(db, principal), "q": q, "found": found,
        "search_error": search_error, "notice": _(NOTICES[done]) if done in NOTICES else None})


@router.post(LINKS + "/{claim_id}/{decision}")
async def decide(request: Request, db: Db, principal: CurrentPrincipal, claim_id: int, decision: str,
                 note: Annotated[str, Form(max_length=500)] = "") -> Response:
    if decision not in ("confirm", "reject"):
        raise NotFound(N_("there is no such page or resource"))
    await linking.decide_claim(db, principal, claim_id, confirm=decision == "confirm", note=note)
    return RedirectResponse(f"{LINKS}?done={'confirmed' if decision == 'confirm' else 'rejected'}", status_code=303)


async def _family_page(request: Request, db: Db, principal: Principal, patient_id: int, *, error: str | None = None,
                       values: dict | None = None, status_code: int = 200, done: str | None = None) -> Response:
    access, rows = await family.caregivers_of(db, principal, patient_id)
    if access.basis != "registration":
        raise NotFound(N_("patient not found"))
    return render(request, "portal/staff_family.html", {
        **labels_for_templates(), "patient": access.patient, "rows": rows, "error": error, "values": values or {},
        "relationships": [(k.value, _(v)) for k, v in RELATIONSHIPS.items()],
        "scopes": [(k.value, _(v)) for k, v in SCOPES.items()],
        "notice": _(NOTICES[done]) if done in NOTICES else None}, status_code=status_code)


@router.get("/portal/staff/patients/{patient_id}/family")
async def family_page(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int,
                      done: str | None = None) -> Response:
    _clinician(principal)
    return await _family_page(request, db, principal, patient_id, done=done)


@router.post("/portal/staff/patients/{patient_id}/family")
async def record_paper(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int,
                       phone: Annotated[str, Form(max_length=40)], reference: Annotated[str, Form(max_length=200)],
                       name: Annotated[str, Form(max_length=100)] = "", relationship: Annotated[str, Form()] = "other",
                       scope: Annotated[str, Form()] = "all") -> Response:
    data = family.CaregiverInput(phone=phone, name=name, relationship=relationship, scope=scope)
    try:
        async with db.begin_nested():
            await family.record_paper_permission(db, principal, patient_id, data, reference)
    except CareBridgeError as exc:
        if isinstance(exc, NotFound):
            raise
        db.expunge_all()
        return await _family_page(request, db, principal, patient_id, error=_(exc.message),
                                  values={**data.__dict__, "reference": reference}, status_code=exc.status_code)
    return RedirectResponse(f"/portal/staff/patients/{patient_id}/family?done=recorded", status_code=303)


@router.post("/portal/staff/permissions/{permission_id}/revoke")
async def revoke(request: Request, db: Db, principal: CurrentPrincipal, permission_id: int,
                 reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    permission = await family.revoke(db, principal, permission_id, reason)
    return RedirectResponse(f"/portal/staff/patients/{permission.patient_id}/family?done=revoked", status_code=303)
