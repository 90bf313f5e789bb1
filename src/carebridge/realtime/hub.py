"""The realtime hub: rooms of members, publish to a room, presence. Two implementations behind one
interface: InProcessHub (one server process) and RedisHub (several processes share rooms through
Redis pub/sub, presence in a Redis hash).

Delivery rules are applied on the receiving side, identically for both: a message published with
`exclude=<member id>` skips that member, and a message carrying `"to": <member id>` reaches only
that member."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from carebridge.errors import Conflict
from carebridge.kit.i18n import N_

DEFAULT_CAPACITY = 6


@dataclass(frozen=True)
class Member:
    id: str  # one per connection, so a user on two devices is two peers
    user_id: int
    display_name: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RoomFull(Conflict):
    code = "room_full"


class Subscription:
    """One member's inbox. Iterate it, or await get()."""

    def __init__(self, member: Member) -> None:
        self.member = member
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def deliver(self, message: dict[str, Any], exclude: str | None) -> None:
        if exclude == self.member.id:
            return
        target = message.get("to")
        if target is not None and target != self.member.id:
            return
        self._queue.put_nowait(message)

    async def get(self) -> dict[str, Any]:
        return await self._queue.get()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self.get()


class Hub(Protocol):
    async def join(self, room_id: str, member: Member, *, capacity: int = DEFAULT_CAPACITY) -> Subscription:
        """Raises RoomFull when the room already holds `capacity` other members."""

    async def leave(self, room_id: str, member_id: str) -> None: ...

    async def publish(self, room_id: str, message: dict[str, Any], *, exclude: str | None = None) -> None: ...

    async def presence(self, room_id: str) -> list[Member]: ...

    async def close(self) -> None: ...


def room_full() -> RoomFull:
    return RoomFull(N_("the room is full"))


class InProcessHub:
    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Subscription]] = {}

    async def join(self, room_id: str, member: Member, *, capacity: int = DEFAULT_CAPACITY) -> Subscription:
        room = self._rooms.setdefault(room_id, {})
        if member.id not in room and len(room) >= capacity:
            raise room_full()
        room[member.id] = subscription = Subscription(member)
        return subscription

    async def leave(self, room_id: str, member_id: str) -> None:
        room = self._rooms.get(room_id, {})
        room.pop(member_id, None)
        if not room:
            self._rooms.pop(room_id, None)

    async def publish(self, room_id: str, message: dict[str, Any], *, exclude: str | None = None) -> None:
        for subscription in list(self._rooms.get(room_id, {}).values()):
            subscription.deliver(message, exclude)

    async def presence(self, room_id: str) -> list[Member]:
        return sorted((s.member for s in self._rooms.get(room_id, {}).values()), key=lambda m: m.id)

    async def close(self) -> None:
        self._rooms.clear()
