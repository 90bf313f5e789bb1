from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from carebridge.payments.pricing import MAX_LINE_FEN, MAX_QUANTITY


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceLineIn(In):
    code: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=200)
    unit_fen: int = Field(ge=0, le=MAX_LINE_FEN)
    quantity: int = Field(1, ge=1, le=MAX_QUANTITY)
    insured: bool = False


class QuoteIn(In):
    facility_id: int
    patient_id: int | None = None
    lines: list[PriceLineIn] = Field(min_length=1, max_length=50)


class LineOut(BaseModel):
    code: str
    label: str
    unit_fen: int
    quantity: int
    insured: bool
    list_fen: int
    discount_fen: int
    insurance_fen: int
    self_pay_fen: int


class QuoteOut(BaseModel):
    scheme: str
    rules: list[str]
    total_fen: int
    discount_fen: int
    insurance_fen: int
    self_pay_fen: int
    lines: list[LineOut]


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    amount_fen: int
    reason: str
    created_at: dt.datetime


class ChargeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    facility_id: int
    purpose: str
    purpose_id: int
    status: str
    scheme: str
    rules: list[str]
    total_fen: int
    discount_fen: int
    insurance_fen: int
    self_pay_fen: int
    refunded_fen: int
    receipt_number: str
    created_at: dt.datetime
    paid_at: dt.datetime | None
    lines: list[LineOut] = []
    refunds: list[RefundOut] = []


class ChargeList(BaseModel):
    items: list[ChargeOut]


class CheckoutOut(BaseModel):
    reference: str
    redirect_url: str


class RefundIn(In):
    reason: str = Field(min_length=2, max_length=300)
    amount_fen: int | None = Field(None, ge=1, le=MAX_LINE_FEN)


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    tiers: list[str]
    percent_off: int
    active: bool


class RuleIn(In):
    percent_off: int = Field(ge=0, le=50)
    active: bool = True


class CoverageIn(In):
    scheme: str = Field(max_length=20)
    member_number: str = Field("", max_length=40)


class CoverageOut(BaseModel):
    patient_id: int
    scheme: str
    member_number: str


class ReconciliationOut(BaseModel):
    ok: bool
    ledger_total_fen: int
    unbalanced_txns: list[str]
    balances: dict[str, int]
    problems: list[str]
