"""The turnaround dashboard: how long reading took at a hub, by modality, sending site and reader.
Aggregates only: no patient is named.

Definitions (also on the page):
- the period: orders whose study became complete in it (China days, both ends included); cancelled
  orders are left out;
- the stages: acquisition (the earliest `acquired_at` the sender's equipment wrote into the study)
  → complete (the turnaround clock starts) → read started (first claim) → signed (final report);
  each stage's median and p90 (linear interpolation, as PostgreSQL's percentile_cont) over the
  orders that reached both ends of it;
- within target: signed no later than `due_at`; missed (a breach): signed after `due_at`, or not
  signed and `due_at` has passed. The share within target is of the orders whose outcome is known
  (within or missed); orders still inside their target count in neither;
- the reader: whoever signed the final report, else whoever holds or last held the claim, else the
  assigned reader.

Who sees it: the hub's doctors and administrators see their hub; platform administrators any."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.analytics.stats import minutes, percentile
from carebridge.audit import service as audit
from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.diagnostics.lifecycle import State
from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy
from carebridge.errors import Forbidden, InvalidInput
from carebridge.kit.clock import local_zone, today_local, utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility

DEFAULT_DAYS = 30
MAX_DAYS = 366
STAGES = ("acquisition_to_complete", "complete_to_read_started", "read_started_to_signed", "complete_to_signed")
Order = DiagnosisOrder


@dataclass(frozen=True)
class Period:
    since: dt.date
    until: dt.date
    hub_id: int | None = None

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.since, dt.time(), local_zone())

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), local_zone())


def make_period(since: dt.date | None = None, until: dt.date | None = None, hub_id: int | None = None, *,
                today: dt.date | None = None) -> Period:
    today = today or today_local()
    until = until or today
    since = since or until - dt.timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise InvalidInput(N_("the period must start before it ends"), details={"field": "since"})
    if (until - since).days >= MAX_DAYS:
        raise InvalidInput(N_("choose a period of at most one year"), details={"field": "since"})
    return Period(since, until, hub_id)


def turnaround_scope(principal: Principal, hub_id: int | None = None) -> set[int] | None:
    """The hubs whose numbers the caller may see; None is every hub (platform administrators)."""
    if principal.is_platform_admin:
        return None if hub_id is None else {hub_id}
    mine = principal.facilities_with(Role.doctor, Role.facility_admin)
    if not mine:
        raise Forbidden(N_("only the hub's doctors and administrators see its turnaround"))
    if hub_id is not None and hub_id not in mine:
        raise Forbidden(N_("you do not work at this reading hub"))
    return {hub_id} if hub_id is not None else mine


@dataclass
class OrderTimes:
    id: int
    modality: str
    site_id: int
    reader_id: int | None
    urgency: str
    acquired_at: dt.datetime | None
    complete_at: dt.datetime
    read_started_at: dt.datetime | None
    signed_at: dt.datetime | None
    due_at: dt.datetime

    @cached_property
    def stages(self) -> dict[str, float | None]:
        """Minutes per stage, None where one end has not happened (computed once: a month is many rows)."""
        ends = {"acquisition_to_complete": (self.acquired_at, self.complete_at),
                "complete_to_read_started": (self.complete_at, self.read_started_at),
                "read_started_to_signed": (self.read_started_at, self.signed_at),
                "complete_to_signed": (self.complete_at, self.signed_at)}
        return {k: minutes(a, b) if a is not None and b is not None else None for k, (a, b) in ends.items()}

    def stage(self, name: str) -> float | None:
        return self.stages[name]

    def outcome(self, now: dt.datetime) -> str | None:
        """"within", "missed", or None while the target is still ahead and the report unsigned."""
        if self.signed_at is not None:
            return "within" if self.signed_at <= self.due_at else "missed"
        return "missed" if self.due_at < now else None


@dataclass(frozen=True)
class Interval:
    count: int
    median: float | None  # minutes
    p90: float | None


@dataclass(frozen=True)
class Group:
    key: str
    name: str
    orders: int
    signed: int
    stages: dict[str, Interval]
    within_target: int
    breaches: int

    @property
    def within_target_share(self) -> float | None:
        decided = self.within_target + self.breaches
        return self.within_target / decided if decided else None


@dataclass(frozen=True)
class Turnaround:
    period: Period
    hub_ids: list[int] | None
    overall: Group
    by_modality: list[Group]
    by_site: list[Group]
    by_reader: list[Group]


def summarise(key: str, name: str, orders: list[OrderTimes], now: dt.datetime) -> Group:
    stages = {}
    for stage in STAGES:
        values = [v for o in orders if (v := o.stage(stage)) is not None]
        stages[stage] = Interval(len(values), percentile(values, 0.5), percentile(values, 0.9))
    outcomes = [o.outcome(now) for o in orders]
    return Group(key, name, len(orders), sum(o.signed_at is not None for o in orders), stages,
                 outcomes.count("within"), outcomes.count("missed"))


def _grouped(orders: list[OrderTimes], key_of: Callable[[OrderTimes], object], names: dict, now: dt.datetime,
             unnamed: str = "") -> list[Group]:
    groups: dict[object, list[OrderTimes]] = defaultdict(list)
    for o in orders:
        groups[key_of(o)].append(o)
    found = [summarise("" if k is None else str(k), names.get(k, unnamed if k is None else str(k)), items, now)
             for k, items in groups.items()]
    return sorted(found, key=lambda g: (-g.orders, g.name))


async def order_times(session: AsyncSession, period: Period, hubs: set[int] | None) -> list[OrderTimes]:
    # Per order through the order_id index, not a grouping of every study ever received.
    acquired = (select(func.min(DiagnosticStudy.acquired_at)).where(DiagnosticStudy.order_id == Order.id)
                .correlate(Order).scalar_subquery())
    # Columns, not ORM objects: a month of a busy hub is tens of thousands of rows.
    reader = func.coalesce(Order.final_reader_id, Order.claimed_by_id, Order.assigned_reader_id)
    query = (select(Order.id, Order.modality, Order.requesting_facility_id, reader, Order.urgency,
                    acquired, Order.study_complete_at, Order.read_started_at, Order.signed_at, Order.due_at)
             .where(Order.study_complete_at >= period.start, Order.study_complete_at < period.end,
                    Order.state != State.cancelled.value, Order.due_at.is_not(None)))
    if hubs is not None:
        query = query.where(Order.hub_facility_id.in_(hubs))
    return [OrderTimes(*row) for row in (await session.execute(query)).all()]


async def _names(session: AsyncSession, orders: list[OrderTimes], english: bool) -> tuple[dict, dict]:
    site_ids = {o.site_id for o in orders}
    reader_ids = {o.reader_id for o in orders} - {None}
    sites = {r.id: (r.name_en or r.name) if english else r.name for r in (await session.execute(
        select(Facility.id, Facility.name, Facility.name_en).where(Facility.id.in_(site_ids)))).all()}
    readers = {r.id: r.display_name for r in (await session.execute(
        select(User.id, User.display_name).where(User.id.in_(reader_ids)))).all()}
    return sites, readers


async def turnaround(session: AsyncSession, principal: Principal, period: Period, *, english: bool = False,
                     now: dt.datetime | None = None, unassigned: str = "") -> Turnaround:
    hubs = turnaround_scope(principal, period.hub_id)
    now = now or utcnow()
    orders = await order_times(session, period, hubs)
    sites, readers = await _names(session, orders, english)
    return Turnaround(
        period, sorted(hubs) if hubs is not None else None, summarise("all", "", orders, now),
        _grouped(orders, lambda o: o.modality, {}, now), _grouped(orders, lambda o: o.site_id, sites, now),
        _grouped(orders, lambda o: o.reader_id, readers, now, unassigned))


# --- CSV ----------------------------------------------------------------------------------------

COLUMNS = ("section", "key", "name", "metric", "value")


def _cell(value: object) -> object:
    # A spreadsheet runs a cell that starts with = + - @ as a formula; names come from users.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _group_rows(section: str, group: Group) -> list[tuple]:
    rows = [(section, group.key, group.name, metric, value) for metric, value in (
        ("orders", group.orders), ("signed", group.signed), ("within_target", group.within_target),
        ("breaches", group.breaches),
        ("within_target_share", "" if group.within_target_share is None else round(group.within_target_share, 4)))]
    for stage, interval in group.stages.items():
        rows += [(section, group.key, group.name, f"{stage}_count", interval.count)]
        rows += [(section, group.key, group.name, f"{stage}_{m}_minutes", "" if v is None else round(v, 1))
                 for m, v in (("median", interval.median), ("p90", interval.p90))]
    return rows


def report_rows(report: Turnaround) -> list[tuple]:
    rows: list[tuple] = [("period", "since", "", "date", report.period.since.isoformat()),
                         ("period", "until", "", "date", report.period.until.isoformat())]
    rows += _group_rows("overall", report.overall)
    for section, groups in (("by_modality", report.by_modality), ("by_site", report.by_site),
                            ("by_reader", report.by_reader)):
        for group in groups:
            rows += _group_rows(section, group)
    return rows


async def export_csv(session: AsyncSession, principal: Principal, period: Period, *, english: bool = False,
                     unassigned: str = "") -> str:
    """Aggregates only, yet written down: who took which hub's numbers away."""
    report = await turnaround(session, principal, period, english=english, unassigned=unassigned)
    rows = report_rows(report)
    await audit.append(session, audit.Entry(
        action="diagnosis_turnaround_export", outcome="success", actor=principal.actor(period.hub_id),
        resource_type="DiagnosisTurnaround", resource_id=",".join(map(str, report.hub_ids or [])) or "network",
        facility_id=period.hub_id,
        detail={"since": period.since.isoformat(), "until": period.until.isoformat(), "rows": len(rows)}))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(tuple(_cell(v) for v in row) for row in rows)
    return out.getvalue()
