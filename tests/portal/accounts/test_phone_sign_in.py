"""Signing in (and up) with a phone number and a one-time code, as a patient's phone app or browser
does it: the code reaches the phone, is kept only as a digest, dies after five minutes or five
wrong tries, works once, and asking for codes is throttled per phone and per address."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from carebridge.audit.models import AuditEvent
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.kit.clock import utcnow
from carebridge.portal.accounts.models import PhoneCode, PortalAccount
from carebridge.web.deps import SESSION_COOKIE
from tests.portal.accounts.conftest import code_session, new_phone, outbox, request_code


async def _backdate(db, phone: str, seconds: int) -> None:  # noqa: ANN001
    """As if the phone's codes had been asked for `seconds` ago."""
    then = utcnow() - dt.timedelta(seconds=seconds)
    await db.execute(update(PhoneCode).where(PhoneCode.phone == phone).values(created_at=then))


async def test_a_new_phone_signs_up_with_the_code_it_received(client, app, db, scene):
    phone = new_phone()
    sent = await request_code(client, phone)
    assert sent.status_code == 202
    assert sent.json()["phone_masked"] == phone[:3] + "****" + phone[-4:]
    code = outbox(app).last_code(phone)
    assert code is not None and len(code) == 6 and code.isdigit()
    stored = await db.scalar(select(PhoneCode).where(PhoneCode.phone == phone))
    assert code not in stored.code_digest and len(stored.code_digest) == 64  # only a keyed digest is kept

    answer = await client.post("/api/v1/portal/sessions", json={"phone": phone, "code": code})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["signed_up"] and body["needs_profile"] and body["link_status"] == "profile"
    assert SESSION_COOKIE in answer.cookies
    me = (await client.get("/api/v1/portal/me")).json()
    assert me["phone_masked"] == phone[:3] + "****" + phone[-4:] and me["patient_id"] is None
    user = await db.get(User, body["user_id"])
    assert user.username == phone  # so the ordinary password sign-in takes the phone number too
    roles = (await db.execute(select(RoleAssignment.role, RoleAssignment.facility_id)
                              .where(RoleAssignment.user_id == user.id))).all()
    assert roles == [(Role.patient.value, scene.hospital.id)]


async def test_a_code_works_once(client, app, scene):
    phone = new_phone()
    await request_code(client, phone)
    code = outbox(app).last_code(phone)
    first = await client.post("/api/v1/portal/sessions", json={"phone": phone, "code": code})
    again = await client.post("/api/v1/portal/sessions", json={"phone": phone, "code": code})
    assert first.status_code == 200
    assert again.status_code == 401 and again.json()["code"] == "code_expired"


async def test_five_wrong_tries_spend_the_code_even_though_each_answer_is_an_error(client, app, db, scene):
    phone = new_phone()
    await request_code(client, phone)
    code = outbox(app).last_code(phone)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    left = []
    for _ in range(5):
        answer = await client.post("/api/v1/portal/sessions", json={"phone": phone, "code": wrong})
        assert answer.status_code == 401
        left.append(answer.json()["details"]["attempts_left"])
    assert left == [4, 3, 2, 1, 0]
    late = await client.post("/api/v1/portal/sessions", json={"phone": phone, "code": code})
    assert late.status_code == 401 and late.json()["code"] == "code_expired"
    failures = (await db.scalars(select(AuditEvent).where(
        AuditEvent.action == "sign_in", AuditEvent.outcome == "failure").order_by(AuditEvent.seq))).all()
    mine = [f for f in failures if f.detail.get("phone") == phone[:3] + "****" + phone[-4:]]
    assert [f.detail["reason"] for f in mine] == ["wrong"] * 5 + ["expired"]


async def test_a_code_expires_after_five_minutes(client, app, db, scene):
    phone = new_phone()
    await request_code(client, phone)
    code = outbox(app).last_code(phone)
    row = await db.scalar(select(PhoneCode).where(PhoneCode.phone == phone))
    assert dt.timedelta(minutes=4, seconds=59) < row.expires_at - row.created_at <= dt.timedelta(minutes=5)
    await db.execute(update(PhoneCode).where(PhoneCode.id == row.id).values(expires_at=utcnow()))
    answer = await client.post("/api/v1/portal/sessions", json={"phone": phone, "code": code})
    assert answer.status_code == 401 and answer.json()["code"] == "code_expired"


async def test_only_the_newest_code_works(client, app, db, scene):
    phone = new_phone()
    await request_code(client, phone)
    old = outbox(app).last_code(phone)
    await _backdate(db, phone, 61)
    await request_code(client, phone)
    new = outbox(app).last_code(phone)
    if old == new:  # one in a million: nothing to tell apart
        return
    stale = await client.post("/api/v1/portal/sessions", json={"phone": phone, "code": old})
    assert stale.status_code == 401
    fresh = await client.post("/api/v1/portal/sessions", json={"phone": phone, "code": new})
    assert fresh.status_code == 200


async def test_resending_is_throttled_per_phone(client, app, db, scene):
    phone = new_phone()
    assert (await request_code(client, phone)).status_code == 202
    soon = await request_code(client, phone)
    assert soon.status_code == 429 and soon.json()["code"] == "code_resend_too_soon"
    assert 1 <= int(soon.headers["Retry-After"]) <= 61
    for _ in range(4):  # each asked for after the resend pause, all within the hour
        await _backdate(db, phone, 61)
        assert (await request_code(client, phone)).status_code == 202
    await _backdate(db, phone, 61)
    sixth = await request_code(client, phone)
    assert sixth.status_code == 429 and sixth.json()["code"] == "too_many_codes"
    assert len([s for s in outbox(app).outbox if s.phone == phone]) == 5


async def test_asking_is_throttled_per_address(client, app, settings, monkeypatch, scene):
    monkeypatch.setattr(settings, "portal_code_per_address_hour", 3)
    answers = [await request_code(client, new_phone()) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[-1].json()["code"] == "too_many_codes"


async def test_bad_phone_numbers_are_refused(client, scene):
    for phone in ("", "12ab", "123"):
        answer = await request_code(client, phone)
        assert answer.status_code == 422


async def test_a_patient_on_file_before_the_portal_signs_in_to_their_own_account(client, app, db, world, scene):
    phone = scene.mother.phone
    user = await world.user((Role.patient, scene.town.id), patient_id=scene.mother.id)
    user.phone = phone
    await db.flush()
    body = await code_session(client, app, phone)
    assert body["user_id"] == user.id and not body["signed_up"] and body["link_status"] == "linked"
    record = await client.get(f"/api/v1/portal/patients/{scene.mother.id}/record")
    assert record.status_code == 200 and record.json()["access_basis"] == "self"
    account = await db.scalar(select(PortalAccount).where(PortalAccount.user_id == user.id))
    assert account.phone == phone


async def test_a_staff_phone_never_opens_the_staff_account(client, app, db, scene):
    doctor = scene.town_doctor
    doctor.phone = new_phone()
    await db.flush()
    body = await code_session(client, app, doctor.phone)
    assert body["user_id"] != doctor.id and body["signed_up"]


async def test_programs_get_a_bearer_token_instead_of_a_cookie(client, app, scene):
    phone = new_phone()
    await request_code(client, phone)
    answer = await client.post("/api/v1/portal/sessions",
                               json={"phone": phone, "code": outbox(app).last_code(phone), "want": "token"})
    assert answer.status_code == 200
    assert SESSION_COOKIE not in answer.cookies and answer.json()["token"].startswith("cbt_")
    me = await client.get("/api/v1/portal/me", headers={"Authorization": f"Bearer {answer.json()['token']}"})
    assert me.status_code == 200 and me.json()["user_id"] == answer.json()["user_id"]
