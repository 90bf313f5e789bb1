from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(_In):
    drug_code: str = Field(max_length=60, description="catalogue code, see GET /api/v1/pharmacy/drugs")
    dose: float = Field(gt=0, description="per administration, in the drug's dose unit")
    frequency: str = Field(max_length=10, description="qd, bid, tid, qid, qn, q12h, q8h, qw, prn")
    duration_days: int = Field(ge=1, le=365)
    route: str = Field("", max_length=20, description="empty: the drug's usual route")
    quantity: int | None = Field(None, ge=1, le=999, description="packs; empty: dose × frequency × duration")
    instructions: str = Field("", max_length=200)


class PrescriptionIn(_In):
    patient_id: int
    items: list[ItemIn] = Field(min_length=1, max_length=5)
    kind: Literal["chronic", "acute"] = "chronic"
    diagnosis: str = Field("", max_length=300)
    visit_id: int | None = Field(None, description="the online visit this was written in, if any")
    refills_allowed: int = Field(0, ge=0, le=12)
    valid_days: int | None = Field(None, ge=1, le=365, description="empty: 30 days chronic, 3 days acute")
    dispensing_facility_id: int | None = Field(None, description="empty: the nearest pharmacy that reviews")
    note: str = Field("", max_length=500)


class RevisionIn(_In):
    items: list[ItemIn] = Field(min_length=1, max_length=5)
    diagnosis: str = Field("", max_length=300)
    note: str = Field("", max_length=500, description="what changed, for the pharmacist")


class ReasonIn(_In):
    reason: str = Field("", max_length=500, description="required to return or cancel")


class RefillIn(_In):
    note: str = Field("", max_length=500)


class RefillDecisionIn(_In):
    reason: str = Field("", max_length=500, description="required to decline")
    items: list[ItemIn] | None = Field(None, min_length=1, max_length=5, description="approve with these lines instead")
    note: str = Field("", max_length=500)


class DrugOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    atc: str
    generic_zh: str
    generic_en: str
    name_zh: str
    name_en: str
    form: str
    strength: str
    dose_unit: str
    unit_amount: float
    pack_count: int
    pack_unit: str
    routes: list[str]
    default_frequency: str
    max_daily: float | None
    therapeutic_class: str
    chronic: bool
    cold_chain: bool
    insured: bool
    price_fen: int


class CheckOut(BaseModel):
    kind: str
    severity: str
    text: str
    advice: str
    source: str


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    drug_code: str
    atc: str
    label: str
    label_en: str
    dose: float
    dose_unit: str
    route: str
    frequency: str
    duration_days: int
    quantity: int
    pack_unit: str
    unit_fen: int
    insured: bool
    cold_chain: bool
    instructions: str
    statement_id: int | None


class VersionOut(BaseModel):
    number: int
    created_at: dt.datetime
    note: str
    check_level: str
    checks: list[CheckOut]
    outcome: str
    outcome_reason: str
    reviewed_at: dt.datetime | None
    items: list[ItemOut]


class PrescriptionOut(BaseModel):
    id: int
    patient_id: int
    facility_id: int
    dispensing_facility_id: int
    prescriber_id: int
    visit_id: int | None
    kind: str
    diagnosis: str
    state: str
    state_reason: str
    version_no: int
    refills_allowed: int
    refills_used: int
    refill_of_id: int | None
    valid_until: dt.datetime
    submitted_at: dt.datetime
    reviewed_at: dt.datetime | None
    dispensed_at: dt.datetime | None
    check_level: str
    checks: list[CheckOut]
    items: list[ItemOut]
    versions: list[VersionOut]
    allowed_actions: list[str]
    refill_refusal: str | None = Field(None, description="why a refill cannot be asked for now (patient side)")


class PrescriptionSummary(BaseModel):
    id: int
    patient_id: int
    state: str
    kind: str
    check_level: str
    submitted_at: dt.datetime
    items: list[str]


class PrescriptionList(BaseModel):
    items: list[PrescriptionSummary]


class RefillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    prescription_id: int
    patient_id: int
    facility_id: int
    state: str
    note: str
    reason: str
    new_prescription_id: int | None
    created_at: dt.datetime
    decided_at: dt.datetime | None


class RefillList(BaseModel):
    items: list[RefillOut]
