"""Pydantic models of diagnosis orders and studies in and out of /api/v1."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from carebridge.diagnostics.models import Modality, Urgency


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: int
    modality: Modality
    clinical_question: str = Field(min_length=3, max_length=2000)
    urgency: Urgency = Urgency.routine
    body_part: str = Field("", max_length=64)
    accession_number: str = Field("", max_length=16)
    hub_facility_id: int | None = None
    frozen_section: bool = False


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=2000)


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: int


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    requesting_facility_id: int
    requesting_user_id: int
    hub_facility_id: int
    modality: str
    body_part: str
    clinical_question: str
    urgency: str
    frozen_section: bool
    two_step: bool
    accession_number: str
    state: str
    created_at: dt.datetime
    study_complete_at: dt.datetime | None
    due_at: dt.datetime | None
    read_started_at: dt.datetime | None
    signed_at: dt.datetime | None
    assigned_reader_id: int | None
    claimed_by_id: int | None
    claimed_until: dt.datetime | None


class OrderList(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class StudyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    order_id: int | None
    sending_facility_id: int
    hub_facility_id: int | None
    patient_id: int | None
    sent_patient_key: str
    sent_patient_name: str
    accession_number: str
    study_uid: str
    modality: str
    description: str
    acquired_at: dt.datetime | None
    first_received_at: dt.datetime
    last_received_at: dt.datetime
    completed_at: dt.datetime | None
    item_count: int
    byte_count: int


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: dt.datetime
    actor_user_id: int | None
    party: str
    action: str
    from_state: str
    to_state: str
    note: str


class OrderDetail(OrderOut):
    my_parties: list[str]
    studies: list[StudyOut]
    events: list[EventOut]
