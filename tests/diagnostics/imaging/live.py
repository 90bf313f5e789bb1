"""A real `carebridge dicom` process on its own committed database (SQLite file or a PostgreSQL
database of its own), for the tests that must see what survives the process: kill -9 durability."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from pynetdicom import AE
from sqlalchemy import text

from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.db import make_engine, make_sessionmaker, unit_of_work
from carebridge.diagnostics.imaging import peers
from carebridge.migrations import alembic_config
from carebridge.network.models import Facility, ServiceKind, ServiceOffering, Tier
from tests.conftest import PG_URL, _asyncpg_url

PEER_AE = "DURABLE_CT"
SRC = Path(__file__).resolve().parents[3] / "src"


async def database_url(engine_name: str, tmp: Path, suffix: str) -> str:
    if engine_name == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'live.db'}"
    base = _asyncpg_url(PG_URL)
    name = base.rsplit("/", 1)[1] + suffix
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


async def arrange(url: str) -> str:
    """Migrations, a community centre sending to a city hospital, its CT registered as a peer and a
    technician of the centre; returns the technician's API token."""
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            community = Facility(code="LIVE-CC", name="社区中心", name_en="Community", tier=Tier.community_center.value)
            hub = Facility(code="LIVE-HUB", name="市医院", name_en="City", tier=Tier.city_hospital.value)
            session.add_all([community, hub])
            await session.flush()
            session.add(ServiceOffering(facility_id=hub.id, kind=ServiceKind.imaging_reading.value, open_to_all=True,
                                        active=True))
            admin = await auth.create_user(session, username="live-admin", display_name="Admin",
                                           password="live-password-123", roles=[(Role.facility_admin, community.id)])
            await peers.register_peer(session, await auth.load_principal(session, admin, via="token"), community.id,
                                      peers.PeerData(PEER_AE))
            tech = await auth.create_user(session, username="live-tech", display_name="Technician",
                                          password="live-password-123", roles=[(Role.technician, community.id)])
            secret, _ = await auth.create_api_token(session, await auth.load_principal(session, tech, via="token"),
                                                    "stow")
            return secret
    finally:
        await engine.dispose()


@dataclass
class Listener:
    process: subprocess.Popen
    port: int
    log: Path


def start(url: str, blob_dir: Path, port: int, log: Path, processes: int = 2) -> Listener:
    # Two processes whatever the machine by default: the association may land on the worker, which must
    # die with the listener it belongs to and leave the port to the restarted one.
    env = {**os.environ, "CAREBRIDGE_DATABASE_URL": url, "CAREBRIDGE_BLOB_DIR": str(blob_dir),
           "CAREBRIDGE_DICOM_PORT": str(port), "CAREBRIDGE_DICOM_LISTENER_PROCESSES": str(processes),
           "PYTHONPATH": str(SRC)}
    process = subprocess.Popen([sys.executable, "-m", "carebridge", "dicom", "--no-upgrade"], env=env,
                               stdout=log.open("a"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"listener exited early:\n{log.read_text()[-3000:]}")
        if echo(port):
            return Listener(process, port, log)
        time.sleep(0.1)
    raise AssertionError(f"listener did not answer C-ECHO:\n{log.read_text()[-3000:]}")


def echo(port: int) -> bool:
    ae = AE(ae_title=PEER_AE)
    ae.add_requested_context("1.2.840.10008.1.1")
    assoc = ae.associate("127.0.0.1", port, ae_title="CAREBRIDGE")
    if not assoc.is_established:
        return False
    status = assoc.send_c_echo()
    assoc.release()
    return bool(status) and status.Status == 0


async def instance_count(url: str) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(text("SELECT count(*) FROM dicom_instances"))
    finally:
        await engine.dispose()
