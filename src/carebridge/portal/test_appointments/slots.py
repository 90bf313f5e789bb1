"""Blocks of a test's opening hours and the places taken in them.

Hours are in the network's local time (`display_timezone`); blocks are computed, not stored, and
a `test_slot_counts` row appears when a block's first place is taken. Taking a place is
INSERT … ON CONFLICT DO NOTHING (the row exists afterwards, whoever made it) followed by
UPDATE … SET booked = booked + 1 WHERE booked < capacity: on PostgreSQL the second of two
concurrent UPDATEs waits for the first to commit and re-checks the condition against the new row;
on SQLite writers are serialised at BEGIN IMMEDIATE. Either way the last place goes to one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.config import get_settings
from carebridge.errors import Conflict, InvalidInput
from carebridge.kit.clock import local_zone, utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.test_appointments.models import CatalogueTest, OpeningHours, SlotCount


@dataclass(frozen=True)
class Block:
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    taken: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)


def blocks_on(hours: list[OpeningHours], day: dt.date, zone: ZoneInfo) -> list[Block]:
    blocks = []
    for row in hours:
        if str(day.isoweekday()) not in row.weekdays:
            continue
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
        start = row.opens_minute
        while start + row.block_minutes <= row.closes_minute:
            begins = (midnight + dt.timedelta(minutes=start)).astimezone(dt.UTC)
            blocks.append(Block(begins, begins + dt.timedelta(minutes=row.block_minutes), row.capacity))
            start += row.block_minutes
    return sorted(blocks, key=lambda b: b.starts_at)


def bookable_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    settings = get_settings()
    return (now + dt.timedelta(minutes=settings.test_appointments_min_lead_minutes),
            now + dt.timedelta(days=settings.test_appointments_booking_days))


def future_blocks(hours: list[OpeningHours], now: dt.datetime) -> list[Block]:
    zone = local_zone()
    earliest, latest = bookable_window(now)
    today = now.astimezone(zone).date()
    days = (latest.astimezone(zone).date() - today).days
    return [b for n in range(days + 1) for b in blocks_on(hours, today + dt.timedelta(days=n), zone)
            if earliest <= b.starts_at <= latest]


async def _hours(session: AsyncSession, test_id: int) -> list[OpeningHours]:
    return list((await session.scalars(select(OpeningHours).where(OpeningHours.test_id == test_id))).all())


async def open_slots(session: AsyncSession, test: CatalogueTest, now: dt.datetime | None = None) -> list[Slot]:
    """Every block from the lead time to the horizon, with the places taken (full ones included)."""
    blocks = future_blocks(await _hours(session, test.id), now or utcnow())
    if not blocks:
        return []
    taken = dict((await session.execute(select(SlotCount.starts_at, SlotCount.booked).where(
        SlotCount.test_id == test.id, SlotCount.starts_at >= blocks[0].starts_at,
        SlotCount.starts_at <= blocks[-1].starts_at))).all())
    return [Slot(b.starts_at, b.ends_at, b.capacity, taken.get(b.starts_at, 0)) for b in blocks]


async def block_at(session: AsyncSession, test: CatalogueTest, starts_at: dt.datetime,
                   now: dt.datetime | None = None) -> Block:
    if starts_at.tzinfo is None:
        raise InvalidInput(N_("the time needs a time zone"), details={"field": "starts_at"})
    wanted = starts_at.astimezone(dt.UTC)
    for block in future_blocks(await _hours(session, test.id), now or utcnow()):
        if block.starts_at == wanted:
            return block
    raise InvalidInput(N_("this time is not a bookable block of this test"), details={"field": "starts_at"})


def _insert(session: AsyncSession):  # noqa: ANN202 - the dialect's INSERT construct
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(SlotCount)


async def take_place(session: AsyncSession, test_id: int, block: Block) -> None:
    await session.execute(_insert(session).values(test_id=test_id, starts_at=block.starts_at, booked=0)
                          .on_conflict_do_nothing(index_elements=["test_id", "starts_at"]))
    done = await session.execute(
        update(SlotCount).where(SlotCount.test_id == test_id, SlotCount.starts_at == block.starts_at,
                                SlotCount.booked < block.capacity)
        .values(booked=SlotCount.booked + 1).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(N_("this time is fully booked; choose another"), code="slot_full")


async def give_back(session: AsyncSession, test_id: int, starts_at: dt.datetime) -> None:
    await session.execute(
        update(SlotCount).where(SlotCount.test_id == test_id, SlotCount.starts_at == starts_at,
                                SlotCount.booked > 0)
        .values(booked=SlotCount.booked - 1).execution_options(synchronize_session=False))


def local_day_bounds(day: dt.date | None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day in UTC; today when no day is given."""
    zone = local_zone()
    day = day or dt.datetime.now(zone).date()
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)
