"""RedisHub: rooms shared by several server processes. Presence is a Redis hash per room (joined
under a capacity check done atomically in Lua); messages go over one pub/sub channel per room, and
each process holds one subscriber connection per room that has local members.

Topics share one pattern subscription per process (`<prefix>topic:*`), opened on first use and
filtered locally: every process sees every topic message, which suits low-volume per-user events
(notifications) and costs one Redis connection per process instead of one per online user."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import redis.asyncio as redis

from carebridge.realtime.hub import DEFAULT_CAPACITY, Inbox, Member, Subscription, room_full

# Presence keys outlive a crashed process by at most this long (refreshed on every join).
PRESENCE_TTL_SECONDS = 12 * 3600
_JOIN = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 1
end
return 0
"""


class _LocalRoom:
    def __init__(self, pubsub: redis.client.PubSub) -> None:
        self.pubsub = pubsub
        self.members: dict[str, Inbox] = {}
        self.reader: asyncio.Task | None = None


class RedisHub:
    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "carebridge:rt:") -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._rooms: dict[str, _LocalRoom] = {}
        self._lock = asyncio.Lock()
        self._topics: dict[str, dict[str, Inbox]] = {}
        self._topic_listener: _LocalRoom | None = None
        self._join = self._redis.register_script(_JOIN)

    def _members_key(self, room_id: str) -> str:
        return f"{self._prefix}room:{room_id}:members"

    def _channel(self, room_id: str) -> str:
        return f"{self._prefix}room:{room_id}:messages"

    async def join(self, room_id: str, member: Member, *, capacity: int = DEFAULT_CAPACITY) -> Subscription:
        admitted = await self._join(keys=[self._members_key(room_id)],
                                    args=[member.id, json.dumps(member.as_dict()), capacity, PRESENCE_TTL_SECONDS])
        if not admitted:
            raise room_full()
        async with self._lock:
            room = self._rooms.get(room_id) or await self._open_room(room_id)
            room.members[member.id] = subscription = Subscription(member)
        return subscription

    async def _open_room(self, room_id: str) -> _LocalRoom:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel(room_id))
        await _confirmed(pubsub, "subscribe")
        room = self._rooms[room_id] = _LocalRoom(pubsub)
        room.reader = asyncio.create_task(self._read(room), name=f"realtime-room-{room_id}")
        return room

    async def _read(self, room: _LocalRoom) -> None:
        async for raw in room.pubsub.listen():
            if raw.get("type") != "message":
                continue
            envelope = json.loads(raw["data"])
            for subscription in list(room.members.values()):
                subscription.deliver(envelope["message"], envelope.get("exclude"))

    async def leave(self, room_id: str, member_id: str) -> None:
        await self._redis.hdel(self._members_key(room_id), member_id)
        async with self._lock:
            room = self._rooms.get(room_id)
            if room is None:
                return
            room.members.pop(member_id, None)
            if not room.members:
                del self._rooms[room_id]
                await self._close_room(room)

    async def _close_room(self, room: _LocalRoom) -> None:
        if room.reader is not None:
            room.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await room.reader
        await room.pubsub.aclose()

    async def publish(self, room_id: str, message: dict[str, Any], *, exclude: str | None = None) -> None:
        await self._redis.publish(self._channel(room_id), json.dumps({"message": message, "exclude": exclude}))

    async def presence(self, room_id: str) -> list[Member]:
        found = await self._redis.hvals(self._members_key(room_id))
        return sorted((Member(**json.loads(raw)) for raw in found), key=lambda m: m.id)

    def _topic_channel(self, topic: str) -> str:
        return f"{self._prefix}topic:{topic}"

    async def subscribe(self, topic: str) -> Inbox:
        async with self._lock:
            if self._topic_listener is None:
                self._topic_listener = await self._listen_to_topics()
            inbox = Inbox()
            self._topics.setdefault(topic, {})[inbox.id] = inbox
        return inbox

    async def _listen_to_topics(self) -> _LocalRoom:
        pubsub = self._redis.pubsub()
        await pubsub.psubscribe(self._topic_channel("*"))
        await _confirmed(pubsub, "psubscribe")
        listener = _LocalRoom(pubsub)
        listener.reader = asyncio.create_task(self._read_topics(pubsub), name="realtime-topics")
        return listener

    async def _read_topics(self, pubsub: redis.client.PubSub) -> None:
        start = len(self._topic_channel(""))
        async for raw in pubsub.listen():
            if raw.get("type") != "pmessage":
                continue
            topic = raw["channel"].decode()[start:]
            message = json.loads(raw["data"])["message"]
            for inbox in list(self._topics.get(topic, {}).values()):
                inbox.deliver(message)

    async def unsubscribe(self, topic: str, inbox: Inbox) -> None:
        subscribers = self._topics.get(topic, {})
        subscribers.pop(inbox.id, None)
        if not subscribers:
            self._topics.pop(topic, None)

    async def publish_topic(self, topic: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self._topic_channel(topic), json.dumps({"message": message}))

    async def close(self) -> None:
        async with self._lock:
            rooms, self._rooms = list(self._rooms.values()), {}
            if self._topic_listener is not None:
                rooms.append(self._topic_listener)
            self._topic_listener, self._topics = None, {}
        for room in rooms:
            await self._close_room(room)
        await self._redis.aclose()


async def _confirmed(pubsub: redis.client.PubSub, kind: str) -> None:
    # Only once Redis confirms is a message published by anyone guaranteed to reach us.
    for _ in range(50):
        if (await pubsub.get_message(timeout=0.1) or {}).get("type") == kind:
            return
    await pubsub.aclose()
    raise ConnectionError(f"Redis did not confirm the {kind}")
