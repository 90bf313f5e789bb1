"""Room tokens: only an unexpired token, signed with our secret, for this very room is accepted."""

from __future__ import annotations

import pytest

from carebridge.errors import Forbidden, NotAuthenticated
from carebridge.realtime.tokens import check_room_token, issue_room_token

SECRET = "x" * 48
NOW = 1_800_000_000


def _token(**kw) -> str:
    return issue_room_token(SECRET, **({"room_id": "case-7", "user_id": 42, "display_name": "Dr 王",
                                        "now": NOW} | kw))


def test_valid_token_names_room_user_and_expiry() -> None:
    grant = check_room_token(SECRET, _token(), room_id="case-7", now=NOW + 119)
    assert (grant.room_id, grant.user_id, grant.display_name) == ("case-7", 42, "Dr 王")
    assert grant.expires_at == NOW + 120


def test_expired_token_is_refused() -> None:
    with pytest.raises(NotAuthenticated) as caught:
        check_room_token(SECRET, _token(), room_id="case-7", now=NOW + 120)
    assert caught.value.code == "room_token_expired"


def test_token_for_another_room_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        check_room_token(SECRET, _token(room_id="case-8"), room_id="case-7", now=NOW)


@pytest.mark.parametrize("tamper", [
    lambda t: issue_room_token("y" * 48, room_id="case-7", user_id=42, display_name="Dr", now=NOW),
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: _token(user_id=1).split(".")[0] + "." + t.split(".")[1],
    lambda t: t.split(".")[0],
    lambda t: "",
    lambda t: "not a token",
])
def test_forged_or_malformed_token_is_refused(tamper) -> None:
    with pytest.raises(NotAuthenticated) as caught:
        check_room_token(SECRET, tamper(_token()), room_id="case-7", now=NOW)
    assert caught.value.code == "room_token_invalid"


def test_missing_token_is_refused() -> None:
    with pytest.raises(NotAuthenticated):
        check_room_token(SECRET, None, room_id="case-7", now=NOW)


def test_token_from_settings_uses_the_app_secret_and_configured_lifetime(settings) -> None:
    import time

    from carebridge.realtime.tokens import room_token_for

    configured = settings.model_copy(update={"realtime_room_token_seconds": 30})
    token = room_token_for(configured, room_id="case-9", user_id=5, display_name="Dr Li")
    grant = check_room_token(settings.require_secret(), token, room_id="case-9")
    assert grant.user_id == 5 and grant.expires_at - 30 <= time.time() < grant.expires_at
    with pytest.raises(NotAuthenticated):
        check_room_token(settings.require_secret(), token, room_id="case-9", now=time.time() + 31)
