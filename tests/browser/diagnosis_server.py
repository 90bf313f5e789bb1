"""A `carebridge serve` of its own for a diagnosis browser test, with the study-completion loop
running as in production (the shared live server runs with it off, as every test process does):
its own database (a fresh PostgreSQL database when the engine is PostgreSQL), arranged by the
test's own function, and a short quiet period so a sent study completes within about a second."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from carebridge.db import make_engine, make_sessionmaker, unit_of_work
from carebridge.migrations import alembic_config
from tests.browser.conftest import CHROMIUM, _free_port, _wait_until_up
from tests.conftest import PG_URL, _asyncpg_url

QUIET_SECONDS = 1.0


@dataclass
class Server:
    base_url: str
    url: str
    ids: dict
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


async def database_url(engine_name: str, tmp: Path, name: str) -> str:
    if engine_name == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / f'{name}.db'}"
    base = _asyncpg_url(PG_URL)
    database = f"{base.rsplit('/', 1)[1]}_{name}"  # its own database: the shared live server has one
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    await admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + database


async def start_server(engine_name: str, tmp: Path, name: str, arrange: Callable[..., Awaitable[dict]],
                       env: dict[str, str] | None = None) -> Server:
    if not CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: CI must run the browser tests")
        pytest.skip("chromium not installed")
    url = await database_url(engine_name, tmp, name)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        ids = await arrange(session, tmp / "blobs")
    await engine.dispose()
    port = _free_port()
    env = {**os.environ, "CAREBRIDGE_DATABASE_URL": url, "CAREBRIDGE_DATA_DIR": str(tmp),
           "CAREBRIDGE_BLOB_DIR": str(tmp / "blobs"), "CAREBRIDGE_DIAGNOSIS_COMPLETION_POLL_SECONDS": "0.5",
           "CAREBRIDGE_DIAGNOSIS_QUIET_SECONDS": str(QUIET_SECONDS), **(env or {})}
    log = (tmp / "server.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "carebridge", "serve", "--host", "127.0.0.1",  # noqa: ASYNC220
                                "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    _wait_until_up(base_url, process, tmp / "server.log")
    return Server(base_url, url, ids, process)
