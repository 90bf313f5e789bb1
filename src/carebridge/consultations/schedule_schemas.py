"""Pydantic models in and out of the suggestions, breaches and scheduling API."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, Field

from carebridge.consultations.schemas import Input, Note, Output


class SuggestionOut(Output):
    user_id: int
    display_name: str
    facility_name: str
    specialty_id: int | None
    specialty_match: bool
    on_duty: bool
    open_cases: int = Field(description="cases this doctor is answering now (assigned expert or team member)")
    languages: list[str]
    shared_languages: list[str] = Field(description="languages shared with the patient or the requester")


class SuggestionList(Output):
    case_id: int
    seat_id: int | None
    department_id: int | None
    can_assign: bool = Field(description="the caller may assign the case to one of them now (POST .../assign)")
    items: list[SuggestionOut]


class AssignIn(Input):
    user_id: int
    note: Note = ""


class BreachOut(Output):
    id: int
    case_id: int
    case_state: str
    urgency: str
    target_facility_id: int
    target_facility_name: str
    due_at: dt.datetime
    detected_at: dt.datetime
    escalated_to_facility_id: int | None
    escalated_to_user_id: int | None
    escalated_to_name: str


class BreachList(Output):
    items: list[BreachOut]


class SlotOut(Output):
    starts_at: dt.datetime
    ends_at: dt.datetime


class ScheduleOut(Output):
    case_id: int
    state: str
    starts_at: dt.datetime | None = Field(description="the booked session (UTC)")
    ends_at: dt.datetime | None
    cancelled: bool
    sequence: int = Field(description="the invitation's SEQUENCE")
    proposed_starts_at: dt.datetime | None
    proposed_ends_at: dt.datetime | None
    proposed_side: str | None = Field(description="requester or expert; the other side confirms")
    proposal_note: str
    my_side: str | None
    can_propose: bool
    can_confirm: bool
    reason_required: bool = Field(description="a session is booked: moving it needs a reason in `note`")
    slots: list[SlotOut] = Field(description="free slots for a proposal: every expert rostered, nobody booked")


class ProposalIn(Input):
    starts_at: AwareDatetime = Field(description="one of the offered slots' starts_at")
    note: Note = ""
