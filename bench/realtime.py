"""Live-session and notification-hub timings against a real server (granian on 127.0.0.1).

    .venv/bin/python bench/realtime.py                       # 50 ICE runs; 1,000 clients x 300 publishes
    .venv/bin/python bench/realtime.py --runs 10 --clients 200 --publishes 50   # quick check

(a) ICE: two aiortc peers join a room over WS /ws/rooms/{room} (real room tokens), then offer,
    answer and connect; timed from "both peers joined" to both peers' ICE state "completed".
    Peer baseline: the same two peers with the SDP handed over directly in-process.
(b) Fan-out: N WebSocket clients hold WS /ws/notifications open (signed in by session cookie);
    the server stamps CLOCK_MONOTONIC and publishes one message to their topic; timed until the
    last client has it. In-process hub and Redis hub. Peer baseline: a plain `websockets`
    server calling websockets.broadcast() to the same N clients.
Every server is a separate process; the clients share one asyncio process. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[1]
BENCH_DIR = ROOT / "bench"
SECRET = "bench-realtime-secret-key-0123456789-abcdefghijklmnop"
REDIS_URL = "redis://127.0.0.1:6379/14"
TARGET_CONNECT_P95_S = 1.0
TARGET_FANOUT_P99_MS = 100.0
SETTLE_SECONDS = 0.02  # between publishes, so one fan-out never overlaps the next

os.environ.update({"CAREBRIDGE_SECRET_KEY": SECRET, "CAREBRIDGE_ARGON2_TIME_COST": "1",
                   "CAREBRIDGE_ARGON2_MEMORY_KIB": "8"})


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="ICE connections per variant")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--publishes", type=int, default=300, help="timed fan-outs per server")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--parts", default="ice,fanout")
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "bench" / "realtime.json")
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)  # internal: the peer server
    return parser.parse_args()


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))]


def summary(values: list[float], scale: float = 1000.0) -> dict[str, float]:
    return {f"p{p}": round(percentile(values, p) * scale, 2) for p in (50, 95, 99)} | {
        "max": round(max(values) * scale, 2), "n": len(values)}


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        sys.exit(f"need {needed} open files, the hard limit is {hard}: raise `ulimit -n`")


class Server:
    """A server process on a free loopback port; the child inherits the raised file limit."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen([a.replace("{port}", str(self.port)) for a in args],  # noqa: S603
                                            env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        sys.exit(f"server did not start:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def carebridge_server(tmp: Path, database_url: str, redis_url: str = "") -> Server:
    env = {"CAREBRIDGE_DATABASE_URL": database_url, "CAREBRIDGE_DATA_DIR": str(tmp),
           "CAREBRIDGE_REALTIME_REDIS_URL": redis_url,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(BENCH_DIR)])}
    # A WebSocket is one long request to granian: the default limit (backlog 1024 = backpressure per
    # worker) would refuse clients past ~1,000, so the benchmark raises it.
    return Server([sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port",
                   "{port}", "--workers", "1", "--backlog", "4096", "--no-access-log", "realtime_app:app"],
                  env, tmp / f"server-{'redis' if redis_url else 'inprocess'}.log")


async def prepare_database(url: str) -> tuple[int, str]:
    """A database built by the migrations, with one signed-in user whose session the clients share
    (one person with many pages open is the same fan-out as many people on one topic)."""
    from alembic import command

    from carebridge.auth import service as auth
    from carebridge.db import make_engine, make_sessionmaker, unit_of_work
    from carebridge.migrations import alembic_config

    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        user = await auth.create_user(session, username="bench", display_name="Bench", password=None)
        token, _ = await auth.start_session(session, user, ip="127.0.0.1", mfa_verified=True)
    await engine.dispose()
    return user.id, token


# --- (a) ICE connect ---------------------------------------------------------------------------

def loopback_only() -> None:
    """aioice leaves 127.0.0.1 out of host candidates; on loopback these peers have nothing else."""
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def peer_pair():  # noqa: ANN201
    from aiortc import RTCConfiguration, RTCPeerConnection

    caller, callee = (RTCPeerConnection(RTCConfiguration(iceServers=[])) for _ in range(2))
    caller.createDataChannel("bench")
    done = [asyncio.get_running_loop().create_future() for _ in range(2)]
    for pc, future in zip((caller, callee), done, strict=True):
        def on_change(pc=pc, future=future) -> None:  # noqa: ANN001
            if pc.iceConnectionState == "completed" and not future.done():
                future.set_result(time.monotonic())
            elif pc.iceConnectionState == "failed" and not future.done():
                future.set_exception(RuntimeError("ICE failed"))
        pc.on("iceconnectionstatechange", on_change)
    return caller, callee, done


async def ice_direct() -> float:
    from aiortc import RTCSessionDescription

    caller, callee, done = peer_pair()
    start = time.monotonic()
    await caller.setLocalDescription(await caller.createOffer())
    await callee.setRemoteDescription(RTCSessionDescription(caller.localDescription.sdp, "offer"))
    await callee.setLocalDescription(await callee.createAnswer())
    await caller.setRemoteDescription(RTCSessionDescription(callee.localDescription.sdp, "answer"))
    connected = max(await asyncio.wait_for(asyncio.gather(*done), 20))
    await caller.close()
    await callee.close()
    return connected - start


async def _receive(ws, kind: str) -> dict:  # noqa: ANN001
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if message["type"] == kind:
            return message


async def ice_through_server(base: str, run: int) -> float:
    import websockets
    from aiortc import RTCSessionDescription

    from carebridge.realtime.tokens import issue_room_token

    room = f"bench-ice-{run}-{os.getpid()}"

    def url(user_id: int) -> str:
        token = issue_room_token(SECRET, room_id=room, user_id=user_id, display_name=f"Doctor {user_id}")
        return f"{base}/ws/rooms/{room}?token={token}"

    async with websockets.connect(url(1), compression=None) as ws_a, \
            websockets.connect(url(2), compression=None) as ws_b:
        await _receive(ws_a, "welcome")
        await _receive(ws_b, "welcome")
        callee_id = (await _receive(ws_a, "join"))["member"]["id"]
        caller, callee, done = peer_pair()
        start = time.monotonic()  # both peers joined
        await caller.setLocalDescription(await caller.createOffer())
        await ws_a.send(json.dumps({"type": "offer", "to": callee_id, "sdp": caller.localDescription.sdp}))
        offer = await _receive(ws_b, "offer")
        await callee.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await callee.setLocalDescription(await callee.createAnswer())
        await ws_b.send(json.dumps({"type": "answer", "to": offer["from"], "sdp": callee.localDescription.sdp}))
        answer = await _receive(ws_a, "answer")
        await caller.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        connected = max(await asyncio.wait_for(asyncio.gather(*done), 20))
        await caller.close()
        await callee.close()
    return connected - start


async def bench_ice(args: argparse.Namespace, base: str) -> dict:
    loopback_only()
    results = {}
    for name, run in (("through the signalling server", lambda i: ice_through_server(base, i)),
                      ("direct, in-process (peer baseline)", lambda i: ice_direct())):
        before = load()
        await run(-1)  # warm-up: imports, codecs, first DTLS certificate
        times = [await run(i) for i in range(args.runs)]
        results[name] = summary(times) | {"load_before": before, "load_after": load()}
        print(f"ICE {name}: {results[name]}", flush=True)
    return results


# --- (b) fan-out -------------------------------------------------------------------------------

class Receivers:
    """Counts arrivals per publish; the publish is done when the last client has it."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.last: dict[int, list[float]] = {}
        self.complete: dict[int, asyncio.Event] = {}

    def expect(self, seq: int) -> asyncio.Event:
        self.last[seq] = [0, 0.0, 0.0]
        self.complete[seq] = asyncio.Event()
        return self.complete[seq]

    async def listen(self, ws) -> None:  # noqa: ANN001
        async for raw in ws:
            now = time.monotonic()
            message = json.loads(raw)
            if message.get("type") != "bench":
                continue
            record = self.last[message["seq"]]
            record[0] += 1
            record[1], record[2] = max(record[1], now), message["t0"]
            if record[0] == self.expected:
                self.complete[message["seq"]].set()


async def connect_all(url: str, count: int, headers: dict[str, str], batch: int = 100) -> list:
    import websockets

    sockets = []
    for start in range(0, count, batch):
        sockets += await asyncio.gather(*(
            websockets.connect(url, additional_headers=headers, compression=None, ping_interval=None,
                               open_timeout=60) for _ in range(min(batch, count - start))))
    return sockets


async def fan_out(args: argparse.Namespace, url: str, headers: dict[str, str],
                  trigger: Callable[[int], Awaitable[None]], greeting: str | None) -> dict:
    sockets = await connect_all(url, args.clients, headers)
    if greeting:  # the notifications socket says hello first: subscribed from then on
        for ws in sockets:
            assert json.loads(await ws.recv())["type"] == greeting
    receivers = Receivers(len(sockets))
    readers = [asyncio.create_task(receivers.listen(ws)) for ws in sockets]
    latencies, incomplete, before = [], 0, load()
    try:
        for seq in range(args.warmup + args.publishes):
            complete = receivers.expect(seq)
            await trigger(seq)
            try:
                await asyncio.wait_for(complete.wait(), 10)
            except TimeoutError:
                incomplete += 1
                continue
            count, last, sent = receivers.last[seq]
            if seq >= args.warmup:
                latencies.append(last - sent)
            await asyncio.sleep(SETTLE_SECONDS)
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return summary(latencies) | {"clients": len(sockets), "incomplete": incomplete, "load_before": before,
                                 "load_after": load()}


async def bench_fanout_carebridge(args: argparse.Namespace, tmp: Path, redis_url: str) -> dict:
    import httpx

    db_path = tmp / f"fanout-{'redis' if redis_url else 'inprocess'}.db"
    database_url = f"sqlite+aiosqlite:///{db_path}"
    user_id, token = await prepare_database(database_url)
    server = carebridge_server(tmp, database_url, redis_url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            async def trigger(seq: int) -> None:
                (await http.post(f"/bench/publish/{user_id}/{seq}")).raise_for_status()

            return await fan_out(args, f"ws://127.0.0.1:{server.port}/ws/notifications",
                                 {"Cookie": f"cb_session={token}"}, trigger, greeting="hello")
    finally:
        server.stop()


async def bench_fanout_baseline(args: argparse.Namespace, tmp: Path) -> dict:
    import websockets

    server = Server([sys.executable, str(SCRIPT), "--serve-baseline", "{port}"], {},
                    tmp / "server-baseline.log")
    try:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/control", compression=None) as control:
            async def trigger(seq: int) -> None:
                await control.send(str(seq))

            return await fan_out(args, f"ws://127.0.0.1:{server.port}/", {}, trigger, greeting=None)
    finally:
        server.stop()


async def serve_baseline(port: int) -> None:
    """The peer: a plain websockets server that broadcasts each control message to every client."""
    import websockets

    clients: set = set()

    async def handler(ws) -> None:  # noqa: ANN001
        if ws.request.path == "/control":
            async for seq in ws:
                sent_at = time.monotonic()
                websockets.broadcast(clients, json.dumps({"type": "bench", "seq": int(seq), "t0": sent_at}))
            return
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async with websockets.serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, backlog=4096):
        await asyncio.Future()


# --- report ------------------------------------------------------------------------------------

def report(results: dict, args: argparse.Namespace) -> None:
    print(f"\nMachine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}")
    if ice := results.get("ice"):
        server, direct = ice["through the signalling server"], ice["direct, in-process (peer baseline)"]
        print(f"\n| ICE connect ({args.runs} runs) | p50 | p95 | max | load before/after |\n|---|---:|---:|---:|---|")
        for name, r in ice.items():
            print(f"| {name} | {r['p50']:.0f} ms | {r['p95']:.0f} ms | {r['max']:.0f} ms | "
                  f"{r['load_before']} / {r['load_after']} |")
        print(f"\nratio server/direct: p50 {server['p50'] / direct['p50']:.2f}x, "
              f"p95 {server['p95'] / direct['p95']:.2f}x; target p95 < {TARGET_CONNECT_P95_S * 1000:.0f} ms: "
              f"{'met' if server['p95'] < TARGET_CONNECT_P95_S * 1000 else 'MISSED'}")
    if fan := results.get("fanout"):
        base = fan.get("websockets.broadcast (peer baseline)")
        print(f"\n| fan-out to {args.clients} clients ({args.publishes} publishes) | p50 | p95 | p99 | max | "
              f"incomplete | vs peer (p50 / p99) | load before/after |\n|---|---:|---:|---:|---:|---:|---:|---|")
        for name, r in fan.items():
            ratio = f"{r['p50'] / base['p50']:.1f}x / {r['p99'] / base['p99']:.1f}x" if base else "-"
            print(f"| {name} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['p99']:.1f} ms | {r['max']:.1f} ms | "
                  f"{r['incomplete']} | {ratio} | {r['load_before']} / {r['load_after']} |")


async def main(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    raise_file_limit(2 * args.clients + 256)
    parts = set(args.parts.split(","))
    results: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="carebridge-bench-rt-") as name:
        tmp = Path(name)
        os.environ["CAREBRIDGE_DATA_DIR"] = str(tmp)
        if "ice" in parts:
            database_url = f"sqlite+aiosqlite:///{tmp / 'ice.db'}"
            await prepare_database(database_url)
            server = carebridge_server(tmp, database_url)
            try:
                results["ice"] = await bench_ice(args, f"ws://127.0.0.1:{server.port}")
            finally:
                server.stop()
        if "fanout" in parts:
            results["fanout"] = {}
            for name, run in (("CareBridge, in-process hub", lambda: bench_fanout_carebridge(args, tmp, "")),
                              ("CareBridge, Redis hub", lambda: bench_fanout_carebridge(args, tmp, REDIS_URL)),
                              ("websockets.broadcast (peer baseline)", lambda: bench_fanout_baseline(args, tmp))):
                results["fanout"][name] = await run()
                print(f"fan-out {name}: {results['fanout'][name]}", flush=True)
    return results


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve_baseline:
        asyncio.run(serve_baseline(arguments.serve_baseline))
        sys.exit(0)
    outcome = asyncio.run(main(arguments))
    report(outcome, arguments)
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    arguments.json.write_text(json.dumps(outcome, indent=2))
