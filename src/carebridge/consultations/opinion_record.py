"""The signed opinion joins the patient's record: the report PDF as a Document entry, kept by the
requesting facility (which owns the record) and authored by the signing expert.

The expert usually cannot write to the record (they read it through the case's grant), so this is a
system write done by the consultation itself, with provenance and an audit row saying so. The new
entry is added to the case's shared items and grants, so the consulting side keeps seeing it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import AccessGrant, Purpose
from carebridge.access.service import surviving_patient
from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.consultations import opinion as opinions
from carebridge.consultations import opinion_pdf, service
from carebridge.consultations.lifecycle import Actor
from carebridge.consultations.models import CaseSharedItem, ConsultationCase
from carebridge.consultations.opinion_models import ConsultationOpinion
from carebridge.errors import NotFound
from carebridge.kit.blobs import BlobStore
from carebridge.kit.i18n import N_
from carebridge.records.documents import PDF
from carebridge.records.models import Document

# LOINC 11488-4 "Consult note": the document type FHIR DocumentReference.type expects.
CONSULT_NOTE = ("LOINC", "11488-4")


def report_title(case_id: int) -> str:
    return f"会诊意见 / Consultation opinion #{case_id}"


async def file_signed_opinion(session: AsyncSession, principal: Principal, case: ConsultationCase,
                              opinion: ConsultationOpinion, blobs: BlobStore) -> Document:
    view = await opinions.view_for(session, case, frozenset({Actor.expert}))
    data = await opinion_pdf.render_report(session, view)
    patient = await surviving_patient(session, case.patient_id)  # merged since the case was opened
    if patient is None:
        raise NotFound(N_("patient not found"))
    # The blob goes in before the row (as for uploads): a rollback leaves at most an unreferenced file.
    digest = await blobs.put(data)
    title = report_title(case.id)
    document = Document(patient_id=patient.id, occurred_at=opinion.signed_at, facility_id=case.requesting_facility_id,
                        author_id=opinion.signed_by_id, code_system=CONSULT_NOTE[0], code=CONSULT_NOTE[1],
                        display=title, title=title, media_type=PDF, size_bytes=len(data), blob_digest=digest,
                        filename=f"consultation-{case.id}-opinion.pdf")
    session.add(document)
    await session.flush()
    opinion.document_entry_id = document.id
    await _share_with_case(session, case, document.id)
    await audit.append(session, audit.Entry(
        action="create", outcome="success", actor=principal.actor(case.target_facility_id), patient_id=patient.id,
        resource_type="DocumentReference", resource_id=document.id, purpose=Purpose.consultation.value,
        facility_id=case.requesting_facility_id,
        detail={"source": "consultation_opinion", "case_id": case.id, "content_hash": opinion.content_hash}))
    return document


async def _share_with_case(session: AsyncSession, case: ConsultationCase, entry_id: int) -> None:
    session.add(CaseSharedItem(case_id=case.id, entry_id=entry_id))
    grants = (await session.scalars(select(AccessGrant).where(
        AccessGrant.source_type.in_(service.CASE_GRANT_SOURCES), AccessGrant.source_id == case.id,
        AccessGrant.revoked_at.is_(None)))).all()
    for grant in grants:
        if not grant.scope_all and entry_id not in grant.scope_entry_ids:
            grant.scope_entry_ids = [*grant.scope_entry_ids, entry_id]  # a new list: JSON columns track assignment
    await session.flush()
