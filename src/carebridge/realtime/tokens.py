"""Short-lived room tokens. Whoever issues one has already decided the user may join the room
(for a consultation: the case participants); the socket only checks the signature, the room and
the expiry, so no database work is needed on connect."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from carebridge.config import Settings
from carebridge.errors import Forbidden, NotAuthenticated
from carebridge.kit.i18n import N_

DEFAULT_TTL_SECONDS = 120
# A separate key per purpose, so a room token can never pass for any other signed value.
_PURPOSE = b"carebridge.realtime.room-token.v1"


@dataclass(frozen=True)
class RoomGrant:
    room_id: str
    user_id: int
    display_name: str
    expires_at: int


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_room_token(secret: str, *, room_id: str, user_id: int, display_name: str,
                     ttl_seconds: int = DEFAULT_TTL_SECONDS, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + ttl_seconds)
    payload = json.dumps({"r": room_id, "u": user_id, "n": display_name, "e": expires},
                         separators=(",", ":"), ensure_ascii=False).encode()
    body = _b64(payload)
    return f"{body}.{_b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest())}"


def check_room_token(secret: str, token: str | None, *, room_id: str, now: float | None = None) -> RoomGrant:
    """The grant in a valid token for this room. Forged, malformed or expired → NotAuthenticated;
    a valid token for another room → Forbidden."""
    grant = _verified(secret, token or "")
    if grant.expires_at <= (time.time() if now is None else now):
        raise NotAuthenticated(N_("the room token has expired"), code="room_token_expired")
    if not hmac.compare_digest(grant.room_id.encode(), room_id.encode()):
        raise Forbidden(N_("the room token is for another room"), code="room_token_wrong_room")
    return grant


def _verified(secret: str, token: str) -> RoomGrant:
    body, _, signature = token.partition(".")
    expected = _b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest())
    if not body or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise NotAuthenticated(N_("the room token is invalid"), code="room_token_invalid")
    try:
        data = json.loads(_unb64(body))
        return RoomGrant(room_id=str(data["r"]), user_id=int(data["u"]), display_name=str(data["n"]),
                         expires_at=int(data["e"]))
    except (ValueError, KeyError, TypeError) as exc:
        # Only reachable with a correctly signed but malformed body, i.e. a bug on our side.
        raise NotAuthenticated(N_("the room token is invalid"), code="room_token_invalid") from exc


def room_token_for(settings: Settings, *, room_id: str, user_id: int, display_name: str) -> str:
    """A token with the configured lifetime; call it only once the caller may join the room."""
    return issue_room_token(settings.require_secret(), room_id=room_id, user_id=user_id,
                            display_name=display_name, ttl_seconds=settings.realtime_room_token_seconds)
