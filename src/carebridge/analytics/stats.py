"""The numbers of the dashboard, computed from the per-case rows of `facts.py`.

Definitions (also shown on the page):
- response time: first submission -> the receiving side's first response (triage, accept, decline
  or return for more information);
- completion time: first submission -> opinion signed;
- median and p90 by linear interpolation between the nearest ranks (PostgreSQL's percentile_cont);
- breach: a case whose answer came late or never came: its first response came more than the
  urgency's target after submission, or the first response after its latest resubmission came after
  `due_at`, or it waited past `due_at` with no response (still waiting now, or until it was
  cancelled or expired). Counted once per case;
- handled at county level or below: of the cases asked by facilities at county tier or below, the
  share whose patient was not referred up to a facility above county tier within 30 days of the
  submission (declined or cancelled referrals do not count: the patient did not go)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from carebridge.analytics.facts import CaseFacts, ReferralFacts
from carebridge.network.models import TIER_LEVEL, Tier

COUNTY_LEVEL = TIER_LEVEL[Tier.county_hospital]
ABOVE_COUNTY = [t.value for t in Tier if TIER_LEVEL[t] > COUNTY_LEVEL]
STAYS_WINDOW = dt.timedelta(days=30)
GOAL = 0.9
NOT_GONE = frozenset({"declined", "cancelled"})  # referrals after which the patient did not move


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont(p)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * p
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def minutes(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 60


@dataclass(frozen=True)
class Timing:
    urgency: str  # "all" for every urgency together
    target_minutes: float | None
    cases: int
    responded: int
    response_median: float | None
    response_p90: float | None
    within_target: int | None
    completed: int
    completion_median: float | None
    completion_p90: float | None

    @property
    def within_target_share(self) -> float | None:
        return None if self.within_target is None or not self.responded else self.within_target / self.responded


def timing(urgency: str, target: dt.timedelta | None, cases: list[CaseFacts],
           target_of: Callable[[str], dt.timedelta]) -> Timing:
    answered = [c for c in cases if c.first_response_at is not None]
    response = [minutes(c.submitted_at, c.first_response_at) for c in answered]
    completion = [minutes(c.submitted_at, c.signed_at) for c in cases if c.signed_at is not None]
    in_time = sum(1 for c in answered if c.first_response_at - c.submitted_at <= target_of(c.urgency))
    return Timing(urgency, target.total_seconds() / 60 if target else None, len(cases), len(answered),
                  percentile(response, 0.5), percentile(response, 0.9), in_time, len(completion),
                  percentile(completion, 0.5), percentile(completion, 0.9))


def breach_kind(case: CaseFacts, now: dt.datetime, target: dt.timedelta) -> str | None:
    """"late" or "unanswered" (see the module's definition), or None when answered in time."""
    if case.first_response_at is not None and case.first_response_at - case.submitted_at > target:
        return "late"
    if case.due_at is None:
        return None
    if case.latest_response_at is not None:
        return "late" if case.latest_response_at > case.due_at else None
    waited_until = case.closed_at or now
    return "unanswered" if waited_until > case.due_at else None


@dataclass(frozen=True)
class CountyShare:
    eligible: int  # cases asked at county tier or below
    kept: int  # ... whose patient was not referred above county tier within the window
    answered_within: int  # ... answered by a facility at county tier or below
    goal: float = GOAL

    @property
    def share(self) -> float | None:
        return self.kept / self.eligible if self.eligible else None

    @property
    def answered_share(self) -> float | None:
        return self.answered_within / self.eligible if self.eligible else None


def county_share(cases: Iterable[CaseFacts], tier_of: dict[int, str],
                 referrals_above: list[ReferralFacts]) -> tuple[CountyShare, set[int]]:
    """The share, and the ids of the cases whose patient left the county."""
    gone: dict[int, list[dt.datetime]] = {}
    for r in referrals_above:
        if r.state not in NOT_GONE:
            gone.setdefault(r.patient_id, []).append(r.created_at)
    eligible = kept = answered = 0
    left: set[int] = set()
    for c in cases:
        if TIER_LEVEL[Tier(tier_of[c.requesting_facility_id])] > COUNTY_LEVEL:
            continue
        eligible += 1
        if any(c.submitted_at <= at < c.submitted_at + STAYS_WINDOW for at in gone.get(c.patient_id, [])):
            left.add(c.id)
        else:
            kept += 1
        target_tier = tier_of.get(c.target_facility_id) if c.target_facility_id else None
        if target_tier is not None and TIER_LEVEL[Tier(target_tier)] <= COUNTY_LEVEL:
            answered += 1
    return CountyShare(eligible, kept, answered), left


def week_start(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    day = moment.astimezone(zone).date()
    return day - dt.timedelta(days=day.weekday())
