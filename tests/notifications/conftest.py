"""Real peers on 127.0.0.1 for the channels: a minimal SMTP server and a minimal HTTP SMS gateway,
each a plain asyncio server that records what it received."""

from __future__ import annotations

import asyncio
import email
import json
from dataclasses import dataclass, field

import pytest

from carebridge.auth.models import Role


@dataclass
class Peer:
    """A local TCP server that can go down and come back on the same port."""

    handler: object
    port: int = 0
    received: list = field(default_factory=list)
    server: asyncio.AbstractServer | None = None

    async def start(self) -> Peer:
        self.server = await asyncio.start_server(self.handler, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


class SmtpSink(Peer):
    def __init__(self) -> None:
        super().__init__(self._session)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        reply("220 sink.test ESMTP")
        envelope: dict = {"rcpt": []}
        while line := (await reader.readline()).decode().strip():
            verb = line[:4].upper()
            if verb == "DATA":
                reply("354 go ahead")
                data = await reader.readuntil(b"\r\n.\r\n")
                self.received.append({**envelope, "message": email.message_from_bytes(data[:-5])})
                reply("250 queued")
            elif verb == "RCPT":
                envelope["rcpt"].append(line.split(":", 1)[1].strip(" <>"))
                reply("250 ok")
            elif verb == "QUIT":
                reply("221 bye")
                break
            else:
                reply("250 sink.test")
            await writer.drain()
        await writer.drain()
        writer.close()


class SmsGateway(Peer):
    def __init__(self, status: int = 200) -> None:
        super().__init__(self._request)
        self.status = status

    async def _request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.received.append({"request_line": head[0], "headers": headers, "json": json.loads(body or b"null")})
        writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}".encode())
        await writer.drain()
        writer.close()


@pytest.fixture
async def smtp_sink():
    sink = await SmtpSink().start()
    yield sink
    await sink.stop()


@pytest.fixture
async def sms_gateway():
    gateway = await SmsGateway().start()
    yield gateway
    await gateway.stop()


@pytest.fixture
async def doctor(world):
    facility = await world.facility()
    user = await world.user((Role.doctor, facility.id))
    user.email = f"{user.username}@example.test"
    user.phone = "+8613800000000"
    await world.db.flush()
    return user
