"""JSON routes for an order's report under /api/v1: the reader's draft, signing, addenda, the
sender's acknowledgement of a critical finding, the report with its verification, and the PDF."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from carebridge.auth.principal import Principal
from carebridge.diagnostics import report_critical, report_pdf, reports
from carebridge.diagnostics import report_templates as templates
from carebridge.diagnostics.lifecycle import Party
from carebridge.diagnostics.models import Modality
from carebridge.diagnostics.report_schemas import (
    AcknowledgeIn,
    AddendumIn,
    DraftIn,
    DraftOut,
    ReportOut,
    SignIn,
    TemplateOut,
    draft_out,
    report_out,
    template_out,
)
from carebridge.errors import Conflict, Forbidden
from carebridge.kit.i18n import N_
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["diagnosis reports"])


def not_blind(view: reports.ReportView) -> reports.ReportView:
    if view.blinded:
        raise Conflict(N_("you are double-reading this order: submit your own reading first"),
                       code="blind_double_read")
    return view


async def _report(db: Db, principal: Principal, order_id: int) -> ReportOut:
    return report_out(not_blind(await reports.access_report(db, principal, order_id)))


@router.get("/diagnosis/report-templates", response_model=list[TemplateOut])
async def list_templates(principal: CurrentPrincipal, modality: Annotated[Modality | None, Query()] = None,
                         body_part: Annotated[str, Query(max_length=64)] = "") -> list[TemplateOut]:
    """The structured templates; with a modality, those that fit it, the one an order would get first."""
    if modality is None:
        return [template_out(t) for t in templates.TEMPLATES.values()]
    chosen = templates.choose(modality, body_part)
    return [template_out(t) for t in sorted(templates.for_modality(modality), key=lambda t: t is not chosen)]


@router.get("/diagnosis/orders/{order_id}/report", response_model=ReportOut)
async def get_report(order_id: int, db: Db, principal: CurrentPrincipal) -> ReportOut:
    """The signed versions and addenda, re-verified from the stored rows on every read (`verified`)."""
    return await _report(db, principal, order_id)


@router.get("/diagnosis/orders/{order_id}/report/draft", response_model=DraftOut)
async def get_draft(order_id: int, db: Db, principal: CurrentPrincipal) -> DraftOut:
    """The working copy with its template (and the ECG pre-read); the reading hub's doctors only."""
    view = not_blind(await reports.access_report(db, principal, order_id, action="report_draft"))
    if Party.reader not in view.parties:
        raise Forbidden(N_("the draft is the reading hub's; the report shows once signed"), code="not_reader")
    return draft_out(view)


@router.put("/diagnosis/orders/{order_id}/report/draft", response_model=DraftOut)
async def save_draft(order_id: int, body: DraftIn, db: Db, principal: CurrentPrincipal) -> DraftOut:
    """Save the working copy; needs the order's live claim (409 `claim_first` / `claimed` otherwise)."""
    await reports.save_draft(db, principal, order_id, reports.DraftInput(**body.model_dump()))
    return draft_out(await reports.written_view(db, principal, order_id))


@router.post("/diagnosis/orders/{order_id}/report/sign", response_model=ReportOut)
async def sign_report(order_id: int, body: SignIn, request: Request, db: Db, principal: CurrentPrincipal) -> ReportOut:
    """Sign the draft as a preliminary or final report: an immutable version under its content hash.
    409 when incomplete (`details.missing`), out of turn, or without the claim; 403 for a final
    signature by a non-attending or by the preliminary reader."""
    await reports.sign(db, principal, order_id, body.kind, request.app.state.blobs)
    return await _report(db, principal, order_id)


@router.post("/diagnosis/orders/{order_id}/report/addenda", response_model=ReportOut, status_code=201)
async def add_addendum(order_id: int, body: AddendumIn, request: Request, db: Db,
                       principal: CurrentPrincipal) -> ReportOut:
    """A correction or addition after the final signature, chained to it by its own hash."""
    await reports.add_addendum(db, principal, order_id, body.text, request.app.state.blobs,
                               is_critical=body.critical)
    return await _report(db, principal, order_id)


@router.post("/diagnosis/orders/{order_id}/report/critical-acknowledgement", response_model=ReportOut)
async def acknowledge_critical(order_id: int, body: AcknowledgeIn, db: Db, principal: CurrentPrincipal) -> ReportOut:
    """A doctor or nurse of the sending facility records that the critical finding reached them."""
    await report_critical.acknowledge(db, principal, order_id, body.note)
    return await _report(db, principal, order_id)


@router.get("/diagnosis/orders/{order_id}/report.pdf")
async def report_document(order_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    """The bilingual PDF of the signed report with its addenda; audited as a report export."""
    view = not_blind(await reports.access_report(db, principal, order_id, action="report_pdf"))
    if not view.signed:
        raise Conflict(N_("the report exists once it is signed"), code="not_signed")
    data = await report_pdf.render_report(db, view)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="diagnosis-{order_id}-report.pdf"', "Cache-Control": "no-store"})
