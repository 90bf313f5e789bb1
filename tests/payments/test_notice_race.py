"""A provider that sends its notice twice at the same moment, while a second checkout of the same
charge also settles: on two real PostgreSQL connections the charge is paid once, the feature's
handler runs once, and the extra money goes back. (SQLite takes the write lock at BEGIN, so there
the notices simply queue; the same outcome is tested on both engines in test_charges.py.)"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from carebridge.payments import ledger, service
from carebridge.payments.models import Charge
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from tests.factories import World
from tests.payments.conftest import PAID_LOG, build_scene, open_fee


async def _deliver(maker, body: bytes) -> str:  # noqa: ANN001
    async with maker() as session:
        payment = await service.receive_notice(session, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)
        await asyncio.sleep(0.05)  # hold the rows while the others try
        await session.commit()
        return payment.status


async def _cleanup(engine, charge_id: int, references: list[str], scene) -> None:  # noqa: ANN001
    users = [u.id for u in (scene.patient_user, scene.other_patient_user, scene.county_admin, scene.county_doctor,
                            scene.community_admin, scene.platform_admin)]
    async with engine.begin() as conn:
        for sql in ("DELETE FROM ledger_entries WHERE charge_id = :c", "DELETE FROM refunds WHERE charge_id = :c",
                    "DELETE FROM payments WHERE charge_id = :c", "DELETE FROM charge_lines WHERE charge_id = :c",
                    "DELETE FROM charges WHERE id = :c"):
            await conn.execute(text(sql), {"c": charge_id})
        await conn.execute(text("DELETE FROM provider_transactions WHERE reference = ANY(:r) "
                                "OR merchant_order = ANY(:r)"), {"r": references})
        await conn.execute(text("DELETE FROM role_assignments WHERE user_id = ANY(:u)"), {"u": users})
        await conn.execute(text("DELETE FROM users WHERE id = ANY(:u)"), {"u": users})
        patients = [scene.patient.id, scene.other_patient_user.patient_id]
        await conn.execute(text("DELETE FROM patient_registrations WHERE patient_id = ANY(:p)"), {"p": patients})
        await conn.execute(text("DELETE FROM patients WHERE id = ANY(:p)"), {"p": patients})
        await conn.execute(text("DELETE FROM facilities WHERE id = ANY(:f)"),
                           {"f": [scene.county.id, scene.community.id]})


async def test_racing_notices_pay_the_charge_once(engine):  # noqa: ANN001
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers at BEGIN")
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as db:
        world = World(db)
        scene = await build_scene(world)
        charge = await open_fee(world, scene)
        patient = await world.principal(scene.patient_user)
        refs = [(await service.start_payment(db, patient, charge.id)).reference for _ in range(2)]
        bodies = [await PROVIDERS["demo"].settle(db, ref) for ref in refs]
        await db.commit()
    try:
        outcomes = await asyncio.gather(_deliver(maker, bodies[0]), _deliver(maker, bodies[0]),
                                        _deliver(maker, bodies[1]))
        async with maker() as db:
            settled = await db.get(Charge, charge.id)
            refunds = await service.refunds_of(db, settled)
            books = await ledger.reconcile(db)
        assert outcomes.count("succeeded") == 3 and settled.status == "paid"
        assert PAID_LOG == [charge.id]
        assert [r.reason for r in refunds] == ["paid twice"]
        assert not [p for p in books.problems if f"charge {charge.id} " in p] and not books.unbalanced_txns
    finally:
        await _cleanup(engine, charge.id, refs, scene)
