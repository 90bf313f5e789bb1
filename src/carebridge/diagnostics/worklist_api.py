"""JSON routes of the reading worklist under /api/v1: the list and its change stamp, claiming from
it, assignment by hand, reader profiles, missed targets and the turnaround dashboard (JSON, CSV)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from carebridge.diagnostics import assignment, claims, reading_escalation, turnaround
from carebridge.diagnostics import worklist as wl
from carebridge.diagnostics.models import Modality
from carebridge.kit import i18n
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import MAX_PAGE_SIZE
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["diagnosis worklist"])
UNASSIGNED = N_("Not assigned")
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


class PersonOut(BaseModel):
    id: int
    name: str


class PatientOut(BaseModel):
    id: int
    name: str
    sex: str
    age: int


class WorklistRowOut(BaseModel):
    order_id: int
    accession_number: str
    hub_facility_id: int
    patient: PatientOut | None = Field(description="absent for a hub administrator, who does not read")
    modality: str
    kind: str
    body_part: str
    clinical_question: str | None
    sending_facility: PersonOut
    urgency: str
    frozen_section: bool
    two_step: bool
    state: str
    study_complete_at: dt.datetime | None
    due_at: dt.datetime
    seconds_left: float
    share_used: float
    band: str = Field(description="green < 50 %, amber < 80 %, red >= 80 % of the target used; breached: none left")
    escalated_at: dt.datetime | None
    claimed_by: PersonOut | None = Field(description="only while the claim is live")
    claimed_until: dt.datetime | None
    assigned_to: PersonOut | None
    preread: dict | None = Field(description="the ECG automatic pre-read's hints (labels, rank), where there are any")


class WorklistOut(BaseModel):
    rows: list[WorklistRowOut]
    next_cursor: str | None
    hub_ids: list[int]
    now: dt.datetime


def row_out(row: wl.Row) -> WorklistRowOut:
    o = row.order
    return WorklistRowOut(
        order_id=o.id, accession_number=o.accession_number, hub_facility_id=o.hub_facility_id,
        patient=PatientOut(**vars(row.patient)) if row.patient else None, modality=o.modality, kind=row.kind,
        body_part=o.body_part, clinical_question=o.clinical_question if row.patient else None,
        sending_facility=PersonOut(id=o.requesting_facility_id, name=row.sending_site), urgency=o.urgency,
        frozen_section=o.frozen_section, two_step=o.two_step, state=o.state, study_complete_at=o.study_complete_at,
        due_at=o.due_at, seconds_left=row.seconds_left, share_used=round(row.share, 4), band=row.band,
        escalated_at=o.escalated_at, claimed_by=PersonOut(**vars(row.claimed_by)) if row.claimed_by else None,
        claimed_until=o.claimed_until if row.claimed_by else None,
        assigned_to=PersonOut(**vars(row.assigned_to)) if row.assigned_to else None, preread=row.preread)


@router.get("/diagnosis/worklist", response_model=WorklistOut)
async def get_worklist(
    db: Db, principal: CurrentPrincipal,
    hub_id: Annotated[int | None, Query(description="one hub; default every hub where you read or administer")] = None,
    modality: Annotated[str, Query(max_length=8)] = "",
    sending_facility_id: int | None = None,
    urgency: Annotated[str, Query(max_length=10, description="stat, urgent or routine")] = "",
    state: Annotated[str, Query(max_length=20, description="ready or preliminary")] = "",
    mine: Annotated[str, Query(max_length=12, description="all, me (assigned to me) or unassigned")] = "all",
    lane: Annotated[str, Query(max_length=10, description="frozen (frozen sections only) or regular")] = "",
    sort: Annotated[str, Query(max_length=12, description="time_left (escalated first) or arrival")] = "time_left",
    cursor: Annotated[str | None, Query(max_length=400)] = None, limit: Limit = 50,
) -> WorklistOut:
    """Orders waiting to be read at your hubs. The patient's name, sex and age are shown to the hub's
    doctors (audited once per request as a list access); administrators get the rows without them."""
    filters = wl.make_filters(hub_id=hub_id, modality=modality, sending_facility_id=sending_facility_id,
                              urgency=urgency, state=state, mine=mine, lane=lane, sort=sort)
    page = await wl.worklist(db, principal, filters, cursor, limit, english=i18n.get_locale() == "en")
    return WorklistOut(rows=[row_out(r) for r in page.rows], next_cursor=page.next_cursor, hub_ids=page.hub_ids,
                       now=page.now)


class StampOut(BaseModel):
    stamp: str


@router.get("/diagnosis/worklist/stamp", response_model=StampOut)
async def get_stamp(db: Db, principal: CurrentPrincipal, hub_id: int | None = None) -> StampOut:
    """Changes whenever a row of your worklist would: poll this, fetch the list when it changes."""
    return StampOut(stamp=await wl.worklist_stamp(db, principal, hub_id))


class ClaimOut(BaseModel):
    order_id: int
    claimed_by_id: int | None
    claimed_until: dt.datetime | None
    read_started_at: dt.datetime | None
    read_url: str


def claim_out(order) -> ClaimOut:  # noqa: ANN001 - a DiagnosisOrder
    return ClaimOut(order_id=order.id, claimed_by_id=order.claimed_by_id, claimed_until=order.claimed_until,
                    read_started_at=order.read_started_at, read_url=f"/diagnosis/orders/{order.id}/read")


@router.post("/diagnosis/worklist/{order_id}/claim", response_model=ClaimOut)
async def claim(order_id: int, db: Db, principal: CurrentPrincipal) -> ClaimOut:
    """Take the order for reading (or renew your claim). 409 `claimed` names the reader who has it."""
    return claim_out(await claims.claim(db, principal, order_id))


@router.post("/diagnosis/worklist/{order_id}/release", response_model=ClaimOut)
async def release(order_id: int, db: Db, principal: CurrentPrincipal) -> ClaimOut:
    return claim_out(await claims.release(db, principal, order_id))


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reader_user_id: int | None = Field(description="a doctor of the hub; null: nobody in particular")
    note: str = Field("", max_length=500)


class AssignmentOut(BaseModel):
    order_id: int
    assigned_reader_id: int | None


@router.post("/diagnosis/worklist/{order_id}/assign", response_model=AssignmentOut)
async def assign(order_id: int, body: AssignIn, db: Db, principal: CurrentPrincipal) -> AssignmentOut:
    """Name the reader of an order by hand (the hub's doctors and administrators)."""
    order = await assignment.assign_by_hand(db, principal, order_id, body.reader_user_id, body.note)
    return AssignmentOut(order_id=order.id, assigned_reader_id=order.assigned_reader_id)


class ReaderOut(BaseModel):
    user_id: int
    name: str
    title: str | None
    modalities: list[str]
    body_parts: list[str]
    can_sign_final: bool
    reads: bool
    has_profile: bool = Field(description="false: the defaults (anything; final unless a resident)")
    on_duty: bool
    load: int


def reader_out(r: assignment.Reader) -> ReaderOut:
    return ReaderOut(user_id=r.user_id, name=r.name, title=r.title, modalities=list(r.modalities),
                     body_parts=list(r.body_parts), can_sign_final=r.can_sign_final, reads=r.reads,
                     has_profile=r.has_profile, on_duty=r.on_duty, load=r.load)


@router.get("/diagnosis/hubs/{hub_id}/readers", response_model=list[ReaderOut])
async def readers(hub_id: int, db: Db, principal: CurrentPrincipal) -> list[ReaderOut]:
    assignment.check_readers_view(principal, hub_id)
    return [reader_out(r) for r in await assignment.hub_readers(db, hub_id)]


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    modalities: list[Modality] = Field(default_factory=list, max_length=len(Modality),
                                       description="empty: every modality")
    body_parts: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50,
                                                                   description="empty: every body part")
    can_sign_final: bool = True
    reads: bool = True


@router.put("/diagnosis/hubs/{hub_id}/readers/{user_id}", response_model=ReaderOut)
async def set_profile(hub_id: int, user_id: int, body: ProfileIn, db: Db, principal: CurrentPrincipal) -> ReaderOut:
    """The hub's administrators set what a doctor reads and whether they sign final reports."""
    await assignment.set_profile(db, principal, hub_id, user_id, assignment.ProfileInput(
        [m.value for m in body.modalities], body.body_parts, body.can_sign_final, body.reads))
    return reader_out(next(r for r in await assignment.hub_readers(db, hub_id) if r.user_id == user_id))


class BreachOut(BaseModel):
    id: int
    order_id: int
    hub_facility_id: int
    hub: str
    urgency: str
    modality: str
    body_part: str
    sending_site: str
    due_at: dt.datetime
    detected_at: dt.datetime
    reader_user_id: int | None
    reader: str
    order_state: str
    signed_at: dt.datetime | None


class BreachPageOut(BaseModel):
    items: list[BreachOut]
    next_cursor: str | None


@router.get("/diagnosis/breaches", response_model=BreachPageOut)
async def breaches(db: Db, principal: CurrentPrincipal, hub_id: int | None = None,
                   cursor: Annotated[str | None, Query(max_length=200)] = None, limit: Limit = 50) -> BreachPageOut:
    """Missed turnaround targets at your hubs, newest first (no patient data)."""
    page = await reading_escalation.list_breaches(db, principal, hub_id, cursor, limit)
    return BreachPageOut(items=[BreachOut(
        id=v.breach.id, order_id=v.breach.order_id, hub_facility_id=v.breach.hub_facility_id, hub=v.hub,
        urgency=v.breach.urgency, modality=v.modality, body_part=v.body_part, sending_site=v.sending_site,
        due_at=v.breach.due_at, detected_at=v.breach.detected_at, reader_user_id=v.breach.reader_user_id,
        reader=v.reader, order_state=v.order_state, signed_at=v.signed_at) for v in page.items],
        next_cursor=page.next_cursor)


Since = Annotated[dt.date | None, Query(description="first day of the period (China time); default 29 days ago")]
Until = Annotated[dt.date | None, Query(description="last day of the period, included; default today")]


class IntervalOut(BaseModel):
    count: int
    median_minutes: float | None
    p90_minutes: float | None


class GroupOut(BaseModel):
    key: str
    name: str
    orders: int
    signed: int
    within_target: int
    breaches: int
    within_target_share: float | None
    acquisition_to_complete: IntervalOut
    complete_to_read_started: IntervalOut
    read_started_to_signed: IntervalOut
    complete_to_signed: IntervalOut


class TurnaroundOut(BaseModel):
    since: dt.date
    until: dt.date
    hub_ids: list[int] | None = Field(description="null: every hub (platform administrators)")
    overall: GroupOut
    by_modality: list[GroupOut]
    by_site: list[GroupOut]
    by_reader: list[GroupOut]


def group_out(g: turnaround.Group) -> GroupOut:
    stages = {k: IntervalOut(count=v.count, median_minutes=v.median, p90_minutes=v.p90) for k, v in g.stages.items()}
    return GroupOut(key=g.key, name=g.name, orders=g.orders, signed=g.signed, within_target=g.within_target,
                    breaches=g.breaches, within_target_share=g.within_target_share, **stages)


def turnaround_out(report: turnaround.Turnaround) -> TurnaroundOut:
    return TurnaroundOut(since=report.period.since, until=report.period.until, hub_ids=report.hub_ids,
                         overall=group_out(report.overall), by_modality=[group_out(g) for g in report.by_modality],
                         by_site=[group_out(g) for g in report.by_site],
                         by_reader=[group_out(g) for g in report.by_reader])


@router.get("/diagnosis/turnaround", response_model=TurnaroundOut)
async def get_turnaround(db: Db, principal: CurrentPrincipal, since: Since = None, until: Until = None,
                         hub_id: int | None = None) -> TurnaroundOut:
    """Acquisition → complete → read started → signed at your hubs: counts, median and p90 per stage,
    share within target and breaches, overall and by modality, sending site and reader."""
    english = i18n.get_locale() == "en"
    report = await turnaround.turnaround(db, principal, turnaround.make_period(since, until, hub_id), english=english,
                                         unassigned=i18n.gettext(UNASSIGNED))
    return turnaround_out(report)


@router.get("/diagnosis/turnaround.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the same numbers, one per line"}})
async def get_turnaround_csv(db: Db, principal: CurrentPrincipal, since: Since = None, until: Until = None,
                             hub_id: int | None = None) -> Response:
    """The same numbers as CSV (section, key, name, metric, value); the export is audited."""
    body = await turnaround.export_csv(db, principal, turnaround.make_period(since, until, hub_id),
                                       english=i18n.get_locale() == "en", unassigned=i18n.gettext(UNASSIGNED))
    return turnaround_csv_response(body)


def turnaround_csv_response(body: str) -> Response:
    name = f"diagnosis-turnaround-{utcnow():%Y%m%d-%H%M%S}.csv"
    # A byte-order mark so spreadsheet programs read the Chinese names as UTF-8.
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
