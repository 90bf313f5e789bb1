"""Password sign-in, account lockout and the per-address throttle."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from carebridge.audit.models import AuditEvent
from carebridge.auth.models import Role, User
from carebridge.auth.throttle import FailureWindow
from carebridge.kit.clock import utcnow
from tests.auth.conftest import sign_in


async def test_password_sign_in_opens_the_dashboard(client, world):
    facility = await world.facility()
    await world.user((Role.doctor, facility.id), username="dr.sun")
    response = await sign_in(client, "dr.sun")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    assert "httponly" in response.headers["set-cookie"].lower()
    assert (await client.get("/dashboard")).status_code == 200


async def test_unsafe_next_target_is_ignored(client, world):
    facility = await world.facility()
    await world.user((Role.doctor, facility.id), username="dr.open")
    response = await sign_in(client, "dr.open", next_path="//evil.example/phish")
    assert response.headers["location"] == "/dashboard"


async def test_account_locks_after_repeated_failures_and_unlocks_after_the_window(client, world, db, settings):
    facility = await world.facility()
    user = await world.user((Role.doctor, facility.id), username="dr.lock")
    for _ in range(settings.login_max_failures):
        assert (await sign_in(client, "dr.lock", "wrong-password-1")).status_code == 401
    locked = await sign_in(client, "dr.lock")  # even the right password is refused now
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > (settings.login_lockout_minutes - 1) * 60
    assert (await client.get("/dashboard")).status_code == 303
    await db.refresh(user)
    assert user.locked_until > utcnow()

    # The window passes (moved, not slept through).
    await db.execute(update(User).where(User.id == user.id).values(locked_until=utcnow() - dt.timedelta(seconds=1)))
    assert (await sign_in(client, "dr.lock")).status_code == 303
    assert (await client.get("/dashboard")).status_code == 200


async def test_failures_are_counted_although_the_request_rolls_back(client, world, db):
    facility = await world.facility()
    user = await world.user((Role.nurse, facility.id), username="nurse.count")
    for _ in range(2):
        await client.post("/api/v1/auth/token", json={"username": "nurse.count", "password": "nope-nope-nope",
                                                       "token_name": "x"})
        await sign_in(client, "nurse.count", "nope-nope-nope")
    await db.refresh(user)
    assert user.failed_logins == 4
    outcomes = (await db.scalars(select(AuditEvent.outcome).where(
        AuditEvent.action == "sign_in", AuditEvent.actor_user_id == user.id))).all()
    assert outcomes.count("failure") == 4


async def test_a_successful_sign_in_resets_the_failure_count(client, world, db):
    facility = await world.facility()
    user = await world.user((Role.doctor, facility.id), username="dr.reset")
    await sign_in(client, "dr.reset", "wrong-password-1")
    await sign_in(client, "dr.reset")
    await db.refresh(user)
    assert user.failed_logins == 0


async def test_deactivated_user_cannot_sign_in(client, world, db):
    facility = await world.facility()
    user = await world.user((Role.doctor, facility.id), username="dr.gone")
    user.is_active = False
    await db.flush()
    response = await sign_in(client, "dr.gone")
    assert response.status_code == 401
    assert "wrong username or password" in response.text or "用户名或密码" in response.text


async def test_one_address_spraying_many_accounts_is_throttled(client, other_client, world):
    facility = await world.facility()
    await world.user((Role.doctor, facility.id), username="dr.target")
    for n in range(20):
        assert (await sign_in(client, f"nobody{n}", "guess-guess-guess")).status_code == 401
    throttled = await sign_in(client, "dr.target")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    api = await client.post("/api/v1/auth/token", json={"username": "dr.target",
                                                        "password": "correct-horse-battery", "token_name": "x"})
    assert api.status_code == 429
    assert api.json()["code"] == "too_many_attempts"
    assert "retry-after" in api.headers
    # Another address is not affected.
    assert (await sign_in(other_client, "dr.target")).status_code == 303


def test_failure_window_slides():
    now = [1000.0]
    window = FailureWindow(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert window.retry_after("1.2.3.4") == 0
        window.record_failure("1.2.3.4")
        now[0] += 10
    assert window.retry_after("1.2.3.4") == 30  # the first failure (t=1000) expires at t=1060
    assert window.retry_after("5.6.7.8") == 0
    now[0] = 1060.5
    assert window.retry_after("1.2.3.4") == 0


async def test_saved_language_is_applied_at_sign_in(client, world, db):
    facility = await world.facility()
    user = await world.user((Role.doctor, facility.id), username="dr.english")
    user.locale = "en"
    await db.flush()
    response = await sign_in(client, "dr.english")
    assert "cb_lang=en" in "; ".join(response.headers.get_list("set-cookie"))
    assert "Dashboard" in (await client.get("/dashboard")).text
