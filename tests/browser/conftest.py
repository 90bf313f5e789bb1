"""Browser tests: a real `carebridge serve` (granian) on a free loopback port, its own database
built by the migrations and arranged through the services, driven by Debian's Chromium via
Playwright. With CI=true a missing Chromium fails the run; elsewhere these tests are skipped."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import text

from carebridge.db import make_engine, make_sessionmaker, unit_of_work
from carebridge.migrations import alembic_config
from tests.browser.world import arrange_browser_world
from tests.conftest import ENGINES, PG_URL, _asyncpg_url

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-features=Translate,MediaRouter"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _database_url(engine_name: str, tmp: Path) -> str:
    if engine_name == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'browser.db'}"
    base = _asyncpg_url(PG_URL)
    name = base.rsplit("/", 1)[1] + "_browser"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


class LiveServer:
    def __init__(self, base_url: str, world: dict, process: subprocess.Popen) -> None:
        self.base_url, self.world, self.process = base_url, world, process


@pytest.fixture(scope="session", params=ENGINES)
async def live_server(request, tmp_path_factory):  # noqa: ANN001, ANN201
    if not CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: CI must run the browser tests (make test installs it as root)")
        pytest.skip("chromium not installed (make test installs it when run as root)")
    tmp = tmp_path_factory.mktemp(f"live-{request.param}")
    url = await _database_url(request.param, tmp)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        world = await arrange_browser_world(session, tmp / "blobs")
    await engine.dispose()
    port = _free_port()
    env = {**os.environ, "CAREBRIDGE_DATABASE_URL": url, "CAREBRIDGE_DATA_DIR": str(tmp),
           "CAREBRIDGE_BLOB_DIR": str(tmp / "blobs")}
    log = (tmp / "server.log").open("w")
    # A blocking Popen is fine here: it runs once per session, before any test.
    process = subprocess.Popen([sys.executable, "-m", "carebridge", "serve", "--host", "127.0.0.1",  # noqa: ASYNC220
                                "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    _wait_until_up(base_url, process, tmp / "server.log")
    yield LiveServer(base_url, world, process)
    process.terminate()
    process.wait(timeout=15)


def _wait_until_up(base_url: str, process: subprocess.Popen, log: Path) -> None:
    # Importing the whole app takes ~20 s on a busy two-core machine; wait generously, and never leave a
    # server behind when it does not come up.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    process.wait(timeout=15)
    pytest.fail(f"server did not come up:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
async def browser():  # noqa: ANN201
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


class Shots:
    """Screenshots of each step, kept in test-output/browser/ for people to look at."""

    def __init__(self, page, name: str) -> None:  # noqa: ANN001
        self.page, self.name, self.n = page, name, 0

    async def __call__(self, step: str) -> None:
        self.n += 1
        OUTPUT.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(OUTPUT / f"{self.name}-{self.n:02d}-{step}.png"), full_page=True)


def _page_fixture(viewport: dict):  # noqa: ANN202
    @pytest.fixture
    async def _page(browser, live_server, request):  # noqa: ANN001, ANN202
        context = await browser.new_context(viewport=viewport, base_url=live_server.base_url, locale="zh-CN")
        page = await context.new_page()
        page.set_default_timeout(10_000)
        page.shots = Shots(page, request.node.name.replace("[", "-").replace("]", ""))
        yield page
        await context.close()

    return _page


page = _page_fixture({"width": 1280, "height": 860})
phone = _page_fixture({"width": 390, "height": 844})
