"""Two patients booking the last place at the same moment, each on their own database connection
and transaction: exactly one gets it, the other is told someone was quicker, and the counters
say one. Run on a database of its own (built by the migrations), because the bookings commit.

On PostgreSQL the two transactions overlap and the second's conditional UPDATE finds nothing left
to take; on SQLite the second waits for the write lock (BEGIN IMMEDIATE) and then finds the same."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import func, select, text

from carebridge.db import make_engine, make_sessionmaker
from carebridge.errors import Conflict
from carebridge.migrations import alembic_config
from carebridge.portal.visits import service
from carebridge.portal.visits.models import Visit, VisitDay, VisitSlot
from tests.conftest import PG_URL, _asyncpg_url
from tests.factories import World
from tests.portal.visits.conftest import build_net, publish


async def _fresh_database(engine_name: str, tmp_path) -> str:  # noqa: ANN001
    if engine_name == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    base = _asyncpg_url(PG_URL)
    name = base.rsplit("/", 1)[1] + "_race"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
async def race_db(engine, tmp_path):  # noqa: ANN001, ANN201 - `engine` only chooses which engine to race on
    url = await _fresh_database(engine.dialect.name, tmp_path)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    own = make_engine(url)
    yield make_sessionmaker(own)
    await own.dispose()


async def _book(maker, principal, data: service.BookingInput) -> str:  # noqa: ANN001
    async with maker() as session:
        try:
            await service.book_visit(session, principal, data)
            await asyncio.sleep(0.1)  # hold the places while the other tries
            await session.commit()
        except Conflict as exc:
            await session.rollback()
            return exc.code
        return "booked"


async def _arrange(maker, **series):  # noqa: ANN001, ANN202
    async with maker() as db:
        world = World(db)
        net = await build_net(world)
        made = await publish(world, net, **series)
        people = [await world.principal(net.patient_user), await world.principal(net.other_patient_user)]
        await db.commit()
    return net, made, people


@pytest.mark.parametrize(("series", "slot_of", "loser"), [
    ({"end": "09:20", "daily_max": 2}, (0, 0), "slot_taken"),  # one slot left, both want it
    ({"end": "10:00", "daily_max": 1}, (0, 1), "day_full"),  # two free slots, one place left in the day
])
async def test_two_patients_booking_the_last_place_at_once_exactly_one_gets_it(race_db, series, slot_of, loser):  # noqa: ANN001
    net, made, (first, second) = await _arrange(race_db, **series)
    results = await asyncio.gather(
        _book(race_db, first, service.BookingInput(net.patient.id, made[slot_of[0]].id, net.conditions["eligible"])),
        _book(race_db, second, service.BookingInput(net.other_patient.id, made[slot_of[1]].id, net.other_condition)))
    assert sorted(results) == sorted(["booked", loser])
    async with race_db() as db:
        assert await db.scalar(select(func.count(Visit.id))) == 1
        assert await db.scalar(select(func.sum(VisitDay.booked))) == 1
        assert await db.scalar(select(func.count(VisitSlot.id)).where(VisitSlot.taken.is_(True))) == 1
        winner = await db.scalar(select(Visit.patient_id))
    assert winner == (net.patient.id if results[0] == "booked" else net.other_patient.id)
