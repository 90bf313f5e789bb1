"""Pydantic models in and out of the consultations API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CaseIn(Input):
    patient_id: int
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    clinical_summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)] = ""
    urgency: Literal["emergency", "urgent", "routine"] = "routine"
    mode: Literal["live", "async"] = "async"
    specialty: str | None = Field(None, max_length=40, description="a department code")
    named_expert_id: int | None = None
    target_facility_id: int | None = Field(None, description="leave empty to route to the nearest higher tier")
    shared_entry_ids: list[int] = Field(default_factory=list, max_length=500)
    team_specialties: list[str] = Field(default_factory=list, max_length=4,
                                        description="department codes: a multi-disciplinary team, one seat each")


class ActionIn(Input):
    note: Note = ""


class InviteIn(Input):
    user_id: int
    seat_id: int | None = Field(None, description="an open seat; leave empty to add a seat")
    specialty: str | None = Field(None, max_length=40, description="department code of a new seat")


class TeamSeatOut(Output):
    id: int
    department_id: int | None
    member_user_id: int | None
    invited_at: dt.datetime | None


class CaseOut(Output):
    id: int
    patient_id: int
    requesting_facility_id: int
    requesting_doctor_id: int
    question: str
    clinical_summary: str
    urgency: str
    mode: str
    specialty_department_id: int | None
    named_expert_id: int | None
    target_facility_id: int | None
    assigned_expert_id: int | None
    state: str
    due_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    version: int


class EventOut(Output):
    at: dt.datetime
    actor_user_id: int | None
    actor_part: str
    action: str
    from_state: str
    to_state: str
    note: str


class SharedEntryOut(Output):
    id: int
    kind: str
    occurred_at: dt.datetime
    code_system: str
    code: str
    display: str


class CaseDetail(CaseOut):
    my_parts: list[str]
    actions: list[str] = Field(description="the lifecycle actions the caller can take now")
    events: list[EventOut]
    team: list[TeamSeatOut] = Field(default_factory=list, description="multi-disciplinary team seats")
    shared_entries: list[SharedEntryOut]


class CaseList(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None
