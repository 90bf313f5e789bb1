"""Form handlers of the patient page: add an entry of each kind, upload a document, void an entry,
merge or tell apart look-alike records. A rejected form re-renders the patient page with the
message and the user's input; its work is undone with a savepoint so nothing is half-written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from carebridge.errors import CareBridgeError, InvalidInput, NotFound
from carebridge.kit.i18n import N_
from carebridge.records import service
from carebridge.records.page_parts import error_view, form_fields, local_time, parse_form, render_patient
from carebridge.records.schemas import (
    AllergyIn,
    ConditionIn,
    EncounterIn,
    MedicationIn,
    MergeIn,
    NotDuplicateIn,
    ObservationIn,
    ProcedureIn,
)
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import is_htmx, render

router = make_router(include_in_schema=False)

ENTRY_FORMS: dict[str, tuple[type[BaseModel], Callable[..., Awaitable]]] = {
    "observation": (ObservationIn, service.add_observation),
    "condition": (ConditionIn, service.add_condition),
    "encounter": (EncounterIn, service.add_encounter),
    "medication": (MedicationIn, service.add_medication),
    "allergy": (AllergyIn, service.add_allergy),
    "procedure": (ProcedureIn, service.add_procedure),
}
TIME_FIELDS = ("occurred_at", "ended_at")


def _entry_fields(fields: dict[str, str]) -> dict:
    parsed: dict = dict(fields)
    for name in TIME_FIELDS:
        if name in parsed:
            parsed[name] = local_time(parsed[name], name)
    if parsed.get("code"):  # the pickers show "8480-6 收缩压"; the code is the first word
        parsed["code"] = parsed["code"].split()[0]
    return parsed


async def _rejected(request: Request, db: Db, principal, patient_id: int, exc: CareBridgeError,  # noqa: ANN001
                    form: str, values: dict) -> Response:
    db.expunge_all()  # the savepoint rolled back: reload what the page shows
    return await render_patient(request, db, principal, patient_id, status_code=exc.status_code,
                                error=error_view(exc), open_form=form, values=values)


@router.post("/patients/{patient_id}/entries/{kind}")
async def add_entry(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int, kind: str) -> Response:
    if kind not in ENTRY_FORMS:
        raise NotFound(N_("no such form"))
    model, add = ENTRY_FORMS[kind]
    fields = form_fields(await request.form())
    try:
        async with db.begin_nested():
            entry = await add(db, principal, patient_id, parse_form(model, _entry_fields(fields)))
    except NotFound:
        raise
    except CareBridgeError as exc:
        return await _rejected(request, db, principal, patient_id, exc, kind, fields)
    return RedirectResponse(f"/patients/{entry.patient_id}?added={kind}#entry-{entry.id}", status_code=303)


@router.post("/patients/{patient_id}/documents")
async def upload_document(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int) -> Response:
    form = await request.form()
    upload = form.get("file")
    fields = form_fields(form)
    max_bytes = request.app.state.settings.upload_max_bytes
    try:
        async with db.begin_nested():
            if not isinstance(upload, UploadFile):
                raise InvalidInput(N_("choose a file to upload"), details={"field": "file"})
            document = await service.add_document(
                db, principal, patient_id, blobs=request.app.state.blobs, data=await upload.read(max_bytes + 1),
                filename=upload.filename or "", declared_type=upload.content_type or "",
                title=fields.get("title", ""), occurred_at=local_time(fields.get("occurred_at"), "occurred_at"),
                max_bytes=max_bytes)
    except NotFound:
        raise
    except CareBridgeError as exc:
        if is_htmx(request):  # the upload form shows the message under itself
            return render(request, "records/_upload_result.html", {"error": error_view(exc)},
                          status_code=exc.status_code)
        return await _rejected(request, db, principal, patient_id, exc, "document", fields)
    target = f"/patients/{document.patient_id}?added=document#entry-{document.id}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.post("/entries/{entry_id}/void")
async def void_entry(request: Request, db: Db, principal: CurrentPrincipal, entry_id: int) -> Response:
    fields = form_fields(await request.form())
    try:
        async with db.begin_nested():
            entry = await service.void_entry(db, principal, entry_id, fields.get("reason", ""))
    except NotFound:
        raise
    except CareBridgeError as exc:
        db.expunge_all()
        found = await service.get_entry(db, principal, entry_id)
        return await _rejected(request, db, principal, found.patient_id, exc, f"void-{entry_id}", fields)
    return RedirectResponse(f"/patients/{entry.patient_id}#entry-{entry.id}", status_code=303)


@router.post("/patients/{patient_id}/merge")
async def merge(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int) -> Response:
    fields = form_fields(await request.form())
    try:
        async with db.begin_nested():
            patient = await service.merge_patients(db, principal, patient_id, parse_form(MergeIn, fields))
    except NotFound:
        raise
    except CareBridgeError as exc:
        return await _rejected(request, db, principal, patient_id, exc, "duplicates", fields)
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


@router.post("/patients/{patient_id}/not-duplicate")
async def not_duplicate(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int) -> Response:
    fields = form_fields(await request.form())
    try:
        async with db.begin_nested():
            await service.mark_not_duplicate(db, principal, patient_id, parse_form(NotDuplicateIn, fields))
    except NotFound:
        raise
    except CareBridgeError as exc:
        return await _rejected(request, db, principal, patient_id, exc, "duplicates", fields)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)
