"""The signed report joins the patient's record: the bilingual PDF as a Document entry kept by the
requesting facility (which owns the record), authored by the final signer, dated at the signature,
so it shows on the record's timeline at the sending facility (and at the hub, whose grant covers
documents).

The reader usually cannot write to the record (they read it through the order's grant), so this is
a system write done by the report itself, with provenance and an audit row saying so. An addendum
files the report again with its addenda and voids the earlier document with a reason, so the
record holds one current report and keeps the earlier one visible as superseded."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import surviving_patient
from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.diagnostics import report_pdf, reports
from carebridge.diagnostics.models import DiagnosisOrder, StudyKind, kind_of
from carebridge.errors import NotFound
from carebridge.kit.blobs import BlobStore
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.records.documents import PDF
from carebridge.records.models import Document

# LOINC document codes (FHIR DocumentReference.type): 18748-4 Diagnostic imaging study,
# 11524-6 EKG study, 11526-1 Pathology study.
LOINC = {StudyKind.imaging: "18748-4", StudyKind.ecg: "11524-6", StudyKind.pathology: "11526-1"}
SUPERSEDED = "superseded by the report with its addenda"


def report_title(view: reports.ReportView) -> str:
    order = view.order
    exam = f"{order.modality} {order.body_part}".strip()
    return f"{report_pdf.report_name(view)}: {exam} #{order.id}"[:200]


async def file_report(session: AsyncSession, principal: Principal, order: DiagnosisOrder,
                      blobs: BlobStore) -> Document:
    view = await reports.signed_view(session, order)
    final = view.version(reports.FINAL)
    data = await report_pdf.render_report(session, view)
    patient = await surviving_patient(session, order.patient_id)  # merged since the order was placed
    if patient is None:
        raise NotFound(N_("patient not found"))
    # The blob goes in before the row (as for uploads): a rollback leaves at most an unreferenced file.
    digest = await blobs.put(data)
    title = report_title(view)
    document = Document(patient_id=patient.id, occurred_at=final.signed_at, facility_id=order.requesting_facility_id,
                        author_id=final.signed_by_id, code_system="LOINC", code=LOINC[kind_of(order.modality)],
                        display=title, title=title, media_type=PDF, size_bytes=len(data), blob_digest=digest,
                        filename=f"diagnosis-{order.id}-report.pdf")
    session.add(document)
    await session.flush()
    report = view.row
    earlier = await session.get(Document, report.document_entry_id) if report.document_entry_id else None
    if earlier is not None and earlier.voided_at is None:
        earlier.voided_at, earlier.voided_by_id, earlier.void_reason = utcnow(), principal.user_id, SUPERSEDED
    report.document_entry_id = document.id
    await session.flush()
    await audit.append(session, audit.Entry(
        action="create", outcome="success", actor=principal.actor(order.hub_facility_id), patient_id=patient.id,
        resource_type="DocumentReference", resource_id=document.id, purpose=Purpose.diagnosis.value,
        facility_id=order.requesting_facility_id,
        detail={"source": "diagnosis_report", "order_id": order.id, "content_hash": final.content_hash,
                **({"supersedes": earlier.id} if earlier else {})}))
    return document
