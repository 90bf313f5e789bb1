"""Two nurses accept the same offered visit at the same moment, each on a real connection of its own:
exactly one gets it, the other is told it was taken. On PostgreSQL both read the offered order and
race on the versioned UPDATE; on SQLite the second waits for the first's write lock and then finds
the visit taken. The scene is committed, so it lives in a database of its own, built by the migrations."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from carebridge.db import make_engine
from carebridge.errors import Conflict
from carebridge.migrations import alembic_config
from carebridge.portal.home_nursing import dispatch
from carebridge.portal.home_nursing.models import NursingOffer, NursingOrder
from tests.conftest import PG_URL, _asyncpg_url
from tests.factories import World
from tests.portal.home_nursing import helpers
from tests.portal.home_nursing.scene import build_scene


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


async def _accept(maker, principal, order_id: int) -> str:  # noqa: ANN001
    async with maker() as session:
        try:
            await dispatch.accept(session, principal, order_id)
            await asyncio.sleep(0.2)  # hold the row (and SQLite's write lock) while the other tries
            await session.commit()
        except Conflict as exc:
            await session.rollback()
            return f"409 {exc.code}"
        return "200"


async def test_two_nurses_accepting_at_once_exactly_one_gets_the_visit(engine, tmp_path) -> None:  # noqa: ANN001
    url = await _fresh_database(engine.dialect.name, tmp_path)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    race_engine = make_engine(url)
    maker = async_sessionmaker(race_engine, expire_on_commit=False)
    try:
        async with maker() as db:
            scene = await build_scene(World(db), db)
            order = await helpers.assessed(scene)
            await dispatch.dispatch(db, await scene.p(scene.coordinator), order.id,
                                    [scene.practitioner["a"], scene.practitioner["b"]])
            one, two = await scene.p(scene.nurse_a), await scene.p(scene.nurse_b)
            await db.commit()
        results = await asyncio.gather(_accept(maker, one, order.id), _accept(maker, two, order.id))
        assert sorted(results) == ["200", "409 taken"]
        winner = one if results[0] == "200" else two
        async with maker() as db:
            won = await db.get(NursingOrder, order.id)
            assert won.state == "accepted" and won.nurse_user_id == winner.user_id
            rows = await db.execute(select(NursingOffer.nurse_user_id, NursingOffer.state)
                                    .where(NursingOffer.order_id == order.id))
            offers = dict(rows.all())
            assert sorted(offers.values()) == ["accepted", "withdrawn"] and offers[winner.user_id] == "accepted"
    finally:
        await race_engine.dispose()
