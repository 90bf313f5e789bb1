"""Two patients taking the last place of a block at the same moment, each in a real session of its
own: exactly one booking, on PostgreSQL (the second UPDATE waits for the first and re-checks
`booked < capacity`) and on SQLite (the second transaction waits at BEGIN IMMEDIATE).

The sessions commit, so the race runs in a scratch database of the same engine built by the
migrations, never in the shared test database."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from carebridge.db import make_engine
from carebridge.errors import Conflict
from carebridge.migrations import alembic_config
from carebridge.portal.test_appointments import catalogue, service, slots
from carebridge.portal.test_appointments.models import Booking, SlotCount
from carebridge.portal.test_appointments.schemas import HoursIn
from tests.conftest import PG_URL, _asyncpg_url
from tests.factories import World
from tests.portal.test_appointments.conftest import build_test_net


async def _scratch_url(dialect: str, tmp_path) -> str:  # noqa: ANN001
    if dialect == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    base = _asyncpg_url(PG_URL)
    name = base.rsplit("/", 1)[1] + "_race"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


async def _take_last_place(maker, principal, patient_id: int, test_id: int, starts_at: dt.datetime) -> str:  # noqa: ANN001
    async with maker() as session:
        test = await session.get(catalogue.CatalogueTest, test_id)
        seen = next(s for s in await slots.open_slots(session, test) if s.starts_at == starts_at)
        await asyncio.sleep(0.05)  # both have seen the place free before either books
        try:
            await service.book_test(session, principal, service.BookingInput(patient_id, test_id, starts_at))
            await asyncio.sleep(0.1)  # hold the transaction while the other tries
            await session.commit()
        except Conflict as exc:
            await session.rollback()
            return f"{exc.code} (saw {seen.free} free)"
        return "booked"


async def test_two_patients_taking_the_last_place_at_once_get_one_booking(engine, tmp_path) -> None:  # noqa: ANN001
    url = await _scratch_url(engine.dialect.name, tmp_path)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    scratch = make_engine(url)
    maker = async_sessionmaker(scratch, expire_on_commit=False)
    try:
        async with maker() as db:
            world = World(db)
            net = await build_test_net(world, db)
            test = await net.test_at(db, net.community, "58410-2")
            await catalogue.set_hours(db, await world.principal(net.community_admin), test.id,
                                      [HoursIn(weekdays="1234567", opens="08:00", closes="12:00", capacity=1)])
            slot = await net.first_slot(db, test)
            one, two = await world.principal(net.patient_user), await world.principal(net.other_user)
            patients = (net.patient.id, net.other_patient.id)
            await db.commit()
        results = await asyncio.gather(_take_last_place(maker, one, patients[0], test.id, slot.starts_at),
                                       _take_last_place(maker, two, patients[1], test.id, slot.starts_at))
        assert sorted(results) in (["booked", "slot_full (saw 1 free)"], ["booked", "slot_full (saw 0 free)"])
        async with maker() as db:
            assert await db.scalar(select(func.count(Booking.id)).where(Booking.test_id == test.id)) == 1
            assert await db.scalar(select(SlotCount.booked).where(SlotCount.test_id == test.id,
                                                                  SlotCount.starts_at == slot.starts_at)) == 1
    finally:
        await scratch.dispose()


@pytest.mark.parametrize("attempts", [6])
async def test_many_patients_for_two_places_get_two_bookings(engine, tmp_path, attempts: int) -> None:  # noqa: ANN001
    url = await _scratch_url(engine.dialect.name, tmp_path)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    scratch = make_engine(url)
    maker = async_sessionmaker(scratch, expire_on_commit=False)
    try:
        async with maker() as db:
            world = World(db)
            net = await build_test_net(world, db)
            test = await net.test_at(db, net.community, "US-ABDOMEN")  # two places per block
            slot = await net.first_slot(db, test)
            callers = []
            for _ in range(attempts):
                patient = await world.patient(net.village)
                user = await world.user(("patient", net.village.id), patient_id=patient.id)
                callers.append((await world.principal(user), patient.id))
            await db.commit()

        async def book(principal, patient_id: int) -> str:  # noqa: ANN001
            async with maker() as session:
                try:
                    await service.book_test(session, principal, service.BookingInput(
                        patient_id, test.id, slot.starts_at, consent_remote_reading=True))
                    await session.commit()
                except Conflict as exc:
                    await session.rollback()
                    return exc.code
                return "booked"

        results = await asyncio.gather(*(book(p, pid) for p, pid in callers))
        assert sorted(results) == ["booked"] * 2 + ["slot_full"] * (attempts - 2)
        async with maker() as db:
            assert await db.scalar(select(SlotCount.booked).where(SlotCount.test_id == test.id,
                                                                  SlotCount.starts_at == slot.starts_at)) == 2
    finally:
        await scratch.dispose()
