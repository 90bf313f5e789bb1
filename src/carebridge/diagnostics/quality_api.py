"""JSON routes for double reads (the second reader's queue, blind reading, grading), the hub's
reading quality for its administrator, and the hub's reading settings, under /api/v1."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query

from carebridge.diagnostics import quality, reading_settings
from carebridge.diagnostics.report_schemas import (
    DoubleReadOut,
    GradeIn,
    HubQualityOut,
    HubSettingsIn,
    HubSettingsOut,
    ReadingIn,
    double_read_out,
    hub_quality_out,
)
from carebridge.records.views import user_names
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["diagnosis quality"])


@router.get("/diagnosis/qa", response_model=list[DoubleReadOut])
async def my_double_reads(db: Db, principal: CurrentPrincipal) -> list[DoubleReadOut]:
    """Double reads waiting for me, then unassigned ones at my hubs that I may take."""
    return [double_read_out(v) for v in await quality.my_queue(db, principal)]


@router.get("/diagnosis/qa/{item_id}", response_model=DoubleReadOut)
async def get_double_read(item_id: int, db: Db, principal: CurrentPrincipal) -> DoubleReadOut:
    """The first impression is included only after the second reading is submitted."""
    return double_read_out(await quality.access_double_read(db, principal, item_id))


@router.post("/diagnosis/qa/{item_id}/take", response_model=DoubleReadOut)
async def take_double_read(item_id: int, db: Db, principal: CurrentPrincipal) -> DoubleReadOut:
    """An unassigned double read, by an attending of the hub who has neither signed nor opened the report."""
    await quality.take(db, principal, item_id)
    return double_read_out(await quality.access_double_read(db, principal, item_id))


@router.post("/diagnosis/qa/{item_id}/reading", response_model=DoubleReadOut)
async def submit_reading(item_id: int, body: ReadingIn, db: Db, principal: CurrentPrincipal) -> DoubleReadOut:
    await quality.submit_reading(db, principal, item_id, body.impression)
    return double_read_out(await quality.access_double_read(db, principal, item_id))


@router.post("/diagnosis/qa/{item_id}/grade", response_model=DoubleReadOut)
async def grade_double_read(item_id: int, body: GradeIn, db: Db, principal: CurrentPrincipal) -> DoubleReadOut:
    """RADPEER grade of the first reading; a discrepancy (2a-3b) needs a comment."""
    await quality.grade(db, principal, item_id, body.grade, body.comment)
    return double_read_out(await quality.access_double_read(db, principal, item_id))


@router.get("/diagnosis/hubs/{hub_id}/qa", response_model=HubQualityOut)
async def hub_quality(hub_id: int, db: Db, principal: CurrentPrincipal,
                      since: Annotated[dt.datetime | None, Query()] = None) -> HubQualityOut:
    """For the hub's facility administrator: graded double reads and discrepancies per first reader."""
    stats = await quality.hub_quality(db, principal, hub_id, since)
    names = await user_names(db, [r.reader_id for r in stats.readers])
    return hub_quality_out(stats, names)


@router.get("/diagnosis/hubs/{hub_id}/reading-settings", response_model=HubSettingsOut)
async def get_reading_settings(hub_id: int, db: Db, principal: CurrentPrincipal) -> HubSettingsOut:
    """The hub's administrator and doctors."""
    return HubSettingsOut(**vars(await reading_settings.access_settings(db, principal, hub_id)))


@router.put("/diagnosis/hubs/{hub_id}/reading-settings", response_model=HubSettingsOut)
async def put_reading_settings(hub_id: int, body: HubSettingsIn, db: Db, principal: CurrentPrincipal) -> HubSettingsOut:
    """The hub's facility administrator: two-step reading and the share double-read (0-100 %)."""
    saved = await reading_settings.update_settings(db, principal, hub_id, two_step=body.two_step,
                                                   double_read_percent=body.double_read_percent)
    return HubSettingsOut(**vars(saved))
