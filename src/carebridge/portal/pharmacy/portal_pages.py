"""The patient's pages, made for a phone: my prescriptions with their status, a refill button on the
chronic ones that can be refilled (or the reason they cannot), "Get my medicine" on approved ones.
The patient acted for comes from the URL (`?patient=`, default the caller's own record) and passes
`access_patient`, so a family member with proxy access sees the same pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.errors import Conflict, NotFound
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.pharmacy import mine as _mine  # noqa: F401 - registers the "my orders" source
from carebridge.portal.pharmacy import refills, service, views
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
Note = Annotated[str, Form(max_length=500)]


def _patient_id(principal: CurrentPrincipal, patient: int | None) -> int:
    chosen = patient if patient is not None else principal.patient_id
    if chosen is None:
        raise NotFound(N_("patient not found"))
    return chosen


@router.get("/portal/prescriptions")
async def my_prescriptions(request: Request, db: Db, principal: CurrentPrincipal,
                           patient: int | None = None) -> Response:
    patient_id = _patient_id(principal, patient)
    rows = await service.patient_prescriptions(db, principal, patient_id)
    summaries = await views.summaries(db, rows)
    refusals = {}
    for row in rows:
        if row.kind == "chronic" and row.refill_of_id is None:
            found = await refills.refusal(db, row)
            refusals[row.id] = _(found.message) if found else None
    asked = await refills.patient_requests(db, rows[0].patient_id) if rows else []
    return render(request, "pharmacy/my_list.html", {
        "summaries": summaries, "refusals": refusals, "requests": asked, "patient_id": patient_id,
        "own": patient_id == principal.patient_id, "state_label": views.refill_state_label})


async def _mine_page(request: Request, db: Db, principal: CurrentPrincipal, prescription_id: int, *,
                     error: str | None = None, status_code: int = 200) -> Response:
    prescription, parties = await service.access_prescription(db, principal, prescription_id, for_patient=True)
    view = await views.describe(db, prescription, set())  # the patient moves nothing on the prescription itself
    asked = [r for r in await refills.patient_requests(db, prescription.patient_id)
             if r.prescription_id == (prescription.refill_of_id or prescription.id)]
    return render(request, "pharmacy/my_prescription.html", {
        "v": view, "requests": asked, "error": error, "state_label": views.refill_state_label,
        "patient_side": bool(parties)}, status_code=status_code)


@router.get("/portal/prescriptions/{prescription_id}")
async def my_prescription(request: Request, db: Db, principal: CurrentPrincipal, prescription_id: int) -> Response:
    return await _mine_page(request, db, principal, prescription_id)


@router.post("/portal/prescriptions/{prescription_id}/refill")
async def ask_refill(request: Request, db: Db, principal: CurrentPrincipal, prescription_id: int,
                     note: Note = "") -> Response:
    try:
        await refills.request_refill(db, principal, prescription_id, note)
    except Conflict as refused:
        await db.rollback()  # the reason is shown on the prescription's page
        return await _mine_page(request, db, principal, prescription_id, error=_(refused.message), status_code=409)
    return RedirectResponse(f"/portal/prescriptions/{prescription_id}?asked=1", status_code=303)


@router.post("/portal/prescriptions/refills/{request_id}/cancel")
async def withdraw_refill(db: Db, principal: CurrentPrincipal, request_id: int) -> Response:
    refill = await refills.decide(db, principal, request_id, "cancel")
    return RedirectResponse(f"/portal/prescriptions/{refill.prescription_id}", status_code=303)
