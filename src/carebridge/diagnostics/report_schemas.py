"""Pydantic models in and out of the report, double-read and reading-settings API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from carebridge.diagnostics import report_content, reports
from carebridge.diagnostics import report_templates as templates
from carebridge.diagnostics.ecg_preread import Preread
from carebridge.diagnostics.quality import DoubleReadView, HubQuality

LongText = Annotated[str, StringConstraints(max_length=20000)]
Note = Annotated[str, StringConstraints(max_length=500)]
FindingValue = Annotated[str, StringConstraints(max_length=4000)] | float | None


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ChoiceOut(BaseModel):
    value: str
    en: str
    zh: str


class FieldOut(BaseModel):
    key: str
    en: str
    zh: str
    kind: str = Field(description="text, choice or number")
    unit: str = Field(description="UCUM unit of a number")
    choices: list[ChoiceOut]
    low: float | None
    high: float | None
    required: bool


class TemplateOut(BaseModel):
    key: str
    en: str
    zh: str
    fields: list[FieldOut] = []


def template_out(tmpl: templates.ReportTemplate, with_fields: bool = True) -> TemplateOut:
    fields = [FieldOut(key=f.key, en=f.en, zh=f.zh, kind=f.kind.value, unit=f.unit,
                       choices=[ChoiceOut(value=c.value, en=c.en, zh=c.zh) for c in f.choices], low=f.low,
                       high=f.high, required=f.required) for f in tmpl.fields] if with_fields else []
    return TemplateOut(key=tmpl.key, en=tmpl.en, zh=tmpl.zh, fields=fields)


class DraftIn(Input):
    template_key: str | None = Field(None, max_length=40, description="empty: keep the current (or chosen) template")
    findings: dict[str, FindingValue] = Field(default_factory=dict, description="field key -> value")
    impression: LongText = ""
    free_text: LongText = ""
    critical: bool = False
    critical_note: Note = ""


class PrereadOut(BaseModel):
    values: dict[str, str | float]
    notes: list[str]


class DraftOut(BaseModel):
    order_id: int
    order_state: str
    template: TemplateOut
    templates_available: list[TemplateOut]
    findings: dict[str, str | float] = {}
    preread_keys: list[str] = Field([], description="findings still as the automatic pre-read gave them")
    impression: str = ""
    free_text: str = ""
    critical: bool = False
    critical_note: str = ""
    updated_at: dt.datetime | None = None
    updated_by_id: int | None = None
    preread: PrereadOut | None = None
    claimed_until: dt.datetime | None = None
    can: list[str] = Field(description="edit, sign_preliminary, sign_final")


class SignIn(Input):
    kind: Literal["preliminary", "final"]


class AddendumIn(Input):
    text: Annotated[str, StringConstraints(min_length=3, max_length=4000)]
    critical: bool = Field(False, description="the addendum reports a critical finding (needs a new acknowledgement)")


class AcknowledgeIn(Input):
    note: Note = ""


class VersionOut(BaseModel):
    id: int
    kind: str
    signed_by_id: int
    signed_at: dt.datetime
    content_hash: str
    critical: bool
    content: dict = Field(description="the signed content, exactly as hashed (canonical JSON)")


class AddendumOut(Output):
    id: int
    author_id: int
    text: str
    critical: bool
    created_at: dt.datetime
    prev_hash: str
    hash: str


class VerificationOut(BaseModel):
    verified: bool = Field(description="every signed version and addendum recomputed from the stored rows matches")
    problems: list[str]


class CriticalOut(BaseModel):
    state: str = Field(description="none, unacknowledged or acknowledged")
    flagged_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    acknowledged_by_id: int | None = None
    note: str = ""


class ReportOut(BaseModel):
    order_id: int
    order_state: str
    signed: bool
    final: bool
    verified: bool
    verification: VerificationOut | None = None
    versions: list[VersionOut] = []
    addenda: list[AddendumOut] = []
    critical: CriticalOut
    document_entry_id: int | None = Field(None, description="the filed PDF in the patient's record")
    can: list[str] = Field(description="edit, sign_preliminary, sign_final, add_addendum, acknowledge")


def _can(view: reports.ReportView) -> list[str]:
    return [name for name, ok in (("edit", view.may_edit), ("sign_preliminary", view.may_sign_preliminary),
                                  ("sign_final", view.may_sign_final), ("add_addendum", view.may_add_addendum),
                                  ("acknowledge", view.may_acknowledge and view.critical_state == "unacknowledged"))
            if ok]


def report_out(view: reports.ReportView) -> ReportOut:
    row = view.row
    critical = CriticalOut(state=view.critical_state)
    if row is not None and row.critical_flagged_at is not None:
        critical = CriticalOut(state=view.critical_state, flagged_at=row.critical_flagged_at,
                               acknowledged_at=row.critical_ack_at, acknowledged_by_id=row.critical_ack_by_id,
                               note=row.critical_ack_note)
    check = view.verification
    return ReportOut(
        order_id=view.order.id, order_state=view.order.state, signed=view.signed, final=view.final,
        verified=bool(check and check.verified),
        verification=VerificationOut(verified=check.verified, problems=list(check.problems)) if check else None,
        versions=[VersionOut(id=v.id, kind=v.kind, signed_by_id=v.signed_by_id, signed_at=v.signed_at,
                             content_hash=v.content_hash, critical=v.critical, content=report_content.parsed(v))
                  for v in view.versions],
        addenda=[AddendumOut.model_validate(a) for a in view.addenda], critical=critical,
        document_entry_id=row.document_entry_id if row else None, can=_can(view))


def _preread_out(preread: Preread | None) -> PrereadOut | None:
    return PrereadOut(values=preread.values, notes=preread.notes) if preread else None


def draft_out(view: reports.ReportView) -> DraftOut:
    d = view.draft
    base = {"order_id": view.order.id, "order_state": view.order.state, "template": template_out(view.template),
            "templates_available": [template_out(t, False) for t in templates.for_modality(view.order.modality)],
            "preread": _preread_out(view.preread), "can": [c for c in _can(view) if c in (
                "edit", "sign_preliminary", "sign_final")],
            "claimed_until": view.order.claimed_until if view.holds_claim else None}
    if d is None:  # nothing written yet: what the pre-read measured, as the reading page shows it
        values = dict(view.preread.values) if view.preread else {}
        return DraftOut(**base, findings=values, preread_keys=sorted(values))
    return DraftOut(**base, findings=d.findings or {}, preread_keys=d.preread_keys or [], impression=d.impression,
                    free_text=d.free_text, critical=d.critical, critical_note=d.critical_note,
                    updated_at=d.updated_at, updated_by_id=d.updated_by_id)


class HubSettingsIn(Input):
    two_step: bool
    double_read_percent: int = Field(ge=0, le=100)


class HubSettingsOut(BaseModel):
    facility_id: int
    two_step: bool
    double_read_percent: int


class DoubleReadOut(BaseModel):
    id: int
    order_id: int
    accession_number: str
    modality: str
    body_part: str
    state: str
    selected_at: dt.datetime
    first_reader_id: int
    second_reader_id: int | None
    second_impression: str = ""
    first_impression: str | None = Field(None, description="shown only after the second reading is submitted")
    grade: str | None = None
    comment: str = ""
    can: list[str] = Field(default_factory=list, description="take, read, grade")


def double_read_out(view: DoubleReadView) -> DoubleReadOut:
    item, order = view.item, view.order
    first = report_content.parsed(view.first).get("impression") if view.first else None
    can = [n for n, ok in (("take", view.may_take), ("read", view.may_read), ("grade", view.may_grade)) if ok]
    return DoubleReadOut(id=item.id, order_id=order.id, accession_number=order.accession_number,
                         modality=order.modality, body_part=order.body_part, state=item.state,
                         selected_at=item.selected_at, first_reader_id=item.first_reader_id,
                         second_reader_id=item.second_reader_id,
                         second_impression=item.second_impression if item.second_read_at else "",
                         first_impression=first, grade=item.grade, comment=item.comment, can=can)


class ReadingIn(Input):
    impression: Annotated[str, StringConstraints(min_length=3, max_length=20000)]


class GradeIn(Input):
    grade: Literal["1", "2a", "2b", "3a", "3b"] = Field(description="RADPEER: 1 agree; 2/3 discrepancy; b significant")
    comment: Annotated[str, StringConstraints(max_length=2000)] = ""


class ReaderStatsOut(BaseModel):
    reader_id: int
    reader_name: str
    graded: int
    discrepancies: int
    significant: int = Field(description="grades 2b and 3b")
    rate: float
    by_grade: dict[str, int]


class DiscrepancyOut(BaseModel):
    double_read_id: int
    order_id: int
    first_reader_id: int
    second_reader_id: int | None
    grade: str
    graded_at: dt.datetime | None


class HubQualityOut(BaseModel):
    hub_id: int
    pending: int
    readers: list[ReaderStatsOut]
    discrepancies: list[DiscrepancyOut]


def hub_quality_out(stats: HubQuality, names: dict[int, str]) -> HubQualityOut:
    return HubQualityOut(
        hub_id=stats.hub_id, pending=stats.pending,
        readers=[ReaderStatsOut(reader_id=r.reader_id, reader_name=names.get(r.reader_id, ""), graded=r.graded,
                                discrepancies=r.discrepancies, significant=r.significant, rate=round(r.rate, 4),
                                by_grade=r.by_grade) for r in stats.readers],
        discrepancies=[DiscrepancyOut(double_read_id=d.id, order_id=d.order_id, first_reader_id=d.first_reader_id,
                                      second_reader_id=d.second_reader_id, grade=d.grade or "", graded_at=d.graded_at)
                       for d in stats.discrepancies])
