"""The bilingual consultation report as a PDF: Chinese and English labels side by side, the patient
(national ID masked), both facilities and doctors, the question, the shared items, the opinion with
its team sections and diagnoses, the signature block with the content hash, and the addenda.

Gathering (async, database) and drawing (sync, CPU) are separate so drawing runs in a worker thread;
the layout is kit/pdf.py's, shared with the diagnosis report."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import User
from carebridge.consultations.models import CaseSharedItem, ConsultationCase
from carebridge.consultations.opinion import OpinionView
from carebridge.kit.pdf import CST, BilingualPDF, Line, cjk_font, when
from carebridge.network.models import Department, Facility
from carebridge.records.models import Patient, RecordEntry

ADVICE = {"none": "无 / None", "refer_up": "上转 / Refer up", "refer_down": "下转 / Refer down",
          "keep_local": "本地继续诊治 / Keep and treat locally"}
SEX = {"male": "男 / Male", "female": "女 / Female", "other": "其他 / Other", "unknown": "未知 / Unknown"}
URGENCY = {"emergency": "急诊 / Emergency", "urgent": "加急 / Urgent", "routine": "常规 / Routine"}
MODE = {"live": "视频会诊 / Live video", "async": "非实时会诊 / Store-and-forward"}


@dataclass
class Report:
    case_id: int
    header: list[Line]
    question: str
    summary: str
    shared: list[str]
    opinion: list[Line]
    diagnoses: list[str]
    sections: list[Line]
    signature: list[Line]
    addenda: list[Line] = field(default_factory=list)
    outcome: str = ""


def _both(zh: str, en: str) -> str:
    return f"{zh} / {en}" if en and en != zh else zh


async def _facility(session: AsyncSession, facility_id: int | None) -> str:
    found = await session.get(Facility, facility_id) if facility_id else None
    return _both(found.name, found.name_en) if found else ""


async def _names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))).all())


async def _departments(session: AsyncSession) -> dict[int, str]:
    return {d.id: _both(d.name, d.name_en) for d in (await session.scalars(select(Department))).all()}


async def _shared(session: AsyncSession, case_id: int, report_entry_id: int | None) -> list[str]:
    """What the requester shared; the filed report itself is shared too afterwards, but is not listed in itself."""
    entries = (await session.scalars(select(RecordEntry).join(CaseSharedItem, CaseSharedItem.entry_id == RecordEntry.id)
                                     .where(CaseSharedItem.case_id == case_id, RecordEntry.voided_at.is_(None),
                                            RecordEntry.id != (report_entry_id or 0))
                                     .order_by(RecordEntry.occurred_at, RecordEntry.id))).all()
    return [f"{e.occurred_at.astimezone(CST):%Y-%m-%d} {e.code} {e.display}".strip() for e in entries]


async def gather(session: AsyncSession, view: OpinionView) -> Report:
    case: ConsultationCase = view.case
    o = view.opinion
    patient = await session.get(Patient, case.patient_id)
    names = await _names(session, {case.requesting_doctor_id, case.assigned_expert_id, o.signed_by_id}
                         | {s.author_id for s in view.sections} | {a.author_id for a in view.addenda})
    departments = await _departments(session)
    header = [
        Line("会诊编号 / Consultation no.", f"#{case.id}"),
        Line("患者 / Patient", f"{patient.name}{' (' + patient.name_en + ')' if patient.name_en else ''}"),
        Line("性别 / Sex", SEX.get(patient.sex, patient.sex)),
        Line("出生日期 / Date of birth", patient.birth_date.isoformat()),
        Line("身份证号 / National ID", patient.national_id_masked or "-"),
        Line("申请机构 / Requesting facility", await _facility(session, case.requesting_facility_id)),
        Line("申请医生 / Requesting doctor", names.get(case.requesting_doctor_id, "")),
        Line("会诊机构 / Consulting facility", await _facility(session, case.target_facility_id)),
        Line("会诊专家 / Consulting expert", names.get(case.assigned_expert_id or 0, "")),
        Line("紧急程度 / Urgency", URGENCY.get(case.urgency, case.urgency)),
        Line("会诊方式 / Mode", MODE.get(case.mode, case.mode)),
    ]
    opinion = [
        Line("评估 / Assessment", o.assessment),
        Line("建议 / Recommendations", o.recommendations),
        Line("治疗方案 / Treatment plan", o.treatment_plan or "-"),
        Line("转诊建议 / Advice on referral", ADVICE.get(o.referral_advice, o.referral_advice)
             + (f": {o.referral_note}" if o.referral_note else "")),
        Line("随访间隔 / Follow-up interval", f"{o.follow_up_days} 天 / days" if o.follow_up_days else "-"),
    ]
    sections = [Line(f"{departments.get(s.department_id, '')} · {names.get(s.author_id, '')}".strip(" ·"), s.text)
                for s in view.sections]
    check = view.verification
    signature = [
        Line("签署专家 / Signed by", names.get(o.signed_by_id or 0, "")),
        Line("签署时间 / Signed at", when(o.signed_at)),
        Line("内容哈希 (SHA-256) / Content hash", o.content_hash or ""),
        Line("校验 / Verification", "通过 / Verified" if check and check.verified and check.addenda_verified
             else "未通过 / NOT verified"),
    ]
    addenda = [Line(f"{when(a.created_at)} · {names.get(a.author_id, '')}", f"{a.text}\nSHA-256: {a.hash}")
               for a in view.addenda]
    shared = await _shared(session, case.id, o.document_entry_id)
    return Report(case.id, header, case.question, case.clinical_summary, shared, opinion,
                  [f"{d['code']}  {d['display']}" for d in o.diagnoses or []], sections, signature, addenda,
                  o.outcome)


def font_path() -> Path:
    return cjk_font("opinion report")


def draw(report: Report, font: Path) -> bytes:
    pdf = BilingualPDF(font, "CareBridge 会诊报告 / Consultation report", "远程会诊报告 / Teleconsultation report",
                       f"Consultation report #{report.case_id}")
    pdf.lines(report.header)
    pdf.heading("会诊问题 / Question")
    pdf.paragraph(report.question)
    if report.summary:
        pdf.heading("病情摘要 / Clinical summary")
        pdf.paragraph(report.summary)
    pdf.heading("共享资料 / Shared record items")
    pdf.paragraph("\n".join(report.shared))
    pdf.heading("会诊意见 / Consultation opinion")
    pdf.lines(report.opinion)
    pdf.heading("诊断 (ICD-10) / Diagnoses (ICD-10)")
    pdf.paragraph("\n".join(report.diagnoses))
    if report.sections:
        pdf.heading("多学科意见 / Team sections")
        pdf.lines(report.sections)
    pdf.heading("签署 / Signature")
    pdf.lines(report.signature)
    if report.addenda:
        pdf.heading("补充意见 / Addenda")
        pdf.lines(report.addenda)
    if report.outcome:
        pdf.heading("随访结果 / Outcome")
        pdf.paragraph(report.outcome)
    return bytes(pdf.output())


async def render_report(session: AsyncSession, view: OpinionView) -> bytes:
    font = font_path()
    report = await gather(session, view)
    return await asyncio.to_thread(draw, report, font)
