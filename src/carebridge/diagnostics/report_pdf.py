"""The bilingual diagnosis report as a PDF: Chinese and English labels side by side, the patient
(national ID masked), both facilities, the question, the structured findings (marking values from
the automatic pre-read), the impression, the critical-finding status, each signature with its
content hash and the verification, and the addenda.

Everything clinical is drawn from the signed content (not the draft), so the PDF says what was
signed. Gathering (async, database) and drawing (sync, CPU) are separate so drawing runs in a
worker thread. fpdf2 needs a TrueType font with Chinese glyphs: the `opinion_cjk_font` setting,
shared with the consultation report."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.config import get_settings
from carebridge.consultations.opinion_pdf import SEX, Line, when
from carebridge.diagnostics import report_content as content
from carebridge.diagnostics.models import StudyKind, kind_of
from carebridge.diagnostics.report_critical import CriticalState, state_of
from carebridge.diagnostics.reports import ReportView
from carebridge.errors import ConfigurationError
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


class _ReportPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("cjk", size=8)
        self.cell(0, 6, f"CareBridge 诊断报告 / Diagnosis report · {self.page_no()}/{{nb}}", align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("cjk", size=12)
    pdf.set_fill_color(230, 238, 246)
    pdf.cell(0, 8, text, fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)


def _lines(pdf: FPDF, lines: list[Line], label_width: float = 62) -> None:
    for line in lines:
        label_height = pdf.multi_cell(label_width, 6, line.label, dry_run=True, output="HEIGHT")
        if pdf.will_page_break(label_height):
            pdf.add_page()
        top, page = pdf.get_y(), pdf.page
        pdf.set_text_color(90, 90, 90)
        pdf.multi_cell(label_width, 6, line.label, new_x="RIGHT", new_y="TOP")
        pdf.set_text_color(0, 0, 0)
        pdf.multi_cell(0, 6, line.value or "-", new_x="LMARGIN", new_y="NEXT")
        if pdf.page == page:  # a label longer than its value must not run into the next line
            pdf.set_y(max(pdf.get_y(), top + label_height))
        pdf.ln(1)


def _text(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 6, text or "-", new_x="LMARGIN", new_y="NEXT")


def font_path() -> Path:
    path = Path(get_settings().opinion_cjk_font)
    if not path.is_file():
        raise ConfigurationError(
            f"the diagnosis report needs a font with Chinese glyphs: CAREBRIDGE_OPINION_CJK_FONT={path} does not "
            "exist (install Debian's fonts-wqy-microhei or point the setting at another TrueType font)",
            code="report_font_missing")
    return path


def draw(doc: ReportDoc, font: Path) -> bytes:
    pdf = _ReportPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_font("cjk", fname=str(font))
    pdf.set_title(f"Diagnosis report #{doc.order_id}")
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, doc.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    _lines(pdf, doc.header)
    _heading(pdf, "临床问题 / Clinical question")
    _text(pdf, doc.question)
    _heading(pdf, f"所见 / Findings · {doc.template}")
    _lines(pdf, doc.findings)
    _heading(pdf, "印象 / Impression")
    _text(pdf, doc.impression)
    if doc.free_text:
        _heading(pdf, "补充描述 / Additional text")
        _text(pdf, doc.free_text)
    if doc.critical:
        _heading(pdf, "危急值 / Critical finding")
        _lines(pdf, doc.critical)
    _heading(pdf, "签署 / Signatures")
    _lines(pdf, doc.signatures)
    if doc.addenda:
        _heading(pdf, "补充报告 / Addenda")
        _lines(pdf, doc.addenda)
    return bytes(pdf.output())


async def render_report(session: AsyncSession, view: ReportView) -> bytes:
    font = font_path()
    doc = await gather(session, view)
    return await asyncio.to_thread(draw, doc, font)
