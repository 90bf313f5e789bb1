"""TOTP second factor: who must have it, enrolment, sign-in with it, replay, recovery codes,
lockout on wrong codes, switching it off and resets by administrators."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.auth.models import Role, User
from carebridge.web.deps import SESSION_COOKIE
from tests.auth.conftest import avoid_step_edge, code_at, csrf_from, enrol, login_as, sign_in


async def test_facility_admin_gets_no_access_with_the_password_alone(client, world):
    facility = await world.facility()
    await world.user((Role.facility_admin, facility.id), username="admin.wu")
    response = await sign_in(client, "admin.wu")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login/second-factor")
    dashboard = await client.get("/dashboard")
    assert dashboard.status_code == 303
    assert dashboard.headers["location"].startswith("/login/second-factor")
    api = await client.get("/api/v1/auth/me")
    assert api.status_code == 401
    assert api.json()["code"] == "second_factor_required"
    assert (await client.get("/admin/users")).status_code == 303


async def test_required_second_factor_is_enrolled_at_first_sign_in(client, world, db):
    facility = await world.facility()
    user = await world.user((Role.facility_admin, facility.id), username="admin.new")
    await sign_in(client, "admin.new", next_path="/account")
    step = await client.get("/login/second-factor?next=/account")
    assert step.status_code == 303
    assert step.headers["location"].startswith("/account/second-factor/enrol")
    page = await client.get(step.headers["location"])
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text
    await db.refresh(user)
    secret = user.totp_secret
    assert secret and not user.totp_enabled
    assert "".join(re.findall(r"<span>([A-Z2-7]{1,4})</span>", page.text)) == secret
    pending_cookie = client.cookies[SESSION_COOKIE]

    wrong = await client.post("/account/second-factor/enrol", data={
        "code": "000000" if code_at(secret) != "000000" else "111111", "next": "/account",
        "csrf_token": csrf_from(page.text)})
    assert wrong.status_code == 422
    avoid_step_edge()
    done = await client.post("/account/second-factor/enrol", data={
        "code": code_at(secret), "next": "/account", "csrf_token": csrf_from(page.text)})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>", done.text)
    assert len(set(codes)) == 10
    assert client.cookies[SESSION_COOKIE] != pending_cookie  # a fresh session after the second factor
    assert (await client.get("/dashboard")).status_code == 200
    account = await client.get("/account")
    assert "10" in account.text

    # The half-signed-in session id is worth nothing now.
    client.cookies.set(SESSION_COOKIE, pending_cookie)
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_facility_that_requires_it_makes_its_staff_enrol(client, world):
    strict = await world.facility(require_mfa=True)
    relaxed = await world.facility()
    await world.user((Role.doctor, strict.id), username="dr.strict")
    await world.user((Role.doctor, relaxed.id), username="dr.relaxed")
    assert (await sign_in(client, "dr.strict")).headers["location"].startswith("/login/second-factor")
    client.cookies.clear()
    assert (await sign_in(client, "dr.relaxed")).headers["location"] == "/dashboard"


async def test_enrolled_user_signs_in_with_a_code_and_a_code_cannot_be_replayed(client, world, db):
    facility = await world.facility()
    user = await world.user((Role.facility_admin, facility.id), username="admin.code")
    secret, _ = await enrol(db, user)
    await sign_in(client, "admin.code")
    page = await client.get("/login/second-factor?next=/dashboard")
    assert page.status_code == 200
    csrf = csrf_from(page.text)
    bad = await client.post("/login/second-factor", data={"code": "12345x", "csrf_token": csrf})
    assert bad.status_code == 401
    code = code_at(secret)
    ok = await client.post("/login/second-factor", data={"code": code, "next": "/dashboard", "csrf_token": csrf})
    assert ok.status_code == 303
    assert ok.headers["location"] == "/dashboard"
    assert (await client.get("/dashboard")).status_code == 200

    # Someone who watched the code being typed signs in with the password and the same code.
    client.cookies.clear()
    await sign_in(client, "admin.code")
    page = await client.get("/login/second-factor")
    replay = await client.post("/login/second-factor", data={"code": code, "csrf_token": csrf_from(page.text)})
    assert replay.status_code == 401
    assert (await client.get("/dashboard")).status_code == 303
    # The next step's code still works.
    fresh = await client.post("/login/second-factor", data={"code": code_at(secret, 1),
                                                            "csrf_token": csrf_from(page.text)})
    assert fresh.status_code == 303


async def test_second_factor_post_needs_the_csrf_token(client, world, db):
    facility = await world.facility()
    user = await world.user((Role.facility_admin, facility.id), username="admin.csrf")
    secret, _ = await enrol(db, user)
    await sign_in(client, "admin.csrf")
    response = await client.post("/login/second-factor", data={"code": code_at(secret)})
    assert response.status_code == 403


async def test_recovery_code_works_once(client, world, db):
    facility = await world.facility()
    user = await world.user((Role.facility_admin, facility.id), username="admin.lost")
    _, codes = await enrol(db, user)
    await sign_in(client, "admin.lost")
    csrf = csrf_from((await client.get("/login/second-factor")).text)
    ok = await client.post("/login/second-factor", data={"code": codes[3].upper(), "csrf_token": csrf})
    assert ok.status_code == 303
    assert (await client.get("/dashboard")).status_code == 200

    client.cookies.clear()
    await sign_in(client, "admin.lost")
    csrf = csrf_from((await client.get("/login/second-factor")).text)
    again = await client.post("/login/second-factor", data={"code": codes[3], "csrf_token": csrf})
    assert again.status_code == 401
    other = await client.post("/login/second-factor", data={"code": codes[4], "csrf_token": csrf})
    assert other.status_code == 303


async def test_wrong_codes_lock_the_account_and_end_the_half_signed_in_session(client, world, db, settings):
    facility = await world.facility()
    user = await world.user((Role.facility_admin, facility.id), username="admin.guess")
    secret, _ = await enrol(db, user)
    await sign_in(client, "admin.guess")
    csrf = csrf_from((await client.get("/login/second-factor")).text)
    wrong = "000000" if code_at(secret) != "000000" else "999999"
    for _ in range(settings.login_max_failures):
        assert (await client.post("/login/second-factor", data={"code": wrong, "csrf_token": csrf})).status_code == 401
    # The session is gone: back to the password step, where the account is locked.
    after = await client.get("/login/second-factor")
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")
    assert (await sign_in(client, "admin.guess")).status_code == 429
    await db.refresh(user)
    assert user.locked_until is not None
    failures = (await db.scalars(select(AuditEvent.seq).where(
        AuditEvent.action == "verify_mfa", AuditEvent.outcome == "failure", AuditEvent.actor_user_id == user.id))).all()
    assert len(failures) == settings.login_max_failures


async def test_voluntary_second_factor_can_be_turned_off_but_a_required_one_cannot(client, world, db):
    facility = await world.facility()
    doctor = await world.user((Role.doctor, facility.id), username="dr.careful")
    secret, _ = await enrol(db, doctor)
    csrf = await login_as(client, db, doctor)
    refused = await client.post("/account/second-factor/disable", data={"code": "000001", "csrf_token": csrf})
    assert refused.status_code == 401
    off = await client.post("/account/second-factor/disable", data={"code": code_at(secret), "csrf_token": csrf})
    assert off.status_code == 303
    await db.refresh(doctor)
    assert not doctor.totp_enabled and doctor.totp_secret is None

    admin = await world.user((Role.facility_admin, facility.id), username="admin.keep")
    admin_secret, _ = await enrol(db, admin)
    client.cookies.clear()
    csrf = await login_as(client, db, admin)
    kept = await client.post("/account/second-factor/disable", data={"code": code_at(admin_secret, 1),
                                                                     "csrf_token": csrf})
    assert kept.status_code == 403
    await db.refresh(admin)
    assert admin.totp_enabled


async def test_voluntary_enrolment_from_the_account_page(client, world, db):
    facility = await world.facility()
    doctor = await world.user((Role.doctor, facility.id), username="dr.keen")
    await login_as(client, db, doctor)
    page = await client.get("/account/second-factor/enrol")
    assert page.status_code == 200
    await db.refresh(doctor)
    avoid_step_edge()
    done = await client.post("/account/second-factor/enrol", data={
        "code": pyotp.TOTP(doctor.totp_secret).now(), "csrf_token": csrf_from(page.text)})
    assert done.status_code == 200
    await db.refresh(doctor)
    assert doctor.totp_enabled
    # Now sign-in asks for it.
    client.cookies.clear()
    assert (await sign_in(client, "dr.keen")).headers["location"].startswith("/login/second-factor")


async def test_platform_admin_resets_a_lost_second_factor(client, world, db):
    facility = await world.facility()
    root = await world.user((Role.platform_admin, None), username="root.reset")
    admin = await world.user((Role.facility_admin, facility.id), username="admin.phone")
    await enrol(db, admin)
    response = await client.post(f"/api/v1/users/{admin.id}/reset-second-factor", headers=await world.token(root))
    assert response.status_code == 200
    assert response.json()["second_factor_enabled"] is False
    await db.refresh(admin)
    assert not admin.totp_enabled
    audit = await db.scalar(select(AuditEvent).where(AuditEvent.action == "reset_mfa"))
    assert audit.actor_user_id == root.id and audit.resource_id == str(admin.id)
    # At the next sign-in they are sent to enrol again.
    await sign_in(client, "admin.phone")
    assert (await client.get("/login/second-factor")).headers["location"].startswith("/account/second-factor/enrol")


async def test_facility_admin_resets_only_their_own_staff(client, world, db):
    home, away = await world.facility(), await world.facility()
    admin = await world.user((Role.facility_admin, home.id))
    mine = await world.user((Role.doctor, home.id))
    theirs = await world.user((Role.doctor, away.id))
    both = await world.user((Role.doctor, home.id), (Role.doctor, away.id))
    for user in (mine, theirs, both):
        await enrol(db, user)
    headers = await world.token(admin)
    assert (await client.post(f"/api/v1/users/{mine.id}/reset-second-factor", headers=headers)).status_code == 200
    assert (await client.post(f"/api/v1/users/{theirs.id}/reset-second-factor", headers=headers)).status_code == 404
    assert (await client.post(f"/api/v1/users/{both.id}/reset-second-factor", headers=headers)).status_code == 403
    await db.refresh(theirs)
    assert theirs.totp_enabled


async def test_programs_get_a_token_with_password_and_code(client, world, db):
    facility = await world.facility()
    admin = await world.user((Role.facility_admin, facility.id), username="admin.bot")
    body = {"username": "admin.bot", "password": "correct-horse-battery", "token_name": "sync job"}
    not_enrolled = await client.post("/api/v1/auth/token", json=body)
    assert not_enrolled.status_code == 403
    assert not_enrolled.json()["code"] == "second_factor_not_enrolled"
    secret, _ = await enrol(db, admin)
    missing = await client.post("/api/v1/auth/token", json=body)
    assert missing.status_code == 401
    assert missing.json()["code"] == "second_factor_required"
    wrong = await client.post("/api/v1/auth/token", json={**body, "totp_code": "000000" if code_at(secret) != "000000"
                                                          else "111111"})
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "bad_code"
    issued = await client.post("/api/v1/auth/token", json={**body, "totp_code": code_at(secret)})
    assert issued.status_code == 201
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issued.json()['secret']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "admin.bot"


async def test_second_factor_over_the_api(client, world, db):
    facility = await world.facility()
    admin = await world.user((Role.facility_admin, facility.id), username="admin.api2fa")
    await sign_in(client, "admin.api2fa")
    csrf = csrf_from((await client.get("/account/second-factor/enrol")).text)
    started = await client.post("/api/v1/auth/second-factor/enrol", headers={"X-CSRF-Token": csrf})
    assert started.status_code == 200
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/CareBridge:admin.api2fa")
    avoid_step_edge()
    confirmed = await client.post("/api/v1/auth/second-factor/confirm", headers={"X-CSRF-Token": csrf},
                                  json={"code": pyotp.TOTP(started.json()["secret"]).now()})
    assert confirmed.status_code == 200
    assert len(confirmed.json()["recovery_codes"]) == 10
    me = await client.get("/api/v1/auth/me")  # the response set a verified session cookie
    assert me.status_code == 200
    assert me.json()["second_factor_enabled"] and me.json()["second_factor_required"]
    await db.refresh(admin)
    assert (await db.get(User, admin.id)).totp_enabled
