"""JSON in and out of /api/v1/portal."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from carebridge.audit.schemas import AccessLogItemOut
from carebridge.records.schemas import EntryOut, PatientOut


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodeRequestIn(In):
    phone: str = Field(max_length=40)


class CodeSentOut(BaseModel):
    phone_masked: str
    expires_at: dt.datetime
    resend_after_seconds: int


class CodeVerifyIn(In):
    phone: str = Field(max_length=40)
    code: str = Field(max_length=12)
    want: Literal["session", "token"] = Field("session", description="a cookie session for browsers, or a "
                                              "bearer token for programs")


class SignedInOut(BaseModel):
    user_id: int
    signed_up: bool
    link_status: str
    needs_profile: bool
    second_factor_required: bool = False
    token: str | None = Field(None, description="bearer token (want=token)")
    token_expires_at: dt.datetime | None = None
    csrf_token: str | None = Field(None, description="send as X-CSRF-Token with the cookie session (want=session)")


class ProfileIn(In):
    name: str = Field(max_length=100)
    national_id: str = Field(max_length=18)


class ActingForOut(BaseModel):
    patient_id: int
    name: str
    is_self: bool
    relationship: str = ""
    scope: str = "all"
    permission_id: int | None = None


class MeOut(BaseModel):
    user_id: int
    display_name: str
    phone_masked: str
    real_name: str
    sex: str
    birth_date: dt.date | None
    national_id_masked: str
    link_status: str
    patient_id: int | None
    acting_for: list[ActingForOut]


class CaregiverIn(In):
    phone: str = Field(max_length=40)
    name: str = Field("", max_length=100)
    relationship: str = Field("other", description="child, spouse, parent, sibling, other")
    scope: Literal["all", "read"] = "all"


class PaperPermissionIn(CaregiverIn):
    reference: str = Field(max_length=200, description="the signed form's number, or where its scan is filed")


class RevokeIn(In):
    reason: str = Field("", max_length=500)


class PermissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    caregiver_phone_masked: str
    caregiver_user_id: int | None
    caregiver_name: str
    relationship: str
    scope: str
    basis: str
    paper_reference: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    revoke_reason: str


class RecordOut(BaseModel):
    patient: PatientOut
    access_basis: str
    conditions: list[EntryOut]
    allergies: list[str]
    medications: list[EntryOut]
    results: list[EntryOut]
    documents: list[EntryOut]


class ReportItemOut(BaseModel):
    kind: str
    id: int
    title: str
    facility: str
    when: dt.datetime
    status: str
    status_label: str
    url: str


class DiagnosisReportOut(BaseModel):
    order_id: int
    title: str
    hub: str
    signed_at: dt.datetime
    signer: str
    findings: list[dict]
    impression: str
    free_text: str
    critical: bool
    addenda: list[dict]
    verified: bool
    document_url: str | None


class OpinionOut(BaseModel):
    case_id: int
    facility: str
    signed_at: dt.datetime
    signer: str
    assessment: str
    diagnoses: list[dict]
    recommendations: str
    treatment_plan: str
    follow_up_days: int | None
    sections: list[dict]
    addenda: list[dict]
    verified: bool


class OrderItemOut(BaseModel):
    kind: str
    title: str
    status: str
    status_label: str
    when: dt.datetime
    url: str
    needs_action: bool


class AccessLogOut(BaseModel):
    items: list[AccessLogItemOut]
    next_cursor: str | None = None


class ClaimOut(BaseModel):
    id: int
    created_at: dt.datetime
    reason: str
    claimant_name: str
    claimant_national_id: str
    claimant_sex: str
    claimant_birth_date: dt.date | None
    claimant_phone: str
    patient_id: int
    patient_name: str
    patient_national_id_masked: str
    patient_phone_masked: str
    facility: str
    mrn: str


class DecisionIn(In):
    note: str = Field("", max_length=500)
