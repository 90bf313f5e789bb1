"""'My reports': the remote-diagnosis reports and consultation opinions written about the patient,
as the patient (or a permitted family member) sees them. Never commits.

Only what was signed as final is shown: a diagnosis report's final version and the addenda after
it (never the reader's draft, a preliminary version, or the blind second reading of quality
assurance), and a consultation opinion once the lead expert signed it (never its draft). Orders
and cases still in progress are listed with their status so the patient knows a report is coming."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import PatientAccess, access_patient_side
from carebridge.auth.principal import Principal
from carebridge.consultations import opinion as opinions
from carebridge.consultations.lifecycle import State as CaseState
from carebridge.consultations.models import ConsultationCase
from carebridge.consultations.opinion_models import ConsultationOpinion, OpinionAddendum, OpinionSection
from carebridge.diagnostics import report_content
from carebridge.diagnostics import reports as diagnosis_reports
from carebridge.diagnostics.lifecycle import State as OrderState
from carebridge.diagnostics.models import DiagnosisOrder, StudyKind, kind_of
from carebridge.diagnostics.report_models import ReportAddendum, ReportVersion
from carebridge.errors import NotFound
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.records.models import Patient
from carebridge.records.views import facility_names, user_names

FINAL, IN_PROGRESS, CANCELLED = "final", "in_progress", "cancelled"
STATUS_LABELS = {FINAL: N_("Report ready"), IN_PROGRESS: N_("Being reported"), CANCELLED: N_("Cancelled")}
KIND_LABELS = {StudyKind.imaging: N_("Imaging report"), StudyKind.ecg: N_("ECG report"),
               StudyKind.pathology: N_("Pathology report")}
CASE_CLOSED_EARLY = frozenset({CaseState.declined, CaseState.cancelled})
LIST_LIMIT = 100


@dataclass(frozen=True)
class ReportItem:
    kind: str  # diagnosis | opinion
    id: int
    title: str
    facility: str
    when: dt.datetime
    status: str
    status_label: str
    url: str = ""  # only when there is something signed to read
    critical: bool = False


@dataclass(frozen=True)
class DiagnosisReportView:
    access: PatientAccess
    order: DiagnosisOrder
    title: str
    hub: str
    body: dict
    signed_at: dt.datetime
    signer: str
    addenda: list[ReportAddendum]
    names: dict[int, str]
    verified: bool
    document_id: int | None


@dataclass(frozen=True)
class OpinionReportView:
    access: PatientAccess
    case: ConsultationCase
    opinion: ConsultationOpinion
    sections: list[OpinionSection]
    addenda: list[OpinionAddendum]
    facility: str
    names: dict[int, str] = field(default_factory=dict)
    verified: bool = False


def _record_ids(patient_id: int):  # noqa: ANN202 - a subquery of ids
    """The patient and duplicates merged into them: their orders are this patient's too."""
    return select(Patient.id).where((Patient.id == patient_id) | (Patient.merged_into_id == patient_id))


def _title(order: DiagnosisOrder) -> str:
    exam = f"{order.modality} {order.body_part}".strip()
    return f"{_(KIND_LABELS[kind_of(order.modality)])} · {exam}"


def _order_status(order: DiagnosisOrder, has_final: bool) -> str:
    if order.state == OrderState.cancelled:
        return CANCELLED
    return FINAL if order.state == OrderState.reported and has_final else IN_PROGRESS


async def reports_for(session: AsyncSession, access: PatientAccess, patient_query: str = "") -> list[ReportItem]:
    """Newest first: every diagnosis order and submitted consultation of the patient."""
    orders = (await session.scalars(select(DiagnosisOrder).where(DiagnosisOrder.patient_id.in_(
        _record_ids(access.patient.id))).order_by(DiagnosisOrder.created_at.desc()).limit(LIST_LIMIT))).all()
    finals = set((await session.scalars(select(ReportVersion.order_id).where(
        ReportVersion.order_id.in_([o.id for o in orders]),
        ReportVersion.kind == report_content.FINAL))).all()) if orders else set()
    cases = (await session.execute(
        select(ConsultationCase, ConsultationOpinion.signed_at)
        .outerjoin(ConsultationOpinion, ConsultationOpinion.case_id == ConsultationCase.id)
        .where(ConsultationCase.patient_id.in_(_record_ids(access.patient.id)),
               ConsultationCase.state != CaseState.draft.value)
        .order_by(ConsultationCase.created_at.desc()).limit(LIST_LIMIT))).all()
    names = await facility_names(session, {o.hub_facility_id for o in orders}
                                 | {c.target_facility_id or c.requesting_facility_id for c, _ in cases})
    items = []
    for order in orders:
        status = _order_status(order, order.id in finals)
        items.append(ReportItem("diagnosis", order.id, _title(order), names.get(order.hub_facility_id, ""),
                                order.signed_at or order.created_at, status, _(STATUS_LABELS[status]),
                                f"/portal/reports/diagnosis/{order.id}{patient_query}" if status == FINAL else ""))
    for case, signed_at in cases:
        status = (FINAL if signed_at else CANCELLED if case.state in CASE_CLOSED_EARLY else IN_PROGRESS)
        label = _("Consultation opinion") if signed_at else _("Consultation")
        items.append(ReportItem("opinion", case.id, label,
                                names.get(case.target_facility_id or case.requesting_facility_id, ""),
                                signed_at or case.created_at, status,
                                _(STATUS_LABELS[status]) if status != FINAL else _("Opinion signed"),
                                f"/portal/reports/opinions/{case.id}{patient_query}" if status == FINAL else ""))
    return sorted(items, key=lambda i: i.when, reverse=True)


async def open_reports(session: AsyncSession, principal: Principal, patient_id: int) -> tuple[PatientAccess,
                                                                                               list[ReportItem]]:
    access = await access_patient_side(session, principal, patient_id, purpose=Purpose.patient_self,
                                  resource_type="PortalReports")
    return access, await reports_for(session, access, f"?patient_id={access.patient.id}")


async def diagnosis_report(session: AsyncSession, principal: Principal, order_id: int) -> DiagnosisReportView:
    """The final signed report of one order, for its patient or a permitted family member."""
    order = await session.get(DiagnosisOrder, order_id)
    if order is None:
        raise NotFound(N_("report not found"))
    access = await access_patient_side(session, principal, order.patient_id, purpose=Purpose.patient_self,
                                  resource_type="DiagnosisReport", resource_id=order.id)
    view = await diagnosis_reports.signed_view(session, order)
    final = view.version(report_content.FINAL)
    if final is None or order.state != OrderState.reported:
        raise NotFound(N_("the report is not ready yet"), code="report_not_ready")
    body = report_content.parsed(final)
    hub = (await facility_names(session, [order.hub_facility_id])).get(order.hub_facility_id, "")
    return DiagnosisReportView(access, order, _title(order), hub, body, final.signed_at,
                               body.get("signer_name", ""), view.addenda, view.names,
                               bool(view.verification and view.verification.verified),
                               view.row.document_entry_id if view.row else None)


async def consultation_opinion(session: AsyncSession, principal: Principal, case_id: int) -> OpinionReportView:
    """The signed opinion of one consultation, for its patient or a permitted family member."""
    case = await session.get(ConsultationCase, case_id)
    if case is None or case.state == CaseState.draft:
        raise NotFound(N_("report not found"))
    access = await access_patient_side(session, principal, case.patient_id, purpose=Purpose.patient_self,
                                  resource_type="ConsultationOpinion", resource_id=case.id)
    view = await opinions.view_for(session, case, frozenset(), access)  # no part in the case: signed only
    if view.opinion is None or view.opinion.signed_at is None:
        raise NotFound(N_("the opinion is not signed yet"), code="report_not_ready")
    facility_id = case.target_facility_id or case.requesting_facility_id
    facility = (await facility_names(session, [facility_id])).get(facility_id, "")
    names = await user_names(session, {view.opinion.signed_by_id} | {s.author_id for s in view.sections}
                             | {a.author_id for a in view.addenda})
    verified = bool(view.verification and view.verification.verified and view.verification.addenda_verified)
    return OpinionReportView(access, case, view.opinion, view.sections, view.addenda, facility, names, verified)


def finding_label(finding: dict) -> str:
    return finding.get("en", "") if i18n.get_locale() == "en" else finding.get("zh", "")


def finding_value(finding: dict) -> str:
    return str(finding.get("display_en" if i18n.get_locale() == "en" else "display_zh", ""))
