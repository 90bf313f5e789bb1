"""API tokens: created from a session (secret shown once), listed, revoked, expiring; bearer calls
need no CSRF token, cookie calls do."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import update

from carebridge.auth.models import ApiToken, Role
from carebridge.kit.clock import utcnow
from tests.auth.conftest import csrf_from, login_as, sign_in


async def test_token_page_shows_the_secret_once_and_the_token_works_until_revoked(client, other_client, world, db):
    facility = await world.facility()
    doctor = await world.user((Role.doctor, facility.id), username="dr.token")
    await sign_in(client, "dr.token")
    page = await client.get("/account/tokens")
    assert page.status_code == 200
    created = await client.post("/account/tokens", data={"name": "lab bridge", "expires_days": "30",
                                                         "csrf_token": csrf_from(page.text)})
    assert created.status_code == 200
    secret = re.search(r'class="token-secret">(cbt_[^<]+)<', created.text).group(1)
    listing = await client.get("/account/tokens")
    assert "lab bridge" in listing.text and secret not in listing.text and secret[:12] in listing.text

    bearer = {"Authorization": f"Bearer {secret}"}
    me = await other_client.get("/api/v1/auth/me", headers=bearer)
    assert me.status_code == 200
    assert me.json()["id"] == doctor.id and me.json()["via"] == "token"
    assert me.json()["roles"] == [{"role": "doctor", "facility_id": facility.id, "facility_name": facility.name}]

    token_id = (await other_client.get("/api/v1/auth/tokens", headers=bearer)).json()["items"][0]["id"]
    revoked = await client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_from(listing.text)})
    assert revoked.status_code == 303
    after = await other_client.get("/api/v1/auth/me", headers=bearer)
    assert after.status_code == 401
    assert after.json()["code"] == "bad_token"


async def test_token_api_create_list_revoke(client, world, db):
    facility = await world.facility()
    nurse = await world.user((Role.nurse, facility.id), username="nurse.api")
    csrf = await login_as(client, db, nurse)
    refused = await client.post("/api/v1/auth/tokens", json={"name": "no csrf"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    made = await client.post("/api/v1/auth/tokens", json={"name": "monitor", "expires_days": 7},
                             headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    body = made.json()
    assert body["secret"].startswith("cbt_") and body["prefix"] == body["secret"][:12]
    assert dt.timedelta(days=6) < dt.datetime.fromisoformat(body["expires_at"]) - utcnow() <= dt.timedelta(days=7)
    listed = (await client.get("/api/v1/auth/tokens")).json()["items"]
    assert [t["name"] for t in listed] == ["monitor"] and "secret" not in listed[0]

    # Bearer calls carry no CSRF token and need none.
    bearer = {"Authorization": f"Bearer {body['secret']}"}
    client.cookies.clear()
    revoke = await client.post(f"/api/v1/auth/tokens/{body['id']}/revoke", headers=bearer)
    assert revoke.status_code == 200
    assert revoke.json()["revoked_at"] is not None
    assert (await client.get("/api/v1/auth/tokens", headers=bearer)).json()["code"] == "bad_token"


async def test_a_token_cannot_mint_more_tokens(client, world):
    facility = await world.facility()
    doctor = await world.user((Role.doctor, facility.id))
    response = await client.post("/api/v1/auth/tokens", json={"name": "copy"}, headers=await world.token(doctor))
    assert response.status_code == 403
    assert response.json()["code"] == "session_required"


async def test_expired_token_is_refused(client, world, db):
    facility = await world.facility()
    doctor = await world.user((Role.doctor, facility.id))
    headers = await world.token(doctor)
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    await db.execute(update(ApiToken).where(ApiToken.user_id == doctor.id)
                     .values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    response = await client.get("/api/v1/auth/me", headers={**headers, "Accept-Language": "en"})
    assert response.status_code == 401
    assert response.json()["code"] == "bad_token"
    assert "expired" in response.json()["message"]


async def test_unknown_token_and_anonymous_are_401(client):
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    bad = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer cbt_nonsense"})
    assert bad.status_code == 401 and bad.json()["code"] == "bad_token"
    assert (await client.get("/api/v1/auth/tokens")).status_code == 401
    assert (await client.post("/api/v1/auth/tokens/1/revoke")).status_code == 401


async def test_someone_elses_token_cannot_be_revoked(client, world, db):
    facility = await world.facility()
    alice, bob = await world.user((Role.doctor, facility.id)), await world.user((Role.doctor, facility.id))
    await world.token(alice)
    alice_token = (await client.get("/api/v1/auth/tokens", headers=await world.token(alice))).json()["items"][-1]
    response = await client.post(f"/api/v1/auth/tokens/{alice_token['id']}/revoke", headers=await world.token(bob))
    assert response.status_code == 404


async def test_password_token_request(client, world, db):
    facility = await world.facility()
    await world.user((Role.technician, facility.id), username="tech.script")
    wrong = await client.post("/api/v1/auth/token", json={"username": "tech.script", "password": "not-it-at-all",
                                                          "token_name": "x"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_credentials"
    extra = await client.post("/api/v1/auth/token", json={"username": "tech.script", "password": "x",
                                                          "token_name": "x", "admin": True})
    assert extra.status_code == 422
    ok = await client.post("/api/v1/auth/token", json={"username": "tech.script", "password": "correct-horse-battery",
                                                       "token_name": "ecg uploader", "expires_days": 1})
    assert ok.status_code == 201
    assert ok.json()["name"] == "ecg uploader"
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {ok.json()['secret']}"})
    assert me.json()["username"] == "tech.script"


async def test_bad_token_input_is_refused_with_nothing_written(client, world, db):
    facility = await world.facility()
    doctor = await world.user((Role.doctor, facility.id))
    csrf = await login_as(client, db, doctor)
    for body in ({"name": ""}, {"name": "x", "expires_days": 0}, {"name": "x", "expires_days": "soon"}):
        response = await client.post("/api/v1/auth/tokens", json=body, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 422, body
    assert (await client.get("/api/v1/auth/tokens")).json()["items"] == []
