from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: int
    to_facility_id: int
    reason: str = Field(max_length=30, description="up: capability_gap, equipment, specialist_needed, "
                        "patient_preference, emergency; down: rehabilitation, follow_up")
    summary: str = Field("", max_length=2000)
    plan: str = Field("", max_length=2000, description="down-referrals: the plan for the local doctor")
    follow_up_days: int | None = Field(None, description="down-referrals: follow-up interval in days")


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=500, description="required to decline or cancel")


class ReferralOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    from_facility_id: int
    to_facility_id: int
    direction: str
    reason: str
    summary: str
    plan: str
    follow_up_days: int | None
    state: str
    state_reason: str
    requested_by_id: int
    grant_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    ended_at: dt.datetime | None
    allowed_actions: list[str] = []


class ReferralList(BaseModel):
    items: list[ReferralOut]
    next_cursor: str | None
