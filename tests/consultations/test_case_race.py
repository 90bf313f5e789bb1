"""Two experts accepting the same case at the same moment on two real PostgreSQL connections:
exactly one wins. (SQLite takes the write lock at BEGIN, so there the second simply finds the case
accepted; the version check itself is tested in test_case_service.py on both engines.)"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from carebridge.consultations import service
from carebridge.consultations.models import ConsultationCase
from carebridge.errors import Conflict
from tests.consultations.conftest import build_net
from tests.factories import World


async def _accept(maker, principal, case_id: int) -> str:  # noqa: ANN001
    async with maker() as session:
        seen = (await session.get(ConsultationCase, case_id)).state  # both read the triaged case first
        await asyncio.sleep(0.05)
        try:
            await service.take_action(session, principal, case_id, "accept")
            await asyncio.sleep(0.1)  # hold the row while the other tries
            await session.commit()
        except Conflict as exc:
            await session.rollback()
            return f"409 {exc.code} {seen}"
        return "200"


async def _cleanup(engine, net, case_id: int) -> None:  # noqa: ANN001
    users = [u.id for u in (net.requester, net.county_doctor, net.county_doctor2, net.county_admin,
                            net.city_doctor, net.outsider)]
    facilities = [net.township.id, net.county.id, net.city.id, net.outsider_facility_id]
    ids = {"users": users, "facilities": facilities, "case": case_id, "patient": net.patient.id}
    statements = [
        "DELETE FROM notification_deliveries WHERE user_id = ANY(:users)",
        "DELETE FROM notifications WHERE user_id = ANY(:users)",
        "DELETE FROM consultation_case_events WHERE case_id = :case",
        "DELETE FROM consultation_shared_items WHERE case_id = :case",
        "DELETE FROM consultation_cases WHERE id = :case",
        "DELETE FROM access_grants WHERE patient_id = :patient",
        "DELETE FROM observations WHERE id IN (SELECT id FROM record_entries WHERE patient_id = :patient)",
        "DELETE FROM conditions WHERE id IN (SELECT id FROM record_entries WHERE patient_id = :patient)",
        "DELETE FROM record_entries WHERE patient_id = :patient",
        "DELETE FROM consents WHERE patient_id = :patient",
        "DELETE FROM patient_registrations WHERE patient_id = :patient",
        "DELETE FROM patients WHERE id = :patient",
        "DELETE FROM api_tokens WHERE user_id = ANY(:users)",
        "DELETE FROM role_assignments WHERE user_id = ANY(:users)",
        "DELETE FROM users WHERE id = ANY(:users)",
        "DELETE FROM service_offerings WHERE facility_id = ANY(:facilities)",
        "DELETE FROM departments WHERE code = :code",
        "DELETE FROM facilities WHERE id = ANY(:facilities)",
    ]
    async with engine.begin() as conn:
        for sql in statements:
            params = {k: v for k, v in {**ids, "code": net.specialty}.items() if f":{k}" in sql}
            await conn.execute(text(sql), params)


async def test_two_connections_accepting_at_once_exactly_one_wins(engine):  # noqa: ANN001
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers at BEGIN; the version check is tested on both engines elsewhere")
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as db:
        world = World(db)
        net = await build_net(world, db)
        requester = await world.principal(net.requester)
        case = await service.request_consultation(db, requester, service.CaseRequest(
            patient_id=net.patient.id, question="AF?", specialty=net.specialty,
            shared_entry_ids=(net.entries[0].id,)))
        await service.take_action(db, requester, case.id, "submit")
        await service.take_action(db, await world.principal(net.county_admin), case.id, "triage")
        one, two = await world.principal(net.county_doctor), await world.principal(net.county_doctor2)
        await db.commit()
    try:
        results = await asyncio.gather(_accept(maker, one, case.id), _accept(maker, two, case.id))
        assert sorted(results) == ["200", "409 stale_case triaged"]
        async with maker() as db:
            won = await db.get(ConsultationCase, case.id)
            winner = one if results[0] == "200" else two
            assert won.state == "accepted" and won.assigned_expert_id == winner.user_id and won.version == 4
    finally:
        await _cleanup(engine, net, case.id)
