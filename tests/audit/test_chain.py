"""The trail is append-only and tamper-evident: the database refuses UPDATE and DELETE, and
`carebridge audit verify` names the first row that was altered, removed or reordered, even by an
attacker who dropped the triggers. Concurrent appends never fork the chain."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from carebridge.audit import service as audit
from carebridge.db import make_engine, make_sessionmaker, unit_of_work
from carebridge.migrations import alembic_config
from tests.conftest import PG_URL, _asyncpg_url

SQLITE_TRIGGERS = ("audit_events_no_update", "audit_events_no_delete")


async def _append(session, n: int, who: str = "someone") -> None:  # noqa: ANN001
    for i in range(n):
        await audit.append(session, audit.Entry(action="read", outcome="allowed", patient_id=1, resource_id=i,
                                                actor=audit.Actor(user_id=7, name=who)))


async def _drop_triggers(db) -> None:  # noqa: ANN001
    """What an attacker with database access would do first. Rolled back with the test."""
    if db.bind.dialect.name == "postgresql":
        await db.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
    else:
        for name in SQLITE_TRIGGERS:
            await db.execute(text(f"DROP TRIGGER {name}"))


async def _first_seq(db) -> int:  # noqa: ANN001
    return await db.scalar(text("SELECT min(seq) FROM audit_events"))


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET outcome = 'denied'",
    "DELETE FROM audit_events",
    "UPDATE audit_events SET seq = seq + 1000",
])
async def test_database_refuses_to_change_the_trail(db, statement):
    await _append(db, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text(statement))
    assert (await audit.verify_chain(db)).ok


async def test_intact_chain_verifies(db):
    await _append(db, 5)
    result = await audit.verify_chain(db)
    assert result.ok and result.checked >= 5


async def test_altered_row_is_named(db):
    await _append(db, 4)
    base = await _first_seq(db)
    await _drop_triggers(db)
    await db.execute(text("UPDATE audit_events SET actor_name = 'nobody' WHERE seq = :s"), {"s": base + 2})
    result = await audit.verify_chain(db)
    assert (result.ok, result.bad_seq) == (False, base + 2)
    assert "does not match" in result.reason


async def test_removed_row_is_named(db):
    await _append(db, 4)
    base = await _first_seq(db)
    await _drop_triggers(db)
    await db.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": base + 1})
    result = await audit.verify_chain(db)
    assert (result.ok, result.bad_seq) == (False, base + 1)
    assert "missing" in result.reason


async def test_removed_tail_is_noticed(db):
    await _append(db, 4)
    base = await _first_seq(db)
    await _drop_triggers(db)
    await db.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": base + 3})
    result = await audit.verify_chain(db)
    assert (result.ok, result.bad_seq) == (False, base + 3)


async def test_swapped_rows_are_named(db):
    await _append(db, 4)
    base = await _first_seq(db)
    await _drop_triggers(db)
    a, b = base + 1, base + 2
    for old, new in ((a, -1), (b, a), (-1, b)):
        await db.execute(text("UPDATE audit_events SET seq = :new WHERE seq = :old"), {"old": old, "new": new})
    result = await audit.verify_chain(db)
    assert (result.ok, result.bad_seq) == (False, a)


# --- a real database of its own: the CLI and concurrent appends commit --------------------------------


async def _fresh_database(engine_name: str, tmp: Path) -> tuple[str, object]:
    if engine_name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'chain.db'}"
        drop = None
    else:
        base = _asyncpg_url(PG_URL)
        name = base.rsplit("/", 1)[1] + "_chain"
        admin = make_engine(base, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))

        async def drop() -> None:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()

        url = base.rsplit("/", 1)[0] + "/" + name
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    return url, drop


@pytest.fixture
async def own_database(engine, tmp_path):  # noqa: ANN001, ANN201
    url, drop = await _fresh_database(engine.dialect.name, tmp_path)
    own = make_engine(url)
    yield own
    await own.dispose()
    if drop:
        await drop()


async def test_concurrent_appends_never_fork_the_chain(own_database):
    factory = make_sessionmaker(own_database)

    async def writer(name: str) -> None:
        for _ in range(15):
            async with unit_of_work(factory) as session:
                await _append(session, 2, who=name)
                await asyncio.sleep(0.002)  # hold the head row while the other writer queues on it

    await asyncio.gather(writer("a"), writer("b"))
    async with unit_of_work(factory) as session:
        result = await audit.verify_chain(session)
        seqs = (await session.scalars(text("SELECT seq FROM audit_events ORDER BY seq"))).all()
    assert result.ok and result.checked == 60
    assert list(seqs) == list(range(1, 61))


async def test_two_open_transactions_queue_on_the_head(own_database):
    factory = make_sessionmaker(own_database)
    first, second = factory(), factory()
    try:
        await _append(first, 1, who="first")
        blocked = asyncio.create_task(_append(second, 1, who="second"))
        await asyncio.sleep(0.2)
        assert not blocked.done()  # waiting for the first transaction, not reading a stale tip
        await first.commit()
        await blocked
        await second.commit()
    finally:
        await first.close()
        await second.close()
    async with unit_of_work(factory) as session:
        assert (await audit.verify_chain(session)).checked == 2


# --- `carebridge audit verify`, end to end on a real SQLite file --------------------------------------


async def _verify(url: str, tmp: Path) -> tuple[int, str, str]:
    env = {**os.environ, "CAREBRIDGE_DATABASE_URL": url, "CAREBRIDGE_DATA_DIR": str(tmp)}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "carebridge", "audit", "verify", env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, out.decode(), err.decode()


def _tamper(path: Path, statements: list[str]) -> None:
    with sqlite3.connect(path) as conn:
        for trigger in SQLITE_TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for statement in statements:
            conn.execute(statement)


@pytest.fixture
async def trail(tmp_path):  # noqa: ANN001, ANN201
    """A real SQLite file with five committed audit rows."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        await _append(session, 5)
    await engine.dispose()
    return url, tmp_path / "cli.db", tmp_path


async def test_cli_verify_intact(trail):
    url, _, tmp = trail
    code, out, err = await _verify(url, tmp)
    assert code == 0, err
    assert "intact: 5 rows" in out


@pytest.mark.parametrize("statements, bad_row", [
    (["UPDATE audit_events SET outcome = 'denied' WHERE seq = 3"], 3),
    (["DELETE FROM audit_events WHERE seq = 2"], 2),
    (["UPDATE audit_events SET seq = -1 WHERE seq = 2", "UPDATE audit_events SET seq = 2 WHERE seq = 4",
      "UPDATE audit_events SET seq = 4 WHERE seq = -1"], 2),
    (["DELETE FROM audit_events WHERE seq = 5"], 5),
], ids=["altered", "removed", "swapped", "tail-removed"])
async def test_cli_verify_names_the_first_bad_row(trail, statements, bad_row):
    url, path, tmp = trail
    await asyncio.to_thread(_tamper, path, statements)
    code, _, err = await _verify(url, tmp)
    assert code != 0
    assert f"BROKEN at row {bad_row}" in err
