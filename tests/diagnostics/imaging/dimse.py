"""Running DCMTK's command-line peers from async tests, and a listener on a free port whose handlers
run on the test's event loop (so they see the test's rolled-back transaction)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from dataclasses import dataclass

import pytest

from carebridge.auth.models import Role
from carebridge.diagnostics.imaging import peers
from carebridge.diagnostics.imaging.scp import DicomListener

TOOLS = ("echoscu", "storescu", "findscu", "getscu", "movescu", "storescp")


def require_dcmtk() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"DCMTK is not installed ({', '.join(missing)} missing): CI must run the DICOM tests")
        pytest.skip(f"DCMTK not installed ({', '.join(missing)} missing)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TOOL_SECONDS = 120


async def dcmtk(*args: str) -> tuple[int, str]:
    """Runs one DCMTK tool with Nagle off (PLATFORM-NOTES) and returns its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "TCP_NODELAY": "1"})
    out, _ = await asyncio.wait_for(process.communicate(), TOOL_SECONDS)
    return process.returncode, out.decode(errors="replace")


@dataclass
class Peers:
    listener: DicomListener
    port: int
    ct: str          # the community centre's CT (sender)
    hub_pacs: str    # the hub's PACS
    other: str       # a PACS of the other hub (sees nothing of the community's studies)


async def start_listener(world, db, dnet, settings, sessionmaker, blobs) -> Peers:  # noqa: ANN001
    admin = await world.principal(await world.user((Role.facility_admin, dnet.community.id)))
    hub_admin = await world.principal(await world.user((Role.facility_admin, dnet.hub.id)))
    other_admin = await world.principal(await world.user((Role.facility_admin, dnet.other_hub.id)))
    ct = await peers.register_peer(db, admin, dnet.community.id, peers.PeerData("CB_CT1", "CT room 1"))
    assert ct.hub_facility_id == dnet.hub.id  # the nearest hub reading images for the community centre
    await peers.register_peer(db, hub_admin, dnet.hub.id, peers.PeerData("HUB_PACS"))
    await peers.register_peer(db, other_admin, dnet.other_hub.id, peers.PeerData("OTHER_PACS"))
    await db.flush()
    listener = DicomListener(settings, sessionmaker=sessionmaker, blobs=blobs, loop=asyncio.get_running_loop())
    listener.start(port=0)
    return Peers(listener, listener.port, "CB_CT1", "HUB_PACS", "OTHER_PACS")
