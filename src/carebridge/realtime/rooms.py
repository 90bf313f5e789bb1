"""Features that own a kind of room may watch who joins and leaves it, e.g. to record attendance.

The realtime package knows nothing about consultations, so a feature registers a watcher for the
room ids it issues tokens for (by prefix) when its routes are imported; the socket handler asks
for the watcher of the room it is serving. The watcher runs after the hub admitted the member (a
refused, full room is not an arrival) and again when the socket ends, however it ends."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from carebridge.realtime.hub import Member

log = logging.getLogger(__name__)


class RoomWatcher(Protocol):
    async def joined(self, room_id: str, member: Member) -> None: ...

    async def left(self, room_id: str, member: Member) -> None: ...


# prefix -> factory taking the app state (for its sessionmaker): the watcher needs the app it runs in.
_WATCHERS: dict[str, Callable[[Any], RoomWatcher]] = {}


def watch_rooms(prefix: str, factory: Callable[[Any], RoomWatcher]) -> None:
    _WATCHERS[prefix] = factory


def watcher_for(room_id: str, app_state: Any) -> RoomWatcher | None:
    for prefix, factory in _WATCHERS.items():
        if room_id.startswith(prefix):
            return factory(app_state)
    return None


async def tell(watcher: RoomWatcher | None, event: str, room_id: str, member: Member) -> None:
    """A watcher that fails (say, the database is briefly away) must not cut a call short."""
    if watcher is None:
        return
    try:
        await getattr(watcher, event)(room_id, member)
    except Exception:
        log.exception("room watcher failed on %s of %s", event, room_id)
