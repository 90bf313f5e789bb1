"""Topics (any number of subscribers, no presence): the same tests for the in-process hub and the
Redis pub/sub hub."""

from __future__ import annotations

import asyncio

import pytest

from carebridge.realtime.hub import Inbox, Member
from carebridge.realtime.redis_hub import RedisHub
from tests.realtime.conftest import REDIS_URL


async def _next(inbox: Inbox) -> dict:
    return await asyncio.wait_for(inbox.get(), timeout=2)


async def _nothing_for(inbox: Inbox) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(inbox.get(), timeout=0.2)


async def test_every_subscriber_of_the_topic_receives_and_no_one_else(hub) -> None:
    tab1, tab2 = await hub.subscribe("user:1"), await hub.subscribe("user:1")
    other = await hub.subscribe("user:2")
    await hub.publish_topic("user:1", {"type": "notification", "title": "hello"})
    assert await _next(tab1) == {"type": "notification", "title": "hello"}
    assert await _next(tab2) == {"type": "notification", "title": "hello"}
    await _nothing_for(other)


async def test_topics_and_rooms_of_the_same_name_are_apart(hub) -> None:
    room = await hub.join("user:1", Member(id="m1", user_id=1, display_name="A"))
    topic = await hub.subscribe("user:1")
    await hub.publish_topic("user:1", {"n": 1})
    await hub.publish("user:1", {"n": 2})
    assert await _next(topic) == {"n": 1}
    assert await _next(room) == {"n": 2}
    await _nothing_for(topic)
    await _nothing_for(room)


async def test_topic_messages_arrive_in_publish_order(hub) -> None:
    inbox = await hub.subscribe("user:1")
    for n in range(30):
        await hub.publish_topic("user:1", {"n": n})
    assert [(await _next(inbox))["n"] for _ in range(30)] == list(range(30))


async def test_an_unsubscribed_inbox_receives_nothing_more(hub) -> None:
    gone, stays = await hub.subscribe("user:1"), await hub.subscribe("user:1")
    await hub.unsubscribe("user:1", gone)
    await hub.publish_topic("user:1", {"n": 1})
    assert await _next(stays) == {"n": 1}
    await _nothing_for(gone)
    await hub.unsubscribe("user:1", stays)
    await hub.publish_topic("user:1", {"n": 2})
    await _nothing_for(stays)


async def test_publishing_to_a_topic_nobody_follows_is_harmless(hub) -> None:
    await hub.publish_topic("user:404", {"n": 1})
    inbox = await hub.subscribe("user:404")
    await _nothing_for(inbox)


async def test_two_redis_hubs_share_topics_like_two_server_processes() -> None:
    from tests.realtime.conftest import _redis_hub

    first = await _redis_hub()
    second = RedisHub(REDIS_URL, prefix=first._prefix)
    try:
        here, there = await first.subscribe("user:7"), await second.subscribe("user:7")
        await second.publish_topic("user:7", {"type": "notification", "id": 1})
        assert await _next(here) == {"type": "notification", "id": 1}
        assert await _next(there) == {"type": "notification", "id": 1}
    finally:
        await first.close()
        await second.close()
