"""The reading worklist: one list per hub across modalities and sending sites.

Who sees it: doctors of a hub (the readers) see its orders on the worklist with the patient's name,
sex and age, which the order shares with the hub for reading; the hub's administrators see the same
rows without the patient (they coordinate, they do not read). One audit row per list request names
every order and patient shown, as a list access; the change stamp the open page polls carries no
patient data and is not audited.

Order: escalated orders first, then by time left (`due_at`); or by arrival (study complete). Keyset
pagination over that order. The colour band is the share of the turnaround target used: green below
50 %, amber below 80 %, red from 80 %, dark red once the target has passed (no time left)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import and_, case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from carebridge.access.models import Purpose
from carebridge.audit import service as audit
from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.diagnostics.lifecycle import ON_WORKLIST
from carebridge.diagnostics.models import DiagnosisOrder, Modality, Urgency, kind_of
from carebridge.errors import Forbidden, InvalidInput
from carebridge.kit.clock import local_zone, utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import check_limit, decode_cursor, encode_cursor
from carebridge.network.models import Facility
from carebridge.records.models import Patient

log = logging.getLogger(__name__)

SORTS = ("time_left", "arrival")
MINE = ("all", "me", "unassigned")
LANES = ("", "frozen", "regular")
STATES = tuple(s.value for s in ON_WORKLIST)
BANDS = ((0.5, "green"), (0.8, "amber"), (1.0, "red"))  # below each bound; at or past the target: "breached"
Order = DiagnosisOrder


@dataclass(frozen=True)
class Filters:
    hub_id: int | None = None
    modality: str = ""
    sending_facility_id: int | None = None
    urgency: str = ""
    state: str = ""
    mine: str = "all"
    lane: str = ""
    sort: str = "time_left"


def make_filters(*, hub_id: int | None = None, modality: str = "", sending_facility_id: int | None = None,
                 urgency: str = "", state: str = "", mine: str = "all", lane: str = "",
                 sort: str = "time_left") -> Filters:
    """Checks every filter, naming the one that is wrong."""
    modality = modality.strip().upper()
    checks = (("modality", modality, [""] + [m.value for m in Modality]), ("urgency", urgency, ["", *Urgency]),
              ("state", state, ["", *STATES]), ("mine", mine or "all", MINE), ("lane", lane, LANES),
              ("sort", sort or "time_left", SORTS))
    for name, value, allowed in checks:
        if value not in allowed:
            raise InvalidInput(N_("this filter does not have that value"),
                               details={"field": name, "allowed": [a for a in allowed if a]})
    return Filters(hub_id, modality, sending_facility_id, urgency, state, mine or "all", lane, sort or "time_left")


def band(share: float) -> str:
    for bound, name in BANDS:
        if share < bound:
            return name
    return "breached"


def share_used(start: dt.datetime, due: dt.datetime, now: dt.datetime) -> float:
    total = (due - start).total_seconds()
    return 1.0 if total <= 0 else max(0.0, (now - start).total_seconds() / total)


@dataclass(frozen=True)
class Person:
    id: int
    name: str


@dataclass(frozen=True)
class PatientLine:
    id: int
    name: str
    sex: str
    age: int


@dataclass
class Row:
    order: DiagnosisOrder
    patient: PatientLine | None  # None for a hub administrator: rows without the patient
    sending_site: str
    claimed_by: Person | None  # a live claim only
    assigned_to: Person | None
    seconds_left: float
    share: float
    band: str
    preread: dict | None = None

    @property
    def kind(self) -> str:
        return kind_of(self.order.modality).value


@dataclass
class WorklistPage:
    rows: list[Row]
    next_cursor: str | None
    hub_ids: list[int]
    now: dt.datetime
    filters: Filters
    readers_of: set[int] = field(default_factory=set)  # hubs where the caller reads (and claims)


def reading_hubs(principal: Principal, hub_id: int | None = None) -> tuple[set[int], set[int]]:
    """(hubs whose worklist the caller sees, hubs where they read). A doctor reads at their
    facilities; a facility administrator sees the list of theirs without patients."""
    readers = principal.facilities_with(Role.doctor)
    visible = readers | principal.facilities_with(Role.facility_admin)
    if not visible:
        raise Forbidden(N_("only doctors and administrators of a reading hub see its worklist"))
    if hub_id is not None:
        if hub_id not in visible:
            raise Forbidden(N_("you do not work at this reading hub"))
        visible = {hub_id}
    return visible, readers & visible


def _filtered(query, filters: Filters, principal: Principal):  # noqa: ANN001, ANN202 - SQLAlchemy select
    if filters.modality:
        query = query.where(Order.modality == filters.modality)
    if filters.sending_facility_id is not None:
        query = query.where(Order.requesting_facility_id == filters.sending_facility_id)
    if filters.urgency:
        query = query.where(Order.urgency == filters.urgency)
    if filters.state:
        query = query.where(Order.state == filters.state)
    if filters.mine == "me":
        query = query.where(Order.assigned_reader_id == principal.user_id)
    elif filters.mine == "unassigned":
        query = query.where(Order.assigned_reader_id.is_(None))
    if filters.lane:
        query = query.where(Order.frozen_section.is_(filters.lane == "frozen"))
    return query


_ESCALATED_FIRST = case((Order.escalated_at.is_not(None), 0), else_=1)


def _instant(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError(value)
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment


def _keyset(query, filters: Filters, cursor: str | None):  # noqa: ANN001, ANN202 - SQLAlchemy select
    after = decode_cursor(cursor)
    if filters.sort == "arrival":
        query = query.order_by(Order.study_complete_at, Order.id)
        if after is not None:
            try:
                tag, at, last = after
                at, last = _instant(at), int(last)
                assert tag == "a"
            except (ValueError, TypeError, AssertionError) as exc:
                raise InvalidInput(N_("cursor is not valid"), details={"field": "cursor"}) from exc
            query = query.where(or_(Order.study_complete_at > at, and_(Order.study_complete_at == at, Order.id > last)))
        return query
    query = query.order_by(_ESCALATED_FIRST, Order.due_at, Order.id)
    if after is not None:
        try:
            tag, rank, due, last = after
            rank, due, last = int(rank), _instant(due), int(last)
            assert tag == "t"
        except (ValueError, TypeError, AssertionError) as exc:
            raise InvalidInput(N_("cursor is not valid"), details={"field": "cursor"}) from exc
        query = query.where(or_(_ESCALATED_FIRST > rank, and_(_ESCALATED_FIRST == rank, or_(
            Order.due_at > due, and_(Order.due_at == due, Order.id > last)))))
    return query


def _cursor_of(order: DiagnosisOrder, filters: Filters) -> str:
    if filters.sort == "arrival":
        return encode_cursor(["a", order.study_complete_at.isoformat(), order.id])
    return encode_cursor(["t", 0 if order.escalated_at else 1, order.due_at.isoformat(), order.id])


def age_on(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


async def preread_hints(session: AsyncSession, order_ids: list[int]) -> dict[int, dict]:
    """The ECG pre-read's hints for the rows (labels, priority): shown as a hint, never a report."""
    if not order_ids:
        return {}
    from carebridge.diagnostics.ecg.hints import preread_hints as ecg_hints  # ecg builds on the core, not on this

    return await ecg_hints(session, order_ids)


def _row(values: tuple, readers_of: set[int], now: dt.datetime, today: dt.date, english: bool) -> Row:
    order, p_name, p_name_en, sex, birth, site, site_en, claimer_name, assignee_name = values
    patient = None
    if order.hub_facility_id in readers_of:
        patient = PatientLine(order.patient_id, (p_name_en or p_name) if english else p_name, sex, age_on(birth, today))
    live = order.claimed_by_id is not None and order.claimed_until is not None and order.claimed_until > now
    share = share_used(order.study_complete_at or order.created_at, order.due_at, now)
    return Row(order, patient, (site_en or site) if english else site,
               Person(order.claimed_by_id, claimer_name) if live else None,
               Person(order.assigned_reader_id, assignee_name) if order.assigned_reader_id else None,
               (order.due_at - now).total_seconds(), share, band(share))


async def worklist(session: AsyncSession, principal: Principal, filters: Filters, cursor: str | None = None,
                   limit: int = 50, now: dt.datetime | None = None, english: bool = False) -> WorklistPage:
    check_limit(limit)
    now = now or utcnow()
    hubs, readers_of = reading_hubs(principal, filters.hub_id)
    claimer, assignee = aliased(User), aliased(User)
    query = (select(Order, Patient.name, Patient.name_en, Patient.sex, Patient.birth_date, Facility.name,
                    Facility.name_en, claimer.display_name, assignee.display_name)
             .join(Patient, Patient.id == Order.patient_id).join(Facility, Facility.id == Order.requesting_facility_id)
             .outerjoin(claimer, claimer.id == Order.claimed_by_id)
             .outerjoin(assignee, assignee.id == Order.assigned_reader_id)
             .where(Order.hub_facility_id.in_(hubs), Order.state.in_(STATES), Order.due_at.is_not(None)))
    query = _keyset(_filtered(query, filters, principal), filters, cursor)
    found = (await session.execute(query.limit(limit + 1))).all()
    today = now.astimezone(local_zone()).date()
    rows = [_row(tuple(v), readers_of, now, today, english) for v in found[:limit]]
    hints = await preread_hints(session, [r.order.id for r in rows if r.kind == "ecg" and r.patient])
    for row in rows:
        row.preread = hints.get(row.order.id)
    await _audit_list(session, principal, rows, hubs)
    more = len(found) > limit
    return WorklistPage(rows, _cursor_of(rows[-1].order, filters) if more else None, sorted(hubs), now, filters,
                        readers_of)


async def _audit_list(session: AsyncSession, principal: Principal, rows: list[Row], hubs: set[int]) -> None:
    shown = [r for r in rows if r.patient is not None]
    if not shown:
        return
    hub = next(iter(hubs)) if len(hubs) == 1 else None
    await audit.append(session, audit.Entry(
        action="diagnosis_worklist", outcome="allowed", actor=principal.actor(hub), resource_type="DiagnosisWorklist",
        resource_id=",".join(str(h) for h in sorted(hubs)), purpose=Purpose.diagnosis.value, facility_id=hub,
        detail={"order_ids": [r.order.id for r in shown], "patient_ids": sorted({r.patient.id for r in shown})}))


async def worklist_stamp(session: AsyncSession, principal: Principal, hub_id: int | None = None) -> str:
    """Changes whenever a row of the caller's worklists would: an order arrives or leaves, is claimed,
    released, assigned or escalated. No patient data, so polling it is not a patient-data access."""
    hubs, _ = reading_hubs(principal, hub_id)
    rows = await session.execute(
        select(Order.id, Order.version, Order.assigned_reader_id, Order.claimed_by_id, Order.claimed_until,
               Order.escalated_at)
        .where(Order.hub_facility_id.in_(hubs), Order.state.in_(STATES)).order_by(Order.id))
    digest = hashlib.sha256()
    for row in rows.all():
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()[:20]


async def hub_choices(session: AsyncSession, hub_ids: list[int], english: bool) -> list[tuple[int, str]]:
    rows = (await session.execute(select(Facility.id, Facility.name, Facility.name_en)
                                  .where(Facility.id.in_(hub_ids)).order_by(Facility.name))).all()
    return [(r.id, (r.name_en or r.name) if english else r.name) for r in rows]


async def sending_sites(session: AsyncSession, hub_ids: list[int], english: bool) -> list[tuple[int, str]]:
    """The facilities with orders on these worklists now (the filter's choices)."""
    rows = (await session.execute(
        select(Facility.id, Facility.name, Facility.name_en).where(Facility.id.in_(
            select(Order.requesting_facility_id).where(Order.hub_facility_id.in_(hub_ids), Order.state.in_(STATES))))
        .order_by(Facility.name))).all()
    return [(r.id, (r.name_en or r.name) if english else r.name) for r in rows]
