"""Two aiortc peers find each other through the real signalling server (granian on loopback),
connect, send each other video frames and exchange data-channel messages; a peer without a valid
room token is refused."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

aiortc = pytest.importorskip("aiortc")
websockets = pytest.importorskip("websockets")

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack  # noqa: E402

from carebridge.config import get_settings  # noqa: E402
from carebridge.realtime.tokens import issue_room_token  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_url(tmp_path_factory):  # noqa: ANN001, ANN201
    port = _free_port()
    log_path = tmp_path_factory.mktemp("rtc") / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "tests.realtime.live_app:app"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        if process.poll() is not None:
            pytest.fail(f"server exited: {log_path.read_text()}")
        time.sleep(0.1)
    else:
        process.terminate()
        pytest.fail(f"server did not start: {log_path.read_text()}")
    yield f"ws://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def loopback_ice(monkeypatch):  # noqa: ANN001, ANN201
    """aioice leaves out 127.0.0.1 when gathering host candidates; these peers have only loopback."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def _token(user_id: int, room: str) -> str:
    return issue_room_token(get_settings().require_secret(), room_id=room, user_id=user_id,
                            display_name=f"Doctor {user_id}")


async def _receive(ws, kind: str) -> dict:  # noqa: ANN001
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if message["type"] == kind:
            return message


def _first_frame_into(pc: RTCPeerConnection, frame: asyncio.Future) -> None:
    """Resolves `frame` with the size of the first video frame that arrives from the other peer."""

    async def read(track) -> None:  # noqa: ANN001
        decoded = await track.recv()
        if not frame.done():
            frame.set_result((decoded.width, decoded.height))

    pc.on("track", lambda track: track.kind == "video" and asyncio.ensure_future(read(track)))


async def _caller(ws, received: asyncio.Future, frame: asyncio.Future) -> RTCPeerConnection:  # noqa: ANN001
    """Waits for the other peer, offers camera video, and sends a greeting once the data channel opens."""
    peer_id = (await _receive(ws, "join"))["member"]["id"]
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(VideoStreamTrack())
    _first_frame_into(pc, frame)
    channel = pc.createDataChannel("chat")
    channel.on("open", lambda: channel.send("hello from the county hospital"))
    channel.on("message", lambda text: received.done() or received.set_result(text))
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers candidates here
    await ws.send(json.dumps({"type": "offer", "to": peer_id, "sdp": pc.localDescription.sdp}))
    answer = await _receive(ws, "answer")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    return pc


async def _callee(ws, received: asyncio.Future, frame: asyncio.Future) -> RTCPeerConnection:  # noqa: ANN001
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    _first_frame_into(pc, frame)

    @pc.on("datachannel")
    def on_channel(channel) -> None:  # noqa: ANN001
        @channel.on("message")
        def on_message(text: str) -> None:
            if not received.done():
                received.set_result(text)
            channel.send("reply from the city hospital")

    offer = await _receive(ws, "offer")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
    pc.addTrack(VideoStreamTrack())  # joins the offered video transceiver: video flows both ways
    await pc.setLocalDescription(await pc.createAnswer())
    await ws.send(json.dumps({"type": "answer", "to": offer["from"], "sdp": pc.localDescription.sdp}))
    return pc


async def test_two_aiortc_peers_connect_through_signalling(live_url, loopback_ice) -> None:
    room = "case-rtc"
    loop = asyncio.get_running_loop()
    at_callee, at_caller = loop.create_future(), loop.create_future()
    frame_at_callee, frame_at_caller = loop.create_future(), loop.create_future()
    async with websockets.connect(f"{live_url}/ws/rooms/{room}?token={_token(1, room)}") as ws_a:
        await _receive(ws_a, "welcome")
        async with websockets.connect(f"{live_url}/ws/rooms/{room}?token={_token(2, room)}") as ws_b:
            await _receive(ws_b, "welcome")
            pc_a, pc_b = await asyncio.wait_for(
                asyncio.gather(_caller(ws_a, at_caller, frame_at_caller), _callee(ws_b, at_callee, frame_at_callee)),
                timeout=15)
            try:
                assert await asyncio.wait_for(at_callee, timeout=10) == "hello from the county hospital"
                assert await asyncio.wait_for(at_caller, timeout=10) == "reply from the city hospital"
                assert pc_a.iceConnectionState == "completed" or pc_a.iceConnectionState == "connected"
                for frame in (frame_at_callee, frame_at_caller):
                    width, height = await asyncio.wait_for(frame, timeout=10)
                    assert width > 0 and height > 0
            finally:
                await pc_a.close()
                await pc_b.close()


async def test_peer_without_valid_token_is_refused_by_the_real_server(live_url) -> None:
    forged = _token(1, "case-rtc")[:-4] + "AAAA"
    async with websockets.connect(f"{live_url}/ws/rooms/case-rtc?token={forged}") as ws:
        with pytest.raises(websockets.ConnectionClosed) as caught:
            await asyncio.wait_for(ws.recv(), timeout=10)
    assert caught.value.rcvd.code == 4401


async def test_oversized_message_closes_only_that_socket_on_the_real_server(live_url) -> None:
    room = "case-big"
    async with websockets.connect(f"{live_url}/ws/rooms/{room}?token={_token(1, room)}") as good, \
            websockets.connect(f"{live_url}/ws/rooms/{room}?token={_token(2, room)}") as bad:
        await _receive(bad, "welcome")
        await bad.send(json.dumps({"type": "chat", "text": "x" * 70_000}))
        with pytest.raises(websockets.ConnectionClosed) as caught:
            while True:
                await asyncio.wait_for(bad.recv(), timeout=10)
        assert caught.value.rcvd.code == 1009
        assert (await _receive(good, "leave"))["member"]["user_id"] == 2
        await good.send(json.dumps({"type": "chat", "text": "still here"}))
        assert (await _receive(good, "presence"))["members"][0]["user_id"] == 1
