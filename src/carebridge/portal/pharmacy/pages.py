"""Pages for doctors (/prescriptions: write, revise, cancel, refill requests) and pharmacists
(/pharmacy/review: the queue and the review page). Patients' pages are in portal_pages.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.access.models import Purpose
from carebridge.access.service import WRITE, access_patient
from carebridge.errors import InvalidInput
from carebridge.kit.i18n import gettext as _
from carebridge.portal.pharmacy import catalogue, checks, forms, portal_pages, refills, service, views
from carebridge.portal.pharmacy import mine as _mine  # noqa: F401 - registers the "my orders" source
from carebridge.portal.pharmacy import prices as _prices  # noqa: F401 - registers the price list source
from carebridge.portal.pharmacy.lifecycle import NEEDS_REASON, Party, State
from carebridge.portal.pharmacy.models import Prescription
from carebridge.records import service as records
from carebridge.records.models import Patient
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
Reason = Annotated[str, Form(max_length=500)]


def _common() -> dict:
    return {"labels": views.ACTION_LABELS, "needs_reason": {a.value for a in NEEDS_REASON},
            "severity_labels": checks.SEVERITY_LABELS, **forms.vocabulary()}


# ---- lists --------------------------------------------------------------------------------------

@router.get("/prescriptions")
async def prescriptions_page(request: Request, db: Db, principal: CurrentPrincipal, state: str = "") -> Response:
    rows = await service.facility_prescriptions(db, principal, state=state)
    waiting = await refills.inbox(db, principal)
    return render(request, "pharmacy/doctor_list.html", {
        "summaries": await views.summaries(db, rows, with_names=True), "state": state, "refills_waiting": len(waiting),
        "states": ["", State.returned.value, State.pending_review.value, State.approved.value],
        "state_names": views.STATE_LABELS, **_common()})


@router.get("/pharmacy/review")
async def review_queue_page(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    rows = await service.review_queue(db, principal)
    return render(request, "pharmacy/review_queue.html", {
        "summaries": await views.summaries(db, rows, with_names=True), "waiting_since": views.waiting_since,
        **_common()})


# ---- writing ------------------------------------------------------------------------------------

async def _form(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int, *, visit: int | None = None,
                state: forms.FormState | None = None, error: str | None = None, status_code: int = 200) -> Response:
    access = await access_patient(db, principal, patient_id, purpose=Purpose.treatment, action="prescribe_form",
                                  mode=WRITE, resource_type="Prescription")
    state = state or forms.FormState()
    return render(request, "pharmacy/write.html", {
        "patient": access.patient, "visit": visit, "form": state, "rows": forms.padded(state.rows),
        "groups": await forms.catalogue_groups(db), "action": "/prescriptions/new", "error": error,
        "title": _("Write a prescription"), "show_header": True, **_common()}, status_code=status_code)


@router.get("/prescriptions/new")
async def new_prescription_page(request: Request, db: Db, principal: CurrentPrincipal, patient: int | None = None,
                                visit: int | None = None, q: str = "") -> Response:
    if patient is not None:
        return await _form(request, db, principal, patient, visit=visit)
    found = await records.search_patients(db, principal, q, limit=20) if q.strip() else None
    return render(request, "pharmacy/choose_patient.html", {"q": q, "found": found})


@router.post("/prescriptions/new")
async def write_prescription(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    state = forms.state_from(form)
    given = str(form.get("patient_id", ""))
    patient_id = int(given) if given.isdigit() else 0  # no such patient: the same 404 as any other
    visit = str(form.get("visit_id", "")).strip()
    try:
        data = service.PrescriptionInput(
            patient_id=patient_id, items=forms.items_from(state.rows), kind=state.kind, diagnosis=state.diagnosis,
            visit_id=int(visit) if visit.isdigit() else None, note=state.note,
            refills_allowed=int(state.refills_allowed) if state.refills_allowed.isdigit() else 0,
            valid_days=int(state.valid_days) if state.valid_days.isdigit() else None)
        prescription = await service.write_prescription(db, principal, data)
    except InvalidInput as problem:
        await db.rollback()  # nothing of the refused prescription is kept; the form is shown again
        return await _form(request, db, principal, patient_id, visit=int(visit) if visit.isdigit() else None,
                           state=state, error=_(problem.message), status_code=422)
    return RedirectResponse(f"/prescriptions/{prescription.id}", status_code=303)


@router.get("/prescriptions/suggest")
async def suggest(request: Request, db: Db, principal: CurrentPrincipal, drug_code: str = "", dose: str = "",
                  frequency: str = "", duration_days: str = "") -> Response:
    """The quantity a line needs (htmx, beside each line of the form)."""
    drug = (await catalogue.drugs_by_code(db, {drug_code})).get(drug_code)
    context = {"drug": drug, "quantity": None}
    try:
        if drug and frequency in catalogue.FREQUENCIES:
            context["quantity"] = catalogue.suggest_quantity(drug, float(dose), frequency, int(duration_days))
            context["daily"] = checks.number(catalogue.daily_dose(float(dose), frequency))
            context["pack"] = checks.PACKS.get(drug.pack_unit, ["", ""])[1 if catalogue.english() else 0]
    except ValueError:
        pass
    return render(request, "pharmacy/_suggest.html", {**context, **forms.vocabulary()})


# ---- one prescription ---------------------------------------------------------------------------

async def _detail(request: Request, db: Db, principal: CurrentPrincipal, prescription_id: int,
                  template: str) -> Response:
    prescription, parties = await service.access_prescription(db, principal, prescription_id)
    view = await views.describe(db, prescription, parties)
    return render(request, template, {"v": view, **_common()})


@router.get("/prescriptions/refills")
async def refill_inbox_page(request: Request, db: Db, principal: CurrentPrincipal,
                            state: str = "requested") -> Response:
    rows = await refills.inbox(db, principal, state=state)
    orders = {r.prescription_id for r in rows}
    summaries = {s.prescription.id: s for s in await views.summaries(db, await _orders(db, orders), with_names=True)}
    return render(request, "pharmacy/refill_inbox.html", {
        "requests": rows, "summaries": summaries, "state": state, "state_label": views.refill_state_label,
        "waiting_since": views.waiting_since, **_common()})


async def _orders(db: Db, ids: set[int]) -> list[Prescription]:
    return list((await db.scalars(select(Prescription).where(Prescription.id.in_(ids)))).all()) if ids else []


@router.get("/prescriptions/refills/{request_id}")
async def refill_page(request: Request, db: Db, principal: CurrentPrincipal, request_id: int) -> Response:
    refill, parties = await refills.access_request(db, principal, request_id)
    order, order_parties = await service.access_prescription(db, principal, refill.prescription_id)
    return render(request, "pharmacy/refill.html", {
        "r": refill, "v": await views.describe(db, order, order_parties), "state_label": views.refill_state_label,
        "may_decide": bool(parties & {Party.doctor}) and refill.state == "requested", **_common()})


async def _refill_form(request: Request, db: Db, principal: CurrentPrincipal, request_id: int, *,
                       state: forms.FormState | None = None, error: str | None = None,
                       status_code: int = 200) -> Response:
    refill, _parties = await refills.access_request(db, principal, request_id)
    order, _order_parties = await service.access_prescription(db, principal, refill.prescription_id)
    if state is None:
        version = await service.current_version(db, order)
        state = forms.FormState(rows=forms.rows_of(await service.items_of(db, version.id)))
    return render(request, "pharmacy/write.html", {
        "patient": await db.get(Patient, order.patient_id), "form": state, "rows": forms.padded(state.rows),
        "groups": await forms.catalogue_groups(db, chronic_only=True), "error": error,
        "action": f"/prescriptions/refills/{request_id}/edit", "title": _("Edit, then approve the refill"),
        "show_header": False, **_common()}, status_code=status_code)


@router.get("/prescriptions/refills/{request_id}/edit")
async def edit_refill_page(request: Request, db: Db, principal: CurrentPrincipal, request_id: int) -> Response:
    return await _refill_form(request, db, principal, request_id)


@router.post("/prescriptions/refills/{request_id}/edit")
async def approve_edited_refill(request: Request, db: Db, principal: CurrentPrincipal, request_id: int) -> Response:
    state = forms.state_from(await request.form())
    try:
        refill = await refills.decide(db, principal, request_id, "approve", items=forms.items_from(state.rows),
                                      note=state.note)
    except InvalidInput as problem:
        await db.rollback()
        return await _refill_form(request, db, principal, request_id, state=state, error=_(problem.message),
                                  status_code=422)
    return RedirectResponse(f"/prescriptions/{refill.new_prescription_id}", status_code=303)


@router.post("/prescriptions/refills/{request_id}/{action}")
async def decide_refill(db: Db, principal: CurrentPrincipal, request_id: int, action: str,
                        reason: Reason = "") -> Response:
    refill = await refills.decide(db, principal, request_id, action, reason=reason)
    if refill.new_prescription_id:
        return RedirectResponse(f"/prescriptions/{refill.new_prescription_id}", status_code=303)
    return RedirectResponse(f"/prescriptions/refills/{request_id}", status_code=303)


@router.get("/prescriptions/{prescription_id}")
async def prescription_page(request: Request, db: Db, principal: CurrentPrincipal, prescription_id: int) -> Response:
    return await _detail(request, db, principal, prescription_id, "pharmacy/prescription.html")


@router.get("/pharmacy/review/{prescription_id}")
async def review_page(request: Request, db: Db, principal: CurrentPrincipal, prescription_id: int) -> Response:
    return await _detail(request, db, principal, prescription_id, "pharmacy/review.html")


async def _revise_form(request: Request, db: Db, principal: CurrentPrincipal, prescription_id: int, *,
                       state: forms.FormState | None = None, error: str | None = None,
                       status_code: int = 200) -> Response:
    prescription, parties = await service.access_prescription(db, principal, prescription_id, action="revise_form")
    view = await views.describe(db, prescription, parties)
    state = state or forms.FormState(rows=forms.rows_of([line.item for line in view.current.lines]),
                                     kind=prescription.kind, diagnosis=prescription.diagnosis)
    return render(request, "pharmacy/write.html", {
        "patient": view.patient, "form": state, "rows": forms.padded(state.rows), "v": view,
        "groups": await forms.catalogue_groups(db, chronic_only=prescription.kind == "chronic"), "error": error,
        "action": f"/prescriptions/{prescription_id}/revise", "title": _("Revise the returned prescription"),
        "show_header": False, **_common()}, status_code=status_code)


@router.get("/prescriptions/{prescription_id}/revise")
async def revise_page(request: Request, db: Db, principal: CurrentPrincipal, prescription_id: int) -> Response:
    return await _revise_form(request, db, principal, prescription_id)


@router.post("/prescriptions/{prescription_id}/revise")
async def revise(request: Request, db: Db, principal: CurrentPrincipal, prescription_id: int) -> Response:
    state = forms.state_from(await request.form())
    try:
        data = service.PrescriptionInput(patient_id=0, items=forms.items_from(state.rows), diagnosis=state.diagnosis,
                                         note=state.note)
        await service.resubmit(db, principal, prescription_id, data)
    except InvalidInput as problem:
        await db.rollback()
        return await _revise_form(request, db, principal, prescription_id, state=state, error=_(problem.message),
                                  status_code=422)
    return RedirectResponse(f"/prescriptions/{prescription_id}", status_code=303)


@router.post("/prescriptions/{prescription_id}/actions/{action}")
async def prescription_action(db: Db, principal: CurrentPrincipal, prescription_id: int, action: str,
                              reason: Reason = "") -> Response:
    if action == "cancel":
        await service.cancel(db, principal, prescription_id, reason)
        return RedirectResponse(f"/prescriptions/{prescription_id}", status_code=303)
    await service.review(db, principal, prescription_id, action, reason)
    return RedirectResponse("/pharmacy/review", status_code=303)


routers = [router, portal_pages.router]  # tests include these; app.py names them
