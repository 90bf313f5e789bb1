"""A WebSocket client that speaks ASGI to the app directly, on the test's own event loop, so the
app's sessions can share the test's rolled-back database connection (Starlette's TestClient runs
the app on another loop, where that connection cannot go)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

WAIT_SECONDS = 3.0


class Closed(Exception):
    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"closed with {code} {reason}")
        self.code, self.reason = code, reason


class AsgiSocket:
    def __init__(self, app: Any, path: str, headers: dict[str, str] | None = None) -> None:
        self._to_app: asyncio.Queue = asyncio.Queue()
        self._from_app: asyncio.Queue = asyncio.Queue()
        headers = {"host": "testserver", **(headers or {})}
        scope = {"type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "http_version": "1.1",
                 "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
                 "client": ("203.0.113.7", 50000), "server": ("testserver", 80), "subprotocols": [], "state": {}}
        self._task = asyncio.create_task(app(scope, self._to_app.get, self._from_app.put))

    async def open(self) -> AsgiSocket:
        await self._to_app.put({"type": "websocket.connect"})
        first = await self._next_event()
        if first["type"] != "websocket.accept":
            raise AssertionError(f"socket not accepted: {first}")
        return self

    async def _next_event(self, seconds: float = WAIT_SECONDS) -> dict:
        return await asyncio.wait_for(self._from_app.get(), seconds)

    async def receive_json(self) -> dict:
        event = await self._next_event()
        if event["type"] == "websocket.close":
            raise Closed(event.get("code", 1000), event.get("reason", ""))
        return json.loads(event["text"])

    async def nothing_for(self, seconds: float = 0.3) -> None:
        with contextlib.suppress(TimeoutError):
            event = await self._next_event(seconds)
            raise AssertionError(f"expected nothing, got {event}")

    async def close_code(self) -> int:
        """The code the server closed with (after any messages it sent first)."""
        while True:
            try:
                await self.receive_json()
            except Closed as closed:
                return closed.code

    async def close(self) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        try:
            await asyncio.wait_for(self._task, timeout=5)
        except TimeoutError:
            self._task.cancel()
