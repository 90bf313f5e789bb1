"""Helpers for the live-session tests: a case arranged through the services up to `scheduled`,
the app with the room routes, and a WebSocket client that talks to the ASGI app on the test's own
event loop (Starlette's TestClient runs the app on another loop, where the test's database
connection cannot follow)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from carebridge.consultations import service
from carebridge.consultations.models import ConsultationCase


async def case_in_state(db, world, net, state: str = "scheduled") -> ConsultationCase:  # noqa: ANN001
    """A live case moved through the real lifecycle: requested by the township doctor, accepted and
    scheduled by the county doctor."""
    steps = {"draft": [], "submitted": ["submit"], "triaged": ["submit", "triage"],
             "accepted": ["submit", "triage", "accept"], "scheduled": ["submit", "triage", "accept", "schedule"],
             "in_session": ["submit", "triage", "accept", "schedule", "start_session"]}[state]
    requester = await world.principal(net.requester)
    case = await service.request_consultation(db, requester, service.CaseRequest(
        patient_id=net.patient.id, question="Chest pain with ST changes: please see the patient with me.",
        urgency="urgent", mode="live", specialty=net.specialty, shared_entry_ids=(net.entries[0].id,)))
    actors = {"submit": net.requester, "triage": net.county_admin, "accept": net.county_doctor,
              "schedule": net.county_doctor, "start_session": net.county_doctor}
    for action in steps:
        await service.take_action(db, await world.principal(actors[action]), case.id, action)
    return case


def include_room(application) -> None:  # noqa: ANN001
    from carebridge.consultations import room_api, room_pages
    from tests.consultations.conftest import include_consultations
    from tests.realtime.conftest import include_realtime

    include_consultations(application)
    include_realtime(application)
    paths = {getattr(route, "path", None) for route in application.router.routes}
    if "/api/v1/consultations/{case_id}/room/token" not in paths:
        application.include_router(room_api.router)
    if "/consultations/{case_id}/room" not in paths:
        application.include_router(room_pages.router)


class Closed(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class AsgiSocket:
    """A WebSocket client driving the ASGI app directly: enough of the ASGI websocket protocol for
    JSON text frames, close codes and a clean disconnect."""

    def __init__(self, app, path: str) -> None:  # noqa: ANN001
        self.app, self.path = app, path
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> AsgiSocket:
        path, _, query = self.path.partition("?")
        scope = {"type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "http_version": "1.1",
                 "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
                 "headers": [(b"host", b"testserver")], "client": ("203.0.113.7", 50001),
                 "server": ("testserver", 80), "subprotocols": []}
        self.task = asyncio.create_task(self.app(scope, self.to_app.get, self.from_app.put))
        await self.to_app.put({"type": "websocket.connect"})
        accepted = await self._next()
        assert accepted["type"] == "websocket.accept", accepted
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, 5)

    async def _next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.from_app.get(), 5)

    async def receive_json(self) -> dict[str, Any]:
        message = await self._next()
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000))
        return json.loads(message["text"])

    async def next_of(self, kind: str) -> dict[str, Any]:
        for _ in range(30):
            message = await self.receive_json()
            if message["type"] == kind:
                return message
        raise AssertionError(f"no {kind} message")

    async def send_json(self, data: dict[str, Any]) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(data)})
