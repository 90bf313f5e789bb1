"""Exactly once under concurrency, with two real sessions on two connections, on PostgreSQL and on
SQLite: two pharmacists approving one prescription, two doctors approving one refill request, two
taps asking for the same refill. The scenes are committed, so they live in a database of their own
that is thrown away afterwards (the shared test database rolls every test back)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from carebridge.db import make_engine
from carebridge.errors import CareBridgeError
from carebridge.migrations import alembic_config
from carebridge.portal.pharmacy import dispensing, refills, service
from carebridge.portal.pharmacy.models import Prescription, PrescriptionEvent, RefillRequest
from tests.conftest import PG_URL, _asyncpg_url
from tests.factories import World
from tests.portal.pharmacy.conftest import approve, build_net, write


@pytest.fixture(scope="module")
async def race_maker(engine, tmp_path_factory):  # noqa: ANN001, ANN201
    if engine.dialect.name == "postgresql":
        base = _asyncpg_url(PG_URL)
        name = base.rsplit("/", 1)[1] + "_races"
        admin = make_engine(base, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        url = base.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('races') / 'races.db'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    race_engine = make_engine(url)
    yield async_sessionmaker(race_engine, expire_on_commit=False)
    await race_engine.dispose()


async def _arrange(maker, build: Callable[[World, object], Awaitable[object]]):  # noqa: ANN001, ANN202
    async with maker() as db:
        world = World(db)
        net = await build_net(world)
        made = await build(world, net)
        principals = {name: await world.principal(getattr(net, name))
                      for name in ("pharmacist", "pharmacist2", "doctor", "doctor2", "patient_user")}
        await db.commit()
    return net, made, principals


async def _at_once(maker, calls) -> list[str]:  # noqa: ANN001
    """Each call runs in its own session; both read first, then act while holding on a little."""
    async def one(call) -> str:  # noqa: ANN001
        async with maker() as session:
            try:
                await call(session)
                await asyncio.sleep(0.1)  # hold the transaction while the other tries
                await session.commit()
            except CareBridgeError as exc:
                await session.rollback()
                return f"{exc.status_code} {exc.code}"
            return "ok"
    return list(await asyncio.gather(*(one(call) for call in calls)))


async def test_two_pharmacists_approving_at_once_exactly_one_wins(race_maker):
    net, prescription, who = await _arrange(race_maker, lambda world, net: write(world, net))
    results = await _at_once(race_maker, [
        lambda s: service.review(s, who["pharmacist"], prescription.id, "approve"),
        lambda s: service.review(s, who["pharmacist2"], prescription.id, "approve")])
    assert sorted(results) == ["409 already_reviewed", "ok"]
    async with race_maker() as db:
        won = await db.get(Prescription, prescription.id)
        winner = who["pharmacist"] if results[0] == "ok" else who["pharmacist2"]
        assert (won.state, won.reviewed_by_id, won.lock_version) == ("approved", winner.user_id, 2)
        moves = (await db.scalars(select(PrescriptionEvent.action).where(
            PrescriptionEvent.prescription_id == prescription.id))).all()
        assert sorted(moves) == ["approve", "submit"]


async def _waiting_refill(world, net):  # noqa: ANN001, ANN202
    order = await write(world, net)
    await approve(world, net, order)
    await dispensing.mark_dispensed(world.db, order.id)
    return order, await refills.request_refill(world.db, await world.principal(net.patient_user), order.id)


async def test_a_refill_approved_twice_at_once_makes_one_prescription(race_maker):
    net, (order, request), who = await _arrange(race_maker, _waiting_refill)
    results = await _at_once(race_maker, [
        lambda s: refills.decide(s, who["doctor"], request.id, "approve"),
        lambda s: refills.decide(s, who["doctor2"], request.id, "approve")])
    assert sorted(results) == ["409 refill_decided", "ok"]
    async with race_maker() as db:
        made = (await db.scalars(select(Prescription).where(Prescription.refill_of_id == order.id))).all()
        assert len(made) == 1 and made[0].state == "pending_review"
        decided = await db.get(RefillRequest, request.id)
        assert (decided.state, decided.new_prescription_id, decided.open_for) == ("approved", made[0].id, None)
        assert (await db.get(Prescription, order.id)).refills_used == 1


async def _dispensed(world, net):  # noqa: ANN001, ANN202
    order = await write(world, net)
    await approve(world, net, order)
    await dispensing.mark_dispensed(world.db, order.id)
    return order


async def test_two_taps_on_refill_make_one_request(race_maker):
    net, order, who = await _arrange(race_maker, _dispensed)
    results = await _at_once(race_maker, [
        lambda s: refills.request_refill(s, who["patient_user"], order.id),
        lambda s: refills.request_refill(s, who["patient_user"], order.id)])
    assert sorted(results) == ["409 refill_waiting", "ok"]
    async with race_maker() as db:
        asked = (await db.scalars(select(RefillRequest).where(RefillRequest.prescription_id == order.id))).all()
        assert len(asked) == 1
