"""The realtime hub: rooms of members, publish to a room, presence. Two implementations behind one
interface: InProcessHub (one server process) and RedisHub (several processes share rooms through
Redis pub/sub, presence in a Redis hash).

Delivery rules are applied on the receiving side, identically for both: a message published with
`exclude=<member id>` skips that member, and a message carrying `"to": <member id>` reaches only
that member.

Topics are the other shape: any number of anonymous subscribers, no presence, no capacity (a
user's live notifications on each of their open tabs). Their names never collide with rooms."""

from __future__ import annotations

import asyncio
import secrets
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


class Inbox:
    """Messages for one receiver, in publish order. Iterate it, or await get()."""

    def __init__(self) -> None:
        self.id = secrets.token_urlsafe(8)
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def deliver(self, message: dict[str, Any], exclude: str | None = None) -> None:
        self._queue.put_nowait(message)

    async def get(self) -> dict[str, Any]:
        return await self._queue.get()

    def __aiter__(self) -> Inbox:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self.get()


class Subscription(Inbox):
    """One room member's inbox."""

    def __init__(self, member: Member) -> None:
        super().__init__()
        self.member = member

    def deliver(self, message: dict[str, Any], exclude: str | None = None) -> None:
        if exclude == self.member.id:
            return
        target = message.get("to")
        if target is not None and target != self.member.id:
            return
        super().deliver(message)


class Hub(Protocol):
    async def join(self, room_id: str, member: Member, *, capacity: int = DEFAULT_CAPACITY) -> Subscription:
        """Raises RoomFull when the room already holds `capacity` other members."""

    async def leave(self, room_id: str, member_id: str) -> None: ...

    async def publish(self, room_id: str, message: dict[str, Any], *, exclude: str | None = None) -> None: ...

    async def presence(self, room_id: str) -> list[Member]: ...

    async def subscribe(self, topic: str) -> Inbox:
        """Receives what is published to the topic from now on (on return the subscription is live)."""

    async def unsubscribe(self, topic: str, inbox: Inbox) -> None: ...

    async def publish_topic(self, topic: str, message: dict[str, Any]) -> None: ...

    async def close(self) -> None: ...


def room_full() -> RoomFull:
    return RoomFull(N_("the room is full"))


class InProcessHub:
    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Subscription]] = {}
        self._topics: dict[str, dict[str, Inbox]] = {}

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

    async def subscribe(self, topic: str) -> Inbox:
        inbox = Inbox()
        self._topics.setdefault(topic, {})[inbox.id] = inbox
        return inbox

    async def unsubscribe(self, topic: str, inbox: Inbox) -> None:
        subscribers = self._topics.get(topic, {})
        subscribers.pop(inbox.id, None)
        if not subscribers:
            self._topics.pop(topic, None)

    async def publish_topic(self, topic: str, message: dict[str, Any]) -> None:
        for inbox in list(self._topics.get(topic, {}).values()):
            inbox.deliver(message)

    async def close(self) -> None:
        self._rooms.clear()
        self._topics.clear()
