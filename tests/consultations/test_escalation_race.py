"""Two server processes sweeping at the same moment on two real PostgreSQL connections: the overdue
case is escalated once, with one breach and one new grant. (SQLite serialises writers at BEGIN.)"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from carebridge.access.models import AccessGrant
from carebridge.consultations import escalation
from carebridge.consultations.models import ConsultationCase
from carebridge.consultations.schedule_models import ConsultationBreach
from tests.consultations.conftest import build_net
from tests.consultations.test_case_race import _cleanup
from tests.consultations.timing_world import submitted_case
from tests.factories import World


async def _sweep(maker, now: dt.datetime) -> int:  # noqa: ANN001
    async with maker() as session:
        written = await escalation.sweep_escalations(session, now)
        await asyncio.sleep(0.1)  # hold the claimed row while the other sweep tries
        await session.commit()
        return written


async def test_two_sweeps_at_once_escalate_once(engine, monkeypatch):  # noqa: ANN001
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers at BEGIN; the claim itself is tested on both engines")
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as db:
        world = World(db)
        net = await build_net(world, db)
        case = await submitted_case(world, net, db)
        await db.commit()
    decide = escalation._decide

    async def slow_decide(*args):  # noqa: ANN002, ANN202 - widen the window: both sweeps read the case first
        found = await decide(*args)
        await asyncio.sleep(0.05)
        return found

    monkeypatch.setattr(escalation, "_decide", slow_decide)
    now = case.due_at + dt.timedelta(minutes=1)
    try:
        results = await asyncio.gather(_sweep(maker, now), _sweep(maker, now))
        assert sorted(results) == [0, 1]
        async with maker() as db:
            moved = await db.get(ConsultationCase, case.id)
            assert moved.version == case.version + 1 and moved.target_facility_id == net.city.id
            assert await db.scalar(select(func.count()).select_from(ConsultationBreach).where(
                ConsultationBreach.case_id == case.id)) == 1
            assert await db.scalar(select(func.count()).select_from(AccessGrant).where(
                AccessGrant.source_id == case.id, AccessGrant.grantee_facility_id == net.city.id)) == 1
    finally:
        async with engine.begin() as conn:
            await conn.execute(ConsultationBreach.__table__.delete().where(ConsultationBreach.case_id == case.id))
        await _cleanup(engine, net, case.id)
