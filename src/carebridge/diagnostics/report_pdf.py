"""The bilingual diagnosis report as a PDF: Chinese and English labels side by side, the patient
(national ID masked), both facilities, the question, the structured findings (marking values from
the automatic pre-read), the impression, the critical-finding status, each signature with its
content hash and the verification, and the addenda.

Everything clinical is drawn from the signed content (not the draft), so the PDF says what was
signed. Gathering (async, database) and drawing (sync, CPU) are separate so drawing runs in a
worker thread; the layout and the CJK font check are kit/pdf.py's, shared with the consultation report."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.consultations.opinion_pdf import SEX
from carebridge.diagnostics import report_content as content
from carebridge.diagnostics.models import StudyKind, kind_of
from carebridge.diagnostics.report_critical import CriticalState, state_of
from carebridge.diagnostics.reports import ReportView
from carebridge.kit.pdf import BilingualPDF, Line, cjk_font, when
from carebridge.network.models import Facility
from carebridge.records.models import Patient
from carebridge.records.views import user_names

KIND_TITLE = {StudyKind.imaging: ("影像诊断报告", "Imaging report"), StudyKind.ecg: ("心电图诊断报告", "ECG report"),
              StudyKind.pathology: ("病理诊断报告", "Pathology report")}
URGENCY = {"stat": "急诊 / STAT", "urgent": "加急 / Urgent", "routine": "常规 / Routine"}
TITLES = {"resident": "住院医师 / Resident", "attending": "主治医师 / Attending",
          "associate_chief": "副主任医师 / Associate chief physician", "chief": "主任医师 / Chief physician"}
VERSION_KIND = {"preliminary": "初步报告 / Preliminary", "final": "正式报告 / Final"}
PREREAD_MARK = "  [自动预读 / automatic pre-read]"


@dataclass
class ReportDoc:
    order_id: int
    title: str
    header: list[Line]
    question: str
    template: str
    findings: list[Line]
    impression: str
    free_text: str
    critical: list[Line]
    signatures: list[Line]
    addenda: list[Line] = field(default_factory=list)


async def _facility(session: AsyncSession, facility_id: int) -> str:
    found = await session.get(Facility, facility_id)
    if found is None:
        return ""
    return f"{found.name} / {found.name_en}" if found.name_en and found.name_en != found.name else found.name


def report_name(view: ReportView) -> str:
    zh, en = KIND_TITLE[kind_of(view.order.modality)]
    return f"{zh} / {en}"


def _findings(body: dict) -> list[Line]:
    rows = []
    for f in body.get("findings", []):
        value = f["display_zh"] if f["display_zh"] == f["display_en"] else f"{f['display_zh']} / {f['display_en']}"
        rows.append(Line(f"{f['zh']} / {f['en']}", value + (PREREAD_MARK if f.get("source") == "preread" else "")))
    return rows


def _critical(view: ReportView, body: dict, names: dict[int, str]) -> list[Line]:
    state = state_of(view.row)
    if state == CriticalState.none:
        return []
    lines = [Line("危急值 / Critical finding", "是 / Yes" + (f": {body.get('critical_note')}"
                                                          if body.get("critical_note") else ""))]
    if state == CriticalState.acknowledged:
        row = view.row
        who = f"{names.get(row.critical_ack_by_id or 0, '')} · {when(row.critical_ack_at)}"
        note = f" · {row.critical_ack_note}" if row.critical_ack_note else ""
        lines.append(Line("已确认 / Acknowledged", who + note))
    else:
        lines.append(Line("已确认 / Acknowledged", "尚未确认 / NOT acknowledged yet"))
    return lines


def _signatures(view: ReportView) -> list[Line]:
    lines = []
    for v in view.versions:
        signed = content.parsed(v)
        lines.append(Line(VERSION_KIND.get(v.kind, v.kind), "\n".join([
            f"{signed.get('signer_name', '')} · {TITLES.get(signed.get('signer_title', ''), '')}".strip(" ·"),
            when(v.signed_at), f"SHA-256: {v.content_hash}"])))
    ok = view.verification is not None and view.verification.verified
    lines.append(Line("校验 / Verification", "通过 / Verified" if ok else "未通过 / NOT verified: "
                      + "; ".join(view.verification.problems if view.verification else ())))
    return lines


async def gather(session: AsyncSession, view: ReportView) -> ReportDoc:
    order, body = view.order, view.content
    patient = await session.get(Patient, order.patient_id)
    names = await user_names(session, {order.requesting_user_id, view.row.critical_ack_by_id if view.row else None}
                         | {a.author_id for a in view.addenda})
    header = [
        Line("申请单号 / Order no.", f"#{order.id} · {order.accession_number}"),
        Line("患者 / Patient", f"{patient.name}{' (' + patient.name_en + ')' if patient.name_en else ''}"),
        Line("性别 / Sex", SEX.get(patient.sex, patient.sex)),
        Line("出生日期 / Date of birth", patient.birth_date.isoformat()),
        Line("身份证号 / National ID", patient.national_id_masked or "-"),
        Line("检查 / Examination", f"{order.modality} {order.body_part}".strip()
             + (" · 术中冰冻 / frozen section" if order.frozen_section else "")),
        Line("紧急程度 / Urgency", URGENCY.get(order.urgency, order.urgency)),
        Line("申请机构 / Requesting facility", await _facility(session, order.requesting_facility_id)),
        Line("申请医生 / Requesting clinician", names.get(order.requesting_user_id, "")),
        Line("诊断中心 / Reading hub", await _facility(session, order.hub_facility_id)),
        Line("检查完成 / Study complete", when(order.study_complete_at)),
    ]
    template = body.get("template", {})
    addenda = [Line(f"{when(a.created_at)} · {names.get(a.author_id, '')}" + (" · 危急值 / CRITICAL" * a.critical),
                    f"{a.text}\nSHA-256: {a.hash}") for a in view.addenda]
    title = report_name(view) + ("" if view.final else " · 初步报告 / Preliminary")
    return ReportDoc(order.id, title, header, order.clinical_question,
                     f"{template.get('zh', '')} / {template.get('en', '')}", _findings(body),
                     body.get("impression", ""), body.get("free_text", ""), _critical(view, body, names),
                     _signatures(view), addenda)


def font_path() -> Path:
    return cjk_font("diagnosis report")


def draw(doc: ReportDoc, font: Path) -> bytes:
    pdf = BilingualPDF(font, "CareBridge 诊断报告 / Diagnosis report", doc.title, f"Diagnosis report #{doc.order_id}")
    pdf.lines(doc.header)
    pdf.heading("临床问题 / Clinical question")
    pdf.paragraph(doc.question)
    pdf.heading(f"所见 / Findings · {doc.template}")
    pdf.lines(doc.findings)
    pdf.heading("印象 / Impression")
    pdf.paragraph(doc.impression)
    if doc.free_text:
        pdf.heading("补充描述 / Additional text")
        pdf.paragraph(doc.free_text)
    if doc.critical:
        pdf.heading("危急值 / Critical finding")
        pdf.lines(doc.critical)
    pdf.heading("签署 / Signatures")
    pdf.lines(doc.signatures)
    if doc.addenda:
        pdf.heading("补充报告 / Addenda")
        pdf.lines(doc.addenda)
    return bytes(pdf.output())


async def render_report(session: AsyncSession, view: ReportView) -> bytes:
    font = font_path()
    doc = await gather(session, view)
    return await asyncio.to_thread(draw, doc, font)
