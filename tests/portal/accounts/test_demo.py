"""The demo as a newcomer meets the patient accounts: demo.patient signs in by phone, looks after
his elderly mother on her signed paper permission, and a sign-up waits for demo.doctor to check."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from carebridge.auth import service as auth
from carebridge.auth.models import User
from carebridge.demo.seed import load_demo
from carebridge.kit.blobs import LocalBlobStore
from carebridge.portal.accounts import family, linking
from carebridge.portal.accounts.models import CaregiverPermission
from tests.portal.accounts.conftest import outbox

TODAY = dt.date(2025, 3, 12)


async def test_the_demo_patient_looks_after_his_mother_and_a_sign_up_waits(client, app, db, tmp_path):
    await load_demo(db, scale=0.05, blobs=LocalBlobStore(tmp_path), today=TODAY)
    users = {u.username: u for u in (await db.scalars(select(User).where(User.username.like("demo.%")))).all()}
    son = await auth.load_principal(db, users["demo.patient"], via="token")
    choices = await family.acting_choices(db, son)
    assert [c.is_self for c in choices] == [True, False]
    mother = choices[1]
    permission = await db.get(CaregiverPermission, mother.permission_id)
    assert permission.basis == "paper" and permission.scope == "all" and mother.relationship == "child"
    doctor = await auth.load_principal(db, users["demo.doctor"], via="token")
    assert len(await linking.pending_claims(db, doctor)) == 1

    await client.post("/api/v1/portal/codes", json={"phone": "13800138000"})
    signed = await client.post("/api/v1/portal/sessions",
                               json={"phone": "13800138000", "code": outbox(app).last_code("13800138000")})
    assert signed.json()["user_id"] == users["demo.patient"].id and signed.json()["link_status"] == "linked"
    record = await client.get(f"/api/v1/portal/patients/{mother.patient_id}/record")
    assert record.status_code == 200 and record.json()["patient"]["name"] == mother.name
