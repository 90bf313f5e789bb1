"""JSON in and out of the delivery API, and the courier webhook's wire format."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient: str = Field(max_length=50)
    phone: str = Field(max_length=20)
    region: str = Field(max_length=100, description="province, city and district, e.g. 山西省 太原市 小店区")
    detail: str = Field(max_length=200, description="street, building and room")


class AddressOut(AddressIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    last_used_at: dt.datetime


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_kind: str = Field("prescription", max_length=30, description="what is fulfilled, e.g. prescription")
    source_id: int
    method: Literal["pickup", "delivery"]
    address_id: int | None = Field(None, description="delivery: a remembered address of the patient")
    address: AddressIn | None = Field(None, description="delivery: a new address (remembered for next time)")


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=300, description="cancel: why (required from the pharmacy)")
    note: str = Field("", max_length=500, description="pack, prepare: a note for the timeline")
    courier: str = Field("", max_length=20, description="ship: a configured courier code")
    tracking_number: str = Field("", max_length=40, description="ship")
    pickup_code: str = Field("", max_length=6, description="hand_over: the code the patient shows")


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    code: str
    label: str
    unit_fen: int
    quantity: int
    insured: bool


class TimelineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    state: str
    courier_event: str
    party: str
    actor_name: str
    location: str
    note: str
    occurred_at: dt.datetime
    label: str = ""


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str = ""
    patient_id: int
    facility_id: int
    source_kind: str
    source_id: int
    label: str
    method: str
    state: str
    state_label: str = ""
    cold_chain: bool
    drugs_fen: int
    fees_fen: int
    total_fen: int
    charge_id: int | None
    charge_status: str | None = None
    self_pay_fen: int | None = Field(None, description="what the patient pays after discount and insurance")
    refunded_fen: int = 0
    pay_url: str | None = None
    recipient: str
    phone: str
    region: str
    address_detail: str
    courier: str | None
    courier_name: str = ""
    tracking_number: str | None
    pickup_code: str | None = Field(None, description="only to the patient's side, while the pickup waits")
    state_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    allowed_actions: list[str] = []
    lines: list[LineOut] = []
    timeline: list[TimelineOut] = []


class OrderList(BaseModel):
    items: list[OrderOut]


class QuoteOut(BaseModel):
    source_kind: str
    source_id: int
    label: str
    facility_id: int
    cold_chain: bool
    method: str
    lines: list[LineOut]
    drugs_fen: int
    fees_fen: int
    total_fen: int
    discount_fen: int
    insurance_fen: int
    self_pay_fen: int
    rules: list[str]
    existing_order_id: int | None


class CourierOut(BaseModel):
    code: str
    name: str


class CourierEventIn(BaseModel):
    """What a courier sends (docs/delivery-webhook.md). Unknown fields are ignored: couriers add
    their own, and refusing them would lose events."""

    model_config = ConfigDict(extra="ignore")

    event_id: str = Field(min_length=1, max_length=100,
                          description="the courier's id of this event; repeats are ignored")
    tracking_number: str = Field(min_length=6, max_length=40)
    event: Literal["picked_up", "in_transit", "delivered", "failed", "returned"]
    time: AwareDatetime = Field(description="when it happened, ISO 8601 with an offset")
    location: str = Field("", max_length=200)
    note: str = Field("", max_length=500, description="e.g. who signed, why it failed")


class CourierReceiptOut(BaseModel):
    status: Literal["applied", "timeline", "out_of_order", "duplicate"]
