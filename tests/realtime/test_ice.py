"""ICE configuration: STUN/TURN URLs from settings and coturn use-auth-secret credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from pydantic import SecretStr

from carebridge.auth.models import Role
from carebridge.realtime.ice import turn_credentials
from tests.realtime.conftest import include_realtime

URL = "/api/v1/realtime/ice-servers"


def test_turn_credential_matches_coturn_formula() -> None:
    # Reference value computed outside Python:
    # printf '%s' "1800021600:42" | openssl dgst -sha1 -hmac coturn-shared-secret -binary | base64
    username, credential = turn_credentials("coturn-shared-secret", 42, ttl_seconds=21600, now=1_800_000_000)
    assert username == "1800021600:42"
    assert credential == "B2sXJFfKy4XkNWGVkwm5B2dAZEA="


async def test_signed_in_user_gets_stun_and_own_expiring_turn_credentials(app, client, world, settings) -> None:
    include_realtime(app)
    app.state.settings = settings.model_copy(update={
        "realtime_stun_urls": "stun:turn.example.org:3478",
        "realtime_turn_urls": "turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349",
        "realtime_turn_secret": SecretStr("coturn-shared-secret"),
        "realtime_turn_ttl_seconds": 3600,
    })
    facility = await world.facility()
    doctor = await world.user((Role.doctor, facility.id))
    before = int(time.time())
    response = await client.get(URL, headers=await world.token(doctor))
    assert response.status_code == 200
    stun, turn = response.json()["ice_servers"]
    assert stun == {"urls": ["stun:turn.example.org:3478"], "username": None, "credential": None}
    assert turn["urls"] == ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]
    expiry, user_id = turn["username"].split(":")
    assert user_id == str(doctor.id) and before + 3600 <= int(expiry) <= int(time.time()) + 3600
    assert response.json()["expires_at"] == int(expiry)
    expected = hmac.new(b"coturn-shared-secret", turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected


async def test_without_turn_secret_only_stun_is_offered(app, client, world, settings) -> None:
    include_realtime(app)
    app.state.settings = settings.model_copy(update={"realtime_stun_urls": "stun:stun.example.org:3478",
                                                      "realtime_turn_urls": "turn:turn.example.org:3478"})
    nurse = await world.user((Role.nurse, (await world.facility()).id))
    response = await client.get(URL, headers=await world.token(nurse))
    assert response.json() == {"ice_servers": [{"urls": ["stun:stun.example.org:3478"], "username": None,
                                                "credential": None}], "expires_at": None}


async def test_anonymous_caller_is_401(app, client) -> None:
    include_realtime(app)
    response = await client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
