from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from carebridge.realtime.api import IceConfigOut

Clock = Annotated[str, StringConstraints(pattern=r"^\d{1,2}:\d{2}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeriesIn(_In):
    facility_id: int = Field(description="a facility where you work as a doctor")
    department_id: int | None = Field(None, description="default: your department at that facility")
    first_day: dt.date
    last_day: dt.date
    weekdays: list[int] = Field(min_length=1, max_length=7, description="ISO weekdays, 1 = Monday ... 7 = Sunday")
    start: Clock = Field(description="local time HH:MM (the network's time zone)")
    end: Clock
    visit_minutes: int = Field(ge=5, le=120)
    buffer_minutes: int = Field(0, ge=0, le=60, description="free time after each visit")
    daily_max: int = Field(ge=1, le=100, description="at most this many visits booked per day")
    cancel_cutoff_hours: int = Field(ge=0, le=168, description="patients may cancel until this long before")
    mode: Literal["video", "text"]
    price_fen: int = Field(ge=0, le=1_000_000, description="integer fen (1 yuan = 100 fen)")


class SeriesOut(BaseModel):
    id: int
    facility_id: int
    facility_name: str
    department_id: int | None
    first_day: dt.date
    last_day: dt.date
    weekdays: list[int]
    start: str
    end: str
    visit_minutes: int
    buffer_minutes: int
    daily_max: int
    cancel_cutoff_hours: int
    mode: str
    price_fen: int
    withdrawn_at: dt.datetime | None
    slots: int = Field(description="slots not withdrawn")
    booked: int


class SeriesList(BaseModel):
    items: list[SeriesOut]


class WithdrawOut(BaseModel):
    series_id: int
    withdrawn_slots: int


class DoctorOut(BaseModel):
    doctor_user_id: int
    name: str
    title: str
    facility_id: int
    facility_name: str
    department_id: int | None
    department_name: str
    next_free: dt.datetime
    free_slots: int
    price_fen: int
    modes: list[str]


class DoctorList(BaseModel):
    items: list[DoctorOut]


class SlotOut(BaseModel):
    id: int
    facility_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    mode: str
    price_fen: int
    cancel_cutoff_hours: int


class SlotList(BaseModel):
    items: list[SlotOut]


class ConditionOut(BaseModel):
    condition_id: int
    code: str
    display: str
    diagnosed_at: dt.datetime | None
    facility_name: str
    eligible: bool
    reason: str = Field(description="why not, when not eligible: voided, not_active, not_confirmed, "
                        "diagnosed_online, no_in_person_visit, not_in_record")
    explanation: str


class EligibilityOut(BaseModel):
    rule: str
    items: list[ConditionOut]


class BookIn(_In):
    patient_id: int
    slot_id: int
    condition_id: int = Field(description="the Condition entry this visit follows up (see /visits/eligibility)")
    complaint: str = Field("", max_length=1000, description="what has changed since, in the patient's words")


class ReasonIn(_In):
    reason: str = Field("", max_length=500, description="required when the doctor cancels")


class DiagnosisIn(_In):
    code: str = Field(max_length=10, description="ICD-10")
    display: str = Field("", max_length=300)
    clinical_status: str = "active"


class CompleteIn(_In):
    note: str = Field(min_length=1, max_length=4000)
    diagnoses: list[DiagnosisIn] = Field(min_length=1, max_length=5)


class VisitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    doctor_user_id: int
    facility_id: int
    department_id: int | None
    condition_id: int
    condition_code: str
    condition_display: str
    complaint: str
    mode: str
    price_fen: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    cancel_until: dt.datetime
    state: str
    state_reason: str
    charge_id: int | None
    checked_in_at: dt.datetime | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    encounter_id: int | None
    note: str
    created_at: dt.datetime
    allowed_actions: list[str] = []


class VisitList(BaseModel):
    items: list[VisitOut]


class RoomTokenOut(BaseModel):
    room: str
    token: str
    expires_in: int = Field(description="seconds; connect to ws_path before then")
    ws_path: str
    state: str
    case_state: str = Field(description="the same as state (the shared room script reads this name)")
    session_started_at: dt.datetime | None
    ice: IceConfigOut


class MessageIn(_In):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class MessageOut(BaseModel):
    id: int
    visit_id: int
    author_user_id: int
    author_name: str
    text: str
    created_at: dt.datetime
    attachment: None = None


class MessageList(BaseModel):
    items: list[MessageOut]
