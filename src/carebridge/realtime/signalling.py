"""One participant's WebSocket in a room: join (capacity-checked), announce, then relay the
signalling messages it sends to the others, and forward what the room sends to it. A socket that
breaks the protocol is closed on its own; the room goes on."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Annotated, Any, Literal

from fastapi import WebSocket
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from carebridge.kit.clock import utcnow
from carebridge.realtime.hub import Hub, Member, RoomFull, Subscription
from carebridge.realtime.rooms import RoomWatcher, tell
from carebridge.realtime.tokens import RoomGrant

CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003  # binary frame
CLOSE_TOO_BIG = 1009
CLOSE_MALFORMED = 4400  # not JSON, unknown type, missing or unexpected fields
CLOSE_UNAUTHENTICATED = 4401  # token missing, forged or expired
CLOSE_FORBIDDEN = 4403  # token for another room
CLOSE_ROOM_FULL = 4409


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Offer(_Message):
    type: Literal["offer"]
    to: str
    sdp: str


class Answer(_Message):
    type: Literal["answer"]
    to: str
    sdp: str


class Ice(_Message):
    type: Literal["ice"]
    to: str
    candidate: dict[str, Any] | None  # None: end of candidates


class Chat(_Message):
    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=4000)


class Leave(_Message):
    type: Literal["leave"]


CLIENT_MESSAGE = TypeAdapter(Annotated[Offer | Answer | Ice | Chat | Leave, Field(discriminator="type")])


def outgoing(message: _Message, sender: Member) -> dict[str, Any]:
    """What the others receive: the sender is stamped by the server, never taken from the client."""
    body = message.model_dump()
    body["from"] = sender.id
    if isinstance(message, Chat):
        body |= {"name": sender.display_name, "at": utcnow().isoformat()}
    return body


async def run_participant(ws: WebSocket, hub: Hub, grant: RoomGrant, *, capacity: int, max_bytes: int,
                          watcher: RoomWatcher | None = None) -> None:
    room = grant.room_id
    member = Member(id=secrets.token_urlsafe(8), user_id=grant.user_id, display_name=grant.display_name)
    try:
        inbox = await hub.join(room, member, capacity=capacity)
    except RoomFull:
        await ws.close(CLOSE_ROOM_FULL, "room_full")
        return
    try:
        await tell(watcher, "joined", room, member)
        members = [m.as_dict() for m in await hub.presence(room)]
        await ws.send_json({"type": "welcome", "room": room, "you": member.as_dict(), "members": members})
        await hub.publish(room, {"type": "join", "member": member.as_dict()}, exclude=member.id)
        await _announce_presence(hub, room)
        close = await _serve(ws, hub, inbox, member, room, max_bytes)
        if close is not None:
            with contextlib.suppress(Exception):  # the peer may already be gone
                await ws.close(*close)
    finally:
        await tell(watcher, "left", room, member)
        await hub.leave(room, member.id)
        await hub.publish(room, {"type": "leave", "member": member.as_dict()})
        await _announce_presence(hub, room)


async def _announce_presence(hub: Hub, room: str) -> None:
    await hub.publish(room, {"type": "presence", "members": [m.as_dict() for m in await hub.presence(room)]})


async def _serve(ws: WebSocket, hub: Hub, inbox: Subscription, member: Member, room: str,
                 max_bytes: int) -> tuple[int, str] | None:
    writer = asyncio.create_task(_forward(inbox, ws))
    try:
        return await _relay(ws, hub, member, room, max_bytes)
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


async def _forward(inbox: Subscription, ws: WebSocket) -> None:
    async for message in inbox:
        await ws.send_json(message)


async def _relay(ws: WebSocket, hub: Hub, member: Member, room: str, max_bytes: int) -> tuple[int, str] | None:
    """Returns the close (code, reason) for this socket, or None when the client went away."""
    while True:
        event = await ws.receive()
        if event["type"] == "websocket.disconnect":
            return None
        text = event.get("text")
        if text is None:
            return CLOSE_UNSUPPORTED, "text frames with JSON only"
        if len(text) > max_bytes or len(text.encode()) > max_bytes:
            return CLOSE_TOO_BIG, "message too big"
        try:
            message = CLIENT_MESSAGE.validate_json(text)
        except ValidationError:
            return CLOSE_MALFORMED, "malformed message"
        if isinstance(message, Leave):
            return CLOSE_NORMAL, "left"
        await hub.publish(room, outgoing(message, member), exclude=member.id)
