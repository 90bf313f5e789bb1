"""Hub semantics, the same tests for the in-process hub and the Redis pub/sub hub."""

from __future__ import annotations

import asyncio

import pytest

from carebridge.realtime.hub import Member, RoomFull, Subscription
from carebridge.realtime.redis_hub import RedisHub
from tests.realtime.conftest import REDIS_URL

ALICE = Member(id="a1", user_id=1, display_name="Alice")
BOB = Member(id="b1", user_id=2, display_name="Bob")
CAROL = Member(id="c1", user_id=3, display_name="Carol")


async def _next(sub: Subscription) -> dict:
    return await asyncio.wait_for(sub.get(), timeout=2)


async def _nothing_for(sub: Subscription) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sub.get(), timeout=0.2)


async def test_publish_reaches_every_member_of_the_room_only(hub) -> None:
    alice, bob = await hub.join("r1", ALICE), await hub.join("r1", BOB)
    elsewhere = await hub.join("r2", CAROL)
    await hub.publish("r1", {"type": "chat", "text": "hello"})
    assert await _next(alice) == {"type": "chat", "text": "hello"}
    assert await _next(bob) == {"type": "chat", "text": "hello"}
    await _nothing_for(elsewhere)


async def test_fan_out_can_skip_the_sender(hub) -> None:
    alice, bob, carol = await hub.join("r1", ALICE), await hub.join("r1", BOB), await hub.join("r1", CAROL)
    await hub.publish("r1", {"type": "chat", "from": "a1"}, exclude="a1")
    assert (await _next(bob))["from"] == "a1"
    assert (await _next(carol))["from"] == "a1"
    await _nothing_for(alice)


async def test_addressed_message_reaches_only_its_target(hub) -> None:
    alice, bob, carol = await hub.join("r1", ALICE), await hub.join("r1", BOB), await hub.join("r1", CAROL)
    await hub.publish("r1", {"type": "offer", "from": "a1", "to": "b1", "sdp": "v=0"}, exclude="a1")
    assert (await _next(bob))["sdp"] == "v=0"
    await _nothing_for(carol)
    await _nothing_for(alice)


async def test_messages_arrive_in_publish_order(hub) -> None:
    bob = await hub.join("r1", BOB)
    for n in range(20):
        await hub.publish("r1", {"n": n})
    assert [(await _next(bob))["n"] for _ in range(20)] == list(range(20))


async def test_presence_lists_who_is_in_the_room(hub) -> None:
    assert await hub.presence("r1") == []
    await hub.join("r1", ALICE)
    await hub.join("r1", BOB)
    assert await hub.presence("r1") == [ALICE, BOB]
    await hub.leave("r1", "a1")
    assert await hub.presence("r1") == [BOB]
    await hub.leave("r1", "b1")
    assert await hub.presence("r1") == []


async def test_a_member_who_left_receives_nothing_more(hub) -> None:
    alice, bob = await hub.join("r1", ALICE), await hub.join("r1", BOB)
    await hub.leave("r1", "a1")
    await hub.publish("r1", {"type": "chat"})
    assert await _next(bob) == {"type": "chat"}
    await _nothing_for(alice)


async def test_room_capacity_is_enforced_and_frees_up_on_leave(hub) -> None:
    for n in range(6):
        await hub.join("r1", Member(id=f"m{n}", user_id=n, display_name=f"M{n}"))
    with pytest.raises(RoomFull):
        await hub.join("r1", Member(id="m6", user_id=6, display_name="M6"))
    await hub.leave("r1", "m0")
    await hub.join("r1", Member(id="m6", user_id=6, display_name="M6"))
    assert len(await hub.presence("r1")) == 6


async def test_concurrent_joins_never_exceed_capacity(hub) -> None:
    members = [Member(id=f"m{n}", user_id=n, display_name=f"M{n}") for n in range(10)]
    results = await asyncio.gather(*(hub.join("r1", m, capacity=3) for m in members), return_exceptions=True)
    assert sum(isinstance(r, Subscription) for r in results) == 3
    assert sum(isinstance(r, RoomFull) for r in results) == 7
    assert len(await hub.presence("r1")) == 3


async def test_two_redis_hubs_share_rooms_like_two_server_processes() -> None:
    from tests.realtime.conftest import _redis_hub

    first = await _redis_hub()
    second = RedisHub(REDIS_URL, prefix=first._prefix)
    try:
        alice, bob = await first.join("r1", ALICE), await second.join("r1", BOB)
        assert await first.presence("r1") == [ALICE, BOB]
        await second.publish("r1", {"type": "chat", "from": "b1"}, exclude="b1")
        assert (await _next(alice))["from"] == "b1"
        await _nothing_for(bob)
    finally:
        await first.close()
        await second.close()
