"""Network analytics of consultations and referrals: who may see which part of the network, and
the report behind the dashboard, its JSON and its CSV. Aggregates only: no patient is named.

A platform administrator sees the whole network (or one facility of it); a facility administrator
sees the cases one of their facilities asked or was asked, and the referrals they sent or received.
Everyone else is refused. The numbers are defined in `stats.py`."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.analytics import facts, stats
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.consultations.models import Urgency
from carebridge.consultations.service import response_target
from carebridge.errors import Forbidden, InvalidInput
from carebridge.kit.clock import local_zone, today_local, utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Department

DEFAULT_DAYS = 90
MAX_DAYS = 731
URGENCIES = [u.value for u in Urgency]


@dataclass(frozen=True)
class Filters:
    since: dt.date  # first China day of the period
    until: dt.date  # last China day, included
    urgency: str | None = None
    facility_id: int | None = None

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.since, dt.time(), local_zone())

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), local_zone())

    def as_detail(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "urgency": self.urgency,
                "facility_id": self.facility_id}


def make_filters(since: dt.date | None = None, until: dt.date | None = None, urgency: str | None = None,
                 facility_id: int | None = None, *, today: dt.date | None = None) -> Filters:
    """The last 90 days (today included) unless told otherwise; bad input is a clear 422."""
    today = today or today_local()
    until = until or today
    since = since or until - dt.timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise InvalidInput(N_("the period must start before it ends"), details={"field": "since"})
    if (until - since).days >= MAX_DAYS:
        raise InvalidInput(N_("choose a period of at most two years"), details={"field": "since"})
    if urgency is not None and urgency not in URGENCIES:
        raise InvalidInput(N_("urgency must be emergency, urgent or routine"), details={"field": "urgency"})
    return Filters(since, until, urgency, facility_id)


def analytics_scope(principal: Principal, facility_id: int | None = None) -> frozenset[int] | None:
    """The facilities whose cases the caller may count; None means the whole network."""
    if principal.is_platform_admin:
        return None if facility_id is None else frozenset({facility_id})
    mine = principal.facilities_with(Role.facility_admin)
    if not mine:
        raise Forbidden(N_("only administrators can see network analytics"))
    if facility_id is None:
        return frozenset(mine)
    if facility_id not in mine:
        raise Forbidden(N_("you can only see the analytics of the facilities you administer"),
                        details={"facility_id": facility_id})
    return frozenset({facility_id})


@dataclass(frozen=True)
class Group:
    """One bar: a tier, facility, specialty or urgency and its number of cases."""

    key: str
    count: int
    name: str = ""
    name_en: str = ""
    tier: str = ""


@dataclass(frozen=True)
class Week:
    start: dt.date
    submitted: int
    breaches: int
    county_eligible: int
    county_kept: int

    @property
    def county_share(self) -> float | None:
        return self.county_kept / self.county_eligible if self.county_eligible else None


@dataclass(frozen=True)
class ReferralCounts:
    up: int
    down: int
    up_above_county: int
    by_state: dict[str, dict[str, int]]  # direction -> state -> count


@dataclass
class Report:
    filters: Filters
    network_wide: bool
    facility_ids: list[int]
    submitted: int
    by_state: dict[str, int]
    by_tier: list[Group]
    by_facility: list[Group]
    by_target: list[Group]
    by_specialty: list[Group]
    by_urgency: list[Group]
    timings: list[stats.Timing]
    breaches: dict[str, int]
    breaches_by_urgency: dict[str, int]
    referrals: ReferralCounts
    county: stats.CountyShare
    weeks: list[Week] = field(default_factory=list)


async def consultation_analytics(session: AsyncSession, principal: Principal, filters: Filters,
                                 now: dt.datetime | None = None) -> Report:
    scope = analytics_scope(principal, filters.facility_id)
    now = now or utcnow()
    cases = await facts.case_facts(session, filters.start, filters.end, scope, filters.urgency)
    referrals = await facts.referrals_in(session, filters.start, filters.end, scope)
    above = await facts.referrals_above(session, stats.ABOVE_COUNTY, filters.start, filters.end + stats.STAYS_WINDOW)
    ids = {c.requesting_facility_id for c in cases} | {c.target_facility_id for c in cases if c.target_facility_id}
    info = await facts.facility_info(session, ids | {r.to_facility_id for r in referrals})
    tier_of = {fid: tier for fid, (_, _, tier) in info.items()}
    county, left = stats.county_share(cases, tier_of, above)
    targets = {u: response_target(u) for u in URGENCIES}
    breach = {c.id: stats.breach_kind(c, now, targets[c.urgency]) for c in cases}
    kinds = Counter(k for k in breach.values() if k)
    return Report(
        filters=filters, network_wide=scope is None, facility_ids=sorted(scope or ()), submitted=len(cases),
        by_state=dict(Counter(c.state for c in cases)),
        by_tier=_groups(Counter(tier_of[c.requesting_facility_id] for c in cases)),
        by_facility=_facility_groups(Counter(c.requesting_facility_id for c in cases), info),
        by_target=_facility_groups(Counter(c.target_facility_id for c in cases if c.target_facility_id), info),
        by_specialty=await _specialty_groups(session, Counter(c.specialty_department_id for c in cases)),
        by_urgency=[Group(u, n) for u in URGENCIES if (n := sum(1 for c in cases if c.urgency == u))],
        timings=_timings(cases, targets),
        breaches={"total": sum(kinds.values()), "late": kinds["late"], "unanswered": kinds["unanswered"]},
        breaches_by_urgency=dict(Counter(c.urgency for c in cases if breach[c.id])),
        referrals=_referral_counts(referrals, tier_of), county=county,
        weeks=_weeks(filters, cases, breach, tier_of, left))


def _groups(counter: Counter) -> list[Group]:
    return [Group(str(key), n) for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))]


def _facility_groups(counter: Counter, info: dict[int, tuple[str, str, str]]) -> list[Group]:
    return [Group(str(fid), n, *info[fid]) for fid, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


async def _specialty_groups(session: AsyncSession, counter: Counter) -> list[Group]:
    ids = [d for d in counter if d is not None]
    rows = (await session.execute(select(Department.id, Department.code, Department.name, Department.name_en)
                                  .where(Department.id.in_(ids)))).all() if ids else []
    named = {i: (code, name, name_en) for i, code, name, name_en in rows}
    groups = [Group(named[d][0], n, named[d][1], named[d][2]) for d, n in counter.items() if d is not None]
    if counter.get(None):  # asked of a named expert or facility without a specialty
        groups.append(Group("", counter[None]))
    return sorted(groups, key=lambda g: (-g.count, g.key))


def _timings(cases: list[facts.CaseFacts], targets: dict[str, dt.timedelta]) -> list[stats.Timing]:
    rows = [stats.timing(u, targets[u], [c for c in cases if c.urgency == u], targets.__getitem__) for u in URGENCIES]
    return rows + [stats.timing("all", None, cases, targets.__getitem__)]


def _referral_counts(referrals: list[facts.ReferralFacts], tier_of: dict[int, str]) -> ReferralCounts:
    by_state: dict[str, dict[str, int]] = {"up": {}, "down": {}}
    for r in referrals:
        by_state[r.direction][r.state] = by_state[r.direction].get(r.state, 0) + 1
    above = sum(1 for r in referrals if r.direction == "up" and tier_of.get(r.to_facility_id) in stats.ABOVE_COUNTY)
    return ReferralCounts(sum(by_state["up"].values()), sum(by_state["down"].values()), above, by_state)


def _weeks(filters: Filters, cases: list[facts.CaseFacts], breach: dict[int, str | None],
           tier_of: dict[int, str], left: set[int]) -> list[Week]:
    first = filters.since - dt.timedelta(days=filters.since.weekday())
    starts = [first + dt.timedelta(weeks=i) for i in range((filters.until - first).days // 7 + 1)]
    buckets: dict[dt.date, list[facts.CaseFacts]] = {s: [] for s in starts}
    zone = local_zone()
    for c in cases:
        buckets[stats.week_start(c.submitted_at, zone)].append(c)
    weeks = []
    for start, group in buckets.items():
        local = [c for c in group if stats.TIER_LEVEL[stats.Tier(tier_of[c.requesting_facility_id])]
                 <= stats.COUNTY_LEVEL]
        weeks.append(Week(start, len(group), sum(1 for c in group if breach[c.id]), len(local),
                          sum(1 for c in local if c.id not in left)))
    return weeks
