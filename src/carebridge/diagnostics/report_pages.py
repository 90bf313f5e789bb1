"""Pages for reading and reports: the reader's workspace (viewer beside the structured form, the
clinical question, a patient summary, the claim countdown renewed while the page is open, autosave,
signing), the report page both sides read, and the report panel the order page includes and
refreshes live. They call the same services as the API. A refused form is shown again with what was
typed and the message; nothing typed is lost."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from jinja2 import TemplateNotFound
from sqlalchemy import select

from carebridge.access.models import Purpose
from carebridge.access.service import PatientAccess, access_patient
from carebridge.auth.principal import Principal
from carebridge.diagnostics import claims, report_critical, reports, service, studies
from carebridge.diagnostics import report_templates as templates
from carebridge.diagnostics.labels import LABELS as ORDER_LABELS
from carebridge.diagnostics.lifecycle import ON_WORKLIST, Party
from carebridge.diagnostics.models import StudyKind, kind_of
from carebridge.errors import CareBridgeError, Forbidden, NotFound
from carebridge.kit import i18n
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.records.models import RecordEntry
from carebridge.records.page_parts import entry_label
from carebridge.records.views import user_names
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import env, render

router = make_router(include_in_schema=False)
VIEWERS = {StudyKind.imaging: "imaging/imaging_viewer.html", StudyKind.ecg: "ecg/ecg_viewer.html",
           StudyKind.pathology: "pathology/slide_viewer.html"}
Note = Annotated[str, Form(max_length=4000)]
Back = Annotated[str, Form(max_length=200)]
INTENTS = ("save", "switch", "sign_preliminary", "sign_final")
MISSING_LABELS = {"impression": N_("Impression")}
LABELS = {"state_labels": ORDER_LABELS["state"], "urgency_labels": ORDER_LABELS["urgency"]}


def viewer_template(order) -> str | None:  # noqa: ANN001
    """The viewer another package builds for this kind of study, when it is installed."""
    name = VIEWERS[kind_of(order.modality)]
    try:
        env.get_template(name)
    except TemplateNotFound:
        return None
    return name


async def _patient(db: Db, principal: Principal, order) -> tuple[PatientAccess | None, list]:  # noqa: ANN001
    """The hub reads the patient through the order's grant; a withdrawn consent shows no summary."""
    try:
        access = await access_patient(db, principal, order.patient_id, purpose=Purpose.diagnosis,
                                      resource_type="DiagnosisOrder", resource_id=order.id)
    except NotFound:
        return None, []
    entries = (await db.scalars(select(RecordEntry).where(
        RecordEntry.patient_id == access.patient.id, RecordEntry.voided_at.is_(None), RecordEntry.kind != "encounter",
        access.entry_filter()).order_by(RecordEntry.occurred_at.desc(), RecordEntry.id.desc()).limit(8))).all()
    return access, [(e, entry_label(e)) for e in entries]


def _form_values(view: reports.ReportView) -> dict:
    d = view.draft
    values = {f"f_{k}": v for k, v in ((d.findings if d else None) or {}).items()}
    if d is None and view.preread:  # a first look: the pre-read fills what it measured
        values |= {f"f_{k}": v for k, v in view.preread.values.items()}
    if d is not None:
        values |= {"impression": d.impression, "free_text": d.free_text, "critical": d.critical,
                   "critical_note": d.critical_note}
    return values


async def _read_page(request: Request, db: Db, principal: Principal, view: reports.ReportView, *,
                     form: dict | None = None, error: str = "", status_code: int = 200) -> Response:
    order = view.order
    access, entries = await _patient(db, principal, order)
    holder = (await user_names(db, [order.claimed_by_id])).get(order.claimed_by_id or 0, "")
    return render(request, "diagnostics/read.html", {
        "order": order, "report": view, "viewer": viewer_template(order),
        "studies": await studies.studies_of_order(db, order.id), "patient": access.patient if access else None,
        "entries": entries, "values": form if form is not None else _form_values(view), "error": error,
        "templates_available": templates.for_modality(order.modality), "claim_holder": holder,
        "claimed_by_other": _claimed_by_other(principal, order),
        "claim_seconds": int(claims.claim_length().total_seconds()), **LABELS}, status_code=status_code)


def _claimed_by_other(principal: Principal, order) -> bool:  # noqa: ANN001
    live = order.claimed_until is not None and order.claimed_until > utcnow()
    return live and order.claimed_by_id not in (None, principal.user_id)


async def _reader_view(db: Db, principal: Principal, order_id: int, action: str) -> reports.ReportView:
    view = await reports.access_report(db, principal, order_id, action=action)
    if Party.reader not in view.parties:
        raise Forbidden(N_("only a doctor at the reading hub reads this order"))
    return view


@router.get("/diagnosis/orders/{order_id}/read")
async def read_page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    view = await _reader_view(db, principal, order_id, "reading")
    if view.order.state not in ON_WORKLIST or view.blinded:
        return RedirectResponse(f"/diagnosis/orders/{order_id}/report", status_code=303)
    return await _read_page(request, db, principal, view)


@router.post("/diagnosis/orders/{order_id}/read/claim")
async def claim(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    """Claim or renew; the reading page's script renews while the page is open (JSON), the button
    without script comes back to the page."""
    order = await claims.claim(db, principal, order_id)
    if "application/json" in request.headers.get("accept", ""):
        left = (order.claimed_until - utcnow()).total_seconds()
        return JSONResponse({"claimed_until": order.claimed_until.isoformat(), "seconds_left": int(left)})
    return RedirectResponse(f"/diagnosis/orders/{order_id}/read", status_code=303)


def _draft_input(form, tmpl: templates.ReportTemplate, template_key: str | None = None) -> reports.DraftInput:  # noqa: ANN001
    return reports.DraftInput(
        findings={f.key: str(form.get(f"f_{f.key}", "")) for f in tmpl.fields},
        impression=str(form.get("impression", "")), free_text=str(form.get("free_text", "")),
        critical=bool(form.get("critical")), critical_note=str(form.get("critical_note", "")),
        template_key=template_key)


def _typed(form) -> dict:  # noqa: ANN001
    return {k: str(v) for k, v in form.items() if k != "csrf_token"} | {"critical": bool(form.get("critical"))}


@router.post("/diagnosis/orders/{order_id}/read/draft")
async def autosave(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    """The page's autosave: JSON in both directions' spirit (errors too, as the API renders them)."""
    form = await request.form()
    order, _ = await service.load_order(db, principal, order_id)
    report = await reports.report_of(db, order.id)
    saved = await reports.save_draft(db, principal, order_id,
                                     _draft_input(form, reports.template_for(order, report)))
    return JSONResponse({"saved_at": saved.updated_at.isoformat(), "preread_keys": saved.preread_keys})


def _field_label(key: str, tmpl: templates.ReportTemplate | None) -> str:
    if key in MISSING_LABELS:
        return _(MISSING_LABELS[key])
    spec = tmpl.field(key.removeprefix("findings.")) if tmpl else None
    return spec.label(i18n.get_locale() == "en") if spec else key


def _problem(problem: CareBridgeError, tmpl: templates.ReportTemplate | None = None) -> str:
    """The message, naming the fields it is about in the reader's language."""
    text = _(problem.message)
    details = problem.details if isinstance(problem.details, dict) else {}
    if details.get("missing"):
        text += ": " + ", ".join(_field_label(m, tmpl) for m in details["missing"])
    elif details.get("field"):
        text += f" ({_field_label(details['field'], tmpl)})"
    return text


@router.post("/diagnosis/orders/{order_id}/read")
async def read_submit(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    """Save the draft; `intent` switches the template or also signs (preliminary or final)."""
    form = await request.form()
    intent = str(form.get("intent", "save"))
    intent = intent if intent in INTENTS else "save"
    view = await reports.written_view(db, principal, order_id)
    tmpl = view.template
    key = str(form.get("template_key", "")) if intent == "switch" else None
    if key:  # the new template keeps what fits it and the texts
        tmpl = templates.TEMPLATES.get(key, tmpl)
    try:
        async with db.begin_nested():
            await reports.save_draft(db, principal, order_id, _draft_input(form, tmpl, key or None))
        if intent.startswith("sign_"):
            async with db.begin_nested():
                await reports.sign(db, principal, order_id, intent.removeprefix("sign_"), request.app.state.blobs)
            return RedirectResponse(f"/diagnosis/orders/{order_id}/report", status_code=303)
    except NotFound:
        raise
    except CareBridgeError as problem:
        view = await reports.written_view(db, principal, order_id)
        return await _read_page(request, db, principal, view, form=_typed(form), error=_problem(problem, tmpl),
                                status_code=problem.status_code)
    return RedirectResponse(f"/diagnosis/orders/{order_id}/read?saved=1", status_code=303)


@router.get("/diagnosis/orders/{order_id}/report")
async def report_page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    view = await reports.access_report(db, principal, order_id)
    return render(request, "diagnostics/report.html", {"order": view.order, "report": view, **LABELS})


@router.get("/diagnosis/orders/{order_id}/report/panel")
async def report_panel(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    """The panel alone, for the order page's live refresh."""
    view = await reports.access_report(db, principal, order_id)
    # The panel's forms return to the page it sits on, which htmx names in HX-Current-URL.
    host = urlsplit(request.headers.get("HX-Current-URL", "")).path
    return render(request, "diagnostics/report_panel.html", {"order": view.order, "report": view,
                                                             "panel_fragment": True, "panel_next": host})


def _back_to(order_id: int, wanted: str) -> str:
    """Forms in the panel return to the page they were sent from: the order page or the report page."""
    order_page = f"/diagnosis/orders/{order_id}"
    return wanted if wanted in (order_page, f"{order_page}/report") else f"{order_page}/report"


async def _after_form(request: Request, db: Db, principal: Principal, order_id: int, action,  # noqa: ANN001
                      back: str) -> Response:
    try:
        async with db.begin_nested():
            await action()
    except NotFound:
        raise
    except CareBridgeError as problem:
        view = await reports.access_report(db, principal, order_id)
        return render(request, "diagnostics/report.html", {"order": view.order, "report": view,
                                                           "error": _problem(problem), **LABELS},
                      status_code=problem.status_code)
    return RedirectResponse(_back_to(order_id, back), status_code=303)


@router.post("/diagnosis/orders/{order_id}/report/addenda")
async def addendum(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, text: Note = "",
                   critical: Annotated[str, Form(max_length=5)] = "", next: Back = "") -> Response:  # noqa: A002
    return await _after_form(request, db, principal, order_id, lambda: reports.add_addendum(
        db, principal, order_id, text, request.app.state.blobs, is_critical=bool(critical)), next)


@router.post("/diagnosis/orders/{order_id}/report/acknowledge")
async def acknowledge(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                      note: Annotated[str, Form(max_length=500)] = "", next: Back = "") -> Response:  # noqa: A002
    return await _after_form(request, db, principal, order_id,
                             lambda: report_critical.acknowledge(db, principal, order_id, note), next)
