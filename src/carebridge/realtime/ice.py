"""ICE configuration for browsers: STUN/TURN URLs from settings, and per-user TURN credentials in
the time-limited shared-secret scheme coturn checks with `use-auth-secret` / `static-auth-secret`:
username = "<expiry unix time>:<user id>", credential = base64(HMAC-SHA1(secret, username))."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field

from carebridge.config import Settings


@dataclass(frozen=True)
class IceServer:
    urls: list[str]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class IceConfig:
    ice_servers: list[IceServer] = field(default_factory=list)
    expires_at: int | None = None


def turn_credentials(secret: str, user_id: int, *, ttl_seconds: int, now: float | None = None) -> tuple[str, str]:
    username = f"{int((time.time() if now is None else now) + ttl_seconds)}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def _urls(value: str) -> list[str]:
    return [url.strip() for url in value.split(",") if url.strip()]


def ice_config(settings: Settings, user_id: int, *, now: float | None = None) -> IceConfig:
    servers: list[IceServer] = []
    if stun := _urls(settings.realtime_stun_urls):
        servers.append(IceServer(urls=stun))
    turn = _urls(settings.realtime_turn_urls)
    if not turn or settings.realtime_turn_secret is None:
        return IceConfig(ice_servers=servers)
    ttl = settings.realtime_turn_ttl_seconds
    username, credential = turn_credentials(settings.realtime_turn_secret.get_secret_value(), user_id,
                                            ttl_seconds=ttl, now=now)
    servers.append(IceServer(urls=turn, username=username, credential=credential))
    return IceConfig(ice_servers=servers, expires_at=int(username.split(":", 1)[0]))
