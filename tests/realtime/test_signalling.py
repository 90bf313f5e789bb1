"""The signalling WebSocket through Starlette's TestClient (the real ASGI app, one event loop):
room tokens on connect, relaying offer/answer/ICE/chat with server-stamped senders, presence, and
protocol violations closing only the offending socket. Runs once on each hub implementation."""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from carebridge.realtime.tokens import issue_room_token

ROOM = "case-1"


class Server:
    def __init__(self, client: TestClient, sockets: ExitStack) -> None:
        self.client, self.sockets = client, sockets

    def websocket_connect(self, url: str):  # noqa: ANN201
        """A socket that is closed, and its server side finished, when the test ends."""
        return self.sockets.enter_context(self.client.websocket_connect(url))


@pytest.fixture(params=["in_process", "redis"])
def server(request, realtime_app):  # noqa: ANN001, ANN201
    with TestClient(realtime_app) as test_client:
        if request.param == "redis":
            from tests.realtime.conftest import _redis_hub

            realtime_app.state.realtime_hub = test_client.portal.call(_redis_hub)
        with ExitStack() as sockets:
            yield Server(test_client, sockets)
        hub = getattr(realtime_app.state, "realtime_hub", None)
        if hub is not None:
            test_client.portal.call(hub.close)


def _token(settings, user_id: int, room: str = ROOM, **kw) -> str:
    return issue_room_token(settings.require_secret(), room_id=room, user_id=user_id,
                            display_name=f"Doctor {user_id}", **kw)


def _join(server, settings, user_id: int):  # noqa: ANN001, ANN202
    socket = server.websocket_connect(f"/ws/rooms/{ROOM}?token={_token(settings, user_id)}")
    welcome = socket.receive_json()
    assert welcome["type"] == "welcome"
    return socket, welcome["you"]["id"]


def _next_of(socket, kind: str) -> dict:  # noqa: ANN001
    """The next message of this type; presence/join/leave announcements in between are skipped."""
    for _ in range(20):
        message = socket.receive_json()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


def _closed_with(socket) -> int:  # noqa: ANN001
    with pytest.raises(WebSocketDisconnect) as caught:
        for _ in range(20):
            socket.receive_json()
    return caught.value.code


def test_two_doctors_exchange_offer_answer_ice_and_chat(server, settings) -> None:
    a, a_id = _join(server, settings, 1)
    assert [m["user_id"] for m in _next_of(a, "presence")["members"]] == [1]
    b, b_id = _join(server, settings, 2)
    assert _next_of(a, "join")["member"] == {"id": b_id, "user_id": 2, "display_name": "Doctor 2"}
    assert {m["id"] for m in _next_of(a, "presence")["members"]} == {a_id, b_id}
    assert {m["id"] for m in _next_of(b, "presence")["members"]} == {a_id, b_id}

    a.send_json({"type": "offer", "to": b_id, "sdp": "v=0 offer"})
    assert _next_of(b, "offer") == {"type": "offer", "from": a_id, "to": b_id, "sdp": "v=0 offer"}
    b.send_json({"type": "answer", "to": a_id, "sdp": "v=0 answer"})
    assert _next_of(a, "answer")["sdp"] == "v=0 answer"
    candidate = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.10 50000 typ host", "sdpMid": "0"}
    a.send_json({"type": "ice", "to": b_id, "candidate": candidate})
    assert _next_of(b, "ice") == {"type": "ice", "from": a_id, "to": b_id, "candidate": candidate}

    a.send_json({"type": "chat", "text": "请看心电图"})
    chat = _next_of(b, "chat")
    assert (chat["from"], chat["name"], chat["text"]) == (a_id, "Doctor 1", "请看心电图")
    # The sender gets no echo: the next thing A sees is B's reply.
    b.send_json({"type": "chat", "text": "ok"})
    assert a.receive_json()["text"] == "ok"

    a.send_json({"type": "leave"})
    assert _closed_with(a) == 1000
    assert _next_of(b, "leave")["member"]["id"] == a_id
    assert [m["id"] for m in _next_of(b, "presence")["members"]] == [b_id]
    b.close()


def test_addressed_messages_reach_only_their_target(server, settings) -> None:
    a, a_id = _join(server, settings, 1)
    b, b_id = _join(server, settings, 2)
    c, c_id = _join(server, settings, 3)
    a.send_json({"type": "offer", "to": c_id, "sdp": "for c"})
    a.send_json({"type": "chat", "text": "marker"})
    assert _next_of(c, "offer")["sdp"] == "for c"
    # B's next relayed message is the chat: the offer to C never reached it.
    skipped = [m["type"] for m in [b.receive_json() for _ in range(3)]]
    assert "offer" not in skipped
    for socket in (a, b, c):
        socket.close()


@pytest.mark.parametrize(("send", "code"), [
    (lambda s: s.send_text("{not json"), 4400),
    (lambda s: s.send_json({"type": "dance"}), 4400),
    (lambda s: s.send_json({"type": "offer", "sdp": "no target"}), 4400),
    (lambda s: s.send_json({"type": "chat", "text": "hi", "from": "someone-else"}), 4400),
    (lambda s: s.send_text(json.dumps({"type": "chat", "text": "x" * 70_000})), 1009),
    (lambda s: s.send_bytes(b"\x00\x01"), 1003),
], ids=["not-json", "unknown-type", "missing-to", "spoofed-from", "oversized", "binary"])
def test_bad_message_closes_only_the_offending_socket(server, settings, send, code) -> None:
    a, a_id = _join(server, settings, 1)
    b, b_id = _join(server, settings, 2)
    bad, bad_id = _join(server, settings, 3)
    send(bad)
    assert _closed_with(bad) == code
    assert _next_of(a, "leave")["member"]["id"] == bad_id
    assert {m["id"] for m in _next_of(a, "presence")["members"]} == {a_id, b_id}
    a.send_json({"type": "offer", "to": b_id, "sdp": "still working"})
    assert _next_of(b, "offer")["sdp"] == "still working"
    a.close()
    b.close()


def test_room_holds_at_most_six(server, settings) -> None:
    sockets = [_join(server, settings, n)[0] for n in range(1, 7)]
    seventh = server.websocket_connect(f"/ws/rooms/{ROOM}?token={_token(settings, 7)}")
    assert _closed_with(seventh) == 4409
    for socket in sockets:
        socket.close()


@pytest.mark.parametrize(("query", "code"), [
    ("", 4401),
    ("?token=", 4401),
    ("?token=forged.token", 4401),
    ("?token={expired}", 4401),
    ("?token={other_room}", 4403),
], ids=["missing", "empty", "forged", "expired", "other-room"])
def test_client_without_a_valid_token_is_refused(server, settings, query, code) -> None:
    query = query.format(expired=_token(settings, 1, ttl_seconds=-1),
                         other_room=_token(settings, 1, room="case-2"))
    assert _closed_with(server.websocket_connect(f"/ws/rooms/{ROOM}{query}")) == code
