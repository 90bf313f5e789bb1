"""Pydantic models in and out of the opinion API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from carebridge.consultations.opinion import OpinionView
from carebridge.consultations.schemas import Input, Output

LongText = Annotated[str, StringConstraints(max_length=20000)]
Note = Annotated[str, StringConstraints(max_length=2000)]


class DiagnosisIn(Input):
    code: str = Field(max_length=12, description="ICD-10, e.g. I48.9")
    display: str = Field("", max_length=300, description="empty: the code list's name when the code is known")


class DraftIn(Input):
    assessment: LongText = ""
    diagnoses: list[DiagnosisIn] = Field(default_factory=list, max_length=12)
    recommendations: LongText = ""
    treatment_plan: LongText = ""
    referral_advice: Literal["none", "refer_up", "refer_down", "keep_local"] = "none"
    referral_note: Note = ""
    follow_up_days: int | None = Field(None, description="follow-up interval in days (1-365)")


class TextIn(Input):
    text: LongText


class OutcomeIn(Input):
    outcome: Note
    close: bool = Field(False, description="also close the case (possible once acknowledged)")


class ReferralStartIn(Input):
    to_facility_id: int | None = Field(None, description="up: defaults to the consulting facility; down: required")
    reason: str | None = Field(None, max_length=30, description="defaults: specialist_needed up, follow_up down")


class DiagnosisOut(BaseModel):
    code: str
    display: str


class SectionOut(Output):
    id: int
    author_id: int
    department_id: int | None
    text: str
    updated_at: dt.datetime


class AddendumOut(Output):
    id: int
    author_id: int
    author_part: str
    text: str
    created_at: dt.datetime
    prev_hash: str
    hash: str


class VerificationOut(Output):
    verified: bool = Field(description="the signed content recomputed from the stored rows has the signed hash")
    content_hash: str
    recomputed: str
    addenda_verified: bool
    broken_addendum_id: int | None


class OpinionOut(BaseModel):
    case_id: int
    case_state: str
    signed: bool
    assessment: str = ""
    diagnoses: list[DiagnosisOut] = []
    recommendations: str = ""
    treatment_plan: str = ""
    referral_advice: str = "none"
    referral_note: str = ""
    follow_up_days: int | None = None
    sections: list[SectionOut] = []
    signed_at: dt.datetime | None = None
    signed_by_id: int | None = None
    content_hash: str | None = None
    verification: VerificationOut | None = None
    addenda: list[AddendumOut] = []
    document_entry_id: int | None = Field(None, description="the signed report in the patient's record")
    referral_id: int | None = None
    follow_up_due_at: dt.datetime | None = None
    outcome: str = ""
    outcome_recorded_at: dt.datetime | None = None
    can: list[str] = Field(default_factory=list, description="edit, write_section, sign, add_addendum")


def opinion_out(view: OpinionView) -> OpinionOut:
    can = [name for name, ok in (("edit", view.may_edit), ("write_section", view.may_write_section),
                                 ("sign", view.may_edit), ("add_addendum", view.may_add_addendum)) if ok]
    base = {"case_id": view.case.id, "case_state": view.case.state, "signed": view.signed, "can": can}
    o = view.opinion
    if o is None:
        return OpinionOut(**base)
    return OpinionOut(
        **base, assessment=o.assessment, diagnoses=[DiagnosisOut(**d) for d in o.diagnoses or []],
        recommendations=o.recommendations, treatment_plan=o.treatment_plan, referral_advice=o.referral_advice,
        referral_note=o.referral_note, follow_up_days=o.follow_up_days,
        sections=[SectionOut.model_validate(s) for s in view.sections], signed_at=o.signed_at,
        signed_by_id=o.signed_by_id, content_hash=o.content_hash,
        verification=VerificationOut.model_validate(view.verification) if view.verification else None,
        addenda=[AddendumOut.model_validate(a) for a in view.addenda], document_entry_id=o.document_entry_id,
        referral_id=o.referral_id, follow_up_due_at=o.follow_up_due_at, outcome=o.outcome,
        outcome_recorded_at=o.outcome_recorded_at)
