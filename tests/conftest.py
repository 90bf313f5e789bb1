"""Test harness. The schema is built by the real migrations (never create_all) once per engine;
each test runs inside a transaction that is rolled back, with the app's own commits turned into
savepoints. Every database test runs on SQLite and, when CAREBRIDGE_TEST_DATABASE_URL is set, on
PostgreSQL too; an unreachable PostgreSQL is a failure, not a skip."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="carebridge-tests-"))
os.environ.update({
    "CAREBRIDGE_DATA_DIR": str(_TMP),
    "CAREBRIDGE_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    # argon2id at production cost is ~155 ms a hash here; the tests check behaviour, not cost.
    "CAREBRIDGE_ARGON2_TIME_COST": "1",
    "CAREBRIDGE_ARGON2_MEMORY_KIB": "8",
    # Timers sweep in tests only when a test calls them with an explicit time; a loop in the
    # background would write between a test's savepoints.
    "CAREBRIDGE_CONSULT_TIMER_SECONDS": "0",
    "CAREBRIDGE_DIAGNOSIS_COMPLETION_POLL_SECONDS": "0",
    "CAREBRIDGE_VISITS_TIMER_SECONDS": "0",
    # Live servers (tests/browser) must not each try to bind the DICOM port; DICOM tests start their own.
    "CAREBRIDGE_DICOM_ENABLED": "false",
    # The demo payment provider stands in for a real one in tests (outside demo mode it is off by default).
    "CAREBRIDGE_PAYMENTS_DEMO_PROVIDER_ENABLED": "true",
})

import httpx  # noqa: E402
import pytest  # noqa: E402
from alembic import command  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: E402

from carebridge.config import get_settings  # noqa: E402
from carebridge.db import make_engine  # noqa: E402
from carebridge.migrations import alembic_config  # noqa: E402

PG_URL = os.environ.get("CAREBRIDGE_TEST_DATABASE_URL")
ENGINES = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _asyncpg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1) if url.startswith("postgresql://") else url


async def _fresh_postgres(url: str):  # noqa: ANN202
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"CAREBRIDGE_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}")
    return engine


@pytest.fixture(scope="session", params=ENGINES)
async def engine(request):  # noqa: ANN001, ANN201
    if request.param == "postgresql":
        url = _asyncpg_url(PG_URL)
        eng = await _fresh_postgres(url)
    else:
        url = f"sqlite+aiosqlite:///{_TMP / 'test.db'}"
        (_TMP / "test.db").unlink(missing_ok=True)
        eng = make_engine(url)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    yield eng
    await eng.dispose()


@pytest.fixture
async def connection(engine):  # noqa: ANN001, ANN201
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        await outer.rollback()


@pytest.fixture
def sessionmaker(connection):  # noqa: ANN001, ANN201
    return async_sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
async def db(sessionmaker):  # noqa: ANN001, ANN201
    """A session for arranging data and calling services directly (flush, never commit)."""
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def settings():  # noqa: ANN201
    return get_settings()


@pytest.fixture
async def app(settings, sessionmaker, tmp_path):  # noqa: ANN001, ANN201
    from carebridge.app import create_app
    from carebridge.kit.blobs import LocalBlobStore

    application = create_app(settings)
    application.state.sessionmaker = sessionmaker
    application.state.blobs = LocalBlobStore(tmp_path / "blobs")
    return application


@pytest.fixture
async def client(app):  # noqa: ANN001, ANN201
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    # The in-process client is an English-speaking user unless a test says otherwise; the default
    # experience (zh_CN) is covered by tests that send no language preference or switch it.
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"Accept-Language": "en-US,en;q=0.9"}) as c:
        yield c


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    from tests.factories import World

    return World(db)
