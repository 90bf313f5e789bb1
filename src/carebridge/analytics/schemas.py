"""What the analytics API returns: the dashboard's numbers, aggregates only."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class GroupOut(BaseModel):
    key: str
    count: int
    name: str = ""
    name_en: str = ""
    tier: str = ""


class TimingOut(BaseModel):
    urgency: str
    target_minutes: float | None
    cases: int
    responded: int
    response_median_minutes: float | None
    response_p90_minutes: float | None
    within_target: int | None
    within_target_share: float | None
    completed: int
    completion_median_minutes: float | None
    completion_p90_minutes: float | None


class BreachesOut(BaseModel):
    total: int
    late: int
    unanswered: int
    by_urgency: dict[str, int]


class ReferralsOut(BaseModel):
    up: int
    down: int
    up_above_county: int
    by_state: dict[str, dict[str, int]]


class CountyShareOut(BaseModel):
    definition: str
    eligible: int
    kept: int
    share: float | None
    goal: float
    answered_within_county: int
    answered_within_county_share: float | None


class WeekOut(BaseModel):
    week_start: dt.date
    submitted: int
    breaches: int
    county_eligible: int
    county_kept: int
    county_share: float | None


class FiltersOut(BaseModel):
    since: dt.date
    until: dt.date
    urgency: str | None
    facility_id: int | None


class ConsultationAnalyticsOut(BaseModel):
    filters: FiltersOut
    network_wide: bool
    facility_ids: list[int]
    submitted: int
    by_state: dict[str, int]
    by_tier: list[GroupOut]
    by_facility: list[GroupOut]
    by_target_facility: list[GroupOut]
    by_specialty: list[GroupOut]
    by_urgency: list[GroupOut]
    timing: list[TimingOut]
    breaches: BreachesOut
    referrals: ReferralsOut
    county_share: CountyShareOut
    weeks: list[WeekOut]
