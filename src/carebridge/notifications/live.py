"""WS /ws/notifications: a signed-in user's open page receives their notifications as they are
committed. Browsers send the session cookie on cross-site WebSocket handshakes too (no CORS, and
SameSite=Lax does not cover them), so a socket whose Origin is not this site is refused: otherwise
any page the user visits could read their notifications. Programs without a browser may use a
Bearer API token instead (no ambient credential, so no Origin rule needed)."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from carebridge.auth import service as auth
from carebridge.notifications.push import unread_counts, user_topic
from carebridge.realtime.api import hub_for
from carebridge.realtime.hub import Inbox
from carebridge.web.deps import SESSION_COOKIE

CLOSE_UNAUTHENTICATED = 4401  # no session, an ended or expired one, or second factor still missing
CLOSE_FORBIDDEN_ORIGIN = 4403
# An open socket re-checks its session this often, so signing out elsewhere also ends the stream.
SESSION_RECHECK_SECONDS = 60.0

ws_router = APIRouter()


def same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:  # not a browser: it cannot be riding someone's cookie
        return True
    host = websocket.headers.get("host", "")
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


async def _authenticated_user(websocket: WebSocket) -> int | None:
    """The user id behind the cookie (or Bearer token), or None. Same rules as pages: the session
    must be live and past the second factor."""
    async with websocket.app.state.sessionmaker() as db:
        authorization = websocket.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            user = await auth.resolve_api_token(db, authorization[7:].strip())
            return user.id if user is not None else None
        token = websocket.cookies.get(SESSION_COOKIE)
        found = await auth.resolve_session(db, token) if token else None
        if found is None or not found[0].mfa_verified:
            return None
        return found[1].id


async def _unread(websocket: WebSocket, user_id: int) -> int:
    async with websocket.app.state.sessionmaker() as db:
        return (await unread_counts(db, [user_id]))[user_id]


@ws_router.websocket("/ws/notifications")
async def notification_socket(websocket: WebSocket) -> None:
    # Accept first: a close code (4401/4403) reaches the browser only on an open socket.
    await websocket.accept()
    if not same_origin(websocket):
        await websocket.close(CLOSE_FORBIDDEN_ORIGIN, "origin_not_allowed")
        return
    user_id = await _authenticated_user(websocket)
    if user_id is None:
        await websocket.close(CLOSE_UNAUTHENTICATED, "sign_in_required")
        return
    hub, topic = hub_for(websocket.app), user_topic(user_id)
    # Subscribe before counting: a notification committed in between is then in the count and
    # also pushed (carrying its own count), never missed.
    inbox = await hub.subscribe(topic)
    try:
        await websocket.send_json({"type": "hello", "unread": await _unread(websocket, user_id)})
        tasks = [asyncio.create_task(coro) for coro in
                 (_forward(inbox, websocket), _until_closed(websocket), _while_signed_in(websocket))]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    finally:
        await hub.unsubscribe(topic, inbox)


async def _forward(inbox: Inbox, websocket: WebSocket) -> None:
    async for message in inbox:
        await websocket.send_json(message)


async def _until_closed(websocket: WebSocket) -> None:
    """The client says nothing; reading only notices it leaving."""
    with contextlib.suppress(WebSocketDisconnect):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass


async def _while_signed_in(websocket: WebSocket) -> None:
    while True:
        await asyncio.sleep(SESSION_RECHECK_SECONDS)
        if await _authenticated_user(websocket) is None:
            await websocket.close(CLOSE_UNAUTHENTICATED, "session_ended")
            return
