"""The DICOM listener's databases: one event loop, engine and hot-path connection per association
thread, kept for the next association when one ends.

A new engine per association cost each one ~13 ms of CPU (bench/README.md): the engine and its
connections made again, and every statement compiled again into the new engine's empty cache. A
modality sending one image per association (DX, CR, US, most PACS forwarding) paid that on every
image. So an association's database goes back to an idle list when the association ends, and the next
association's thread takes it: loop, compiled statements, open connections and all. An event loop
belongs to no thread while it is not running, and the connections (asyncpg's included) belong to that
loop, so they move with it.

On PostgreSQL a connection kept idle may have been closed by the server meanwhile (a restart, an
idle timeout): a database taken from the idle list first checks its connections with a round trip
each and opens fresh ones when that fails, so the next association's first object is not refused
for it. SQLite's connections are files: nothing to check."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from carebridge.db import make_sessionmaker
from carebridge.diagnostics.imaging.known_writer import HeldWriter, KnownSeriesWriter
from carebridge.diagnostics.imaging.sqlite_inline import inline_engine

log = logging.getLogger(__name__)
# Idle databases a listener process keeps at most: enough for modalities sending one after another and
# a few at once; on PostgreSQL each holds two connections, which the server's max_connections must allow.
KEPT_IDLE = 4


def listener_engine(url: str) -> AsyncEngine:
    """The listener's own engine. On SQLite its commits are synchronous=FULL (fsync of the WAL at
    every commit): an acknowledged C-STORE must survive a power loss, not only a crash. On
    PostgreSQL no pre-ping on every checkout: a database is checked once when an association takes
    it (AssociationDatabase.check), and a connection lost in the middle of an association fails that
    one C-STORE with 0xA700, which the sender retries."""
    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_pre_ping=False, pool_recycle=3600)
    engine = inline_engine(url)

    @sa_event.listens_for(engine.sync_engine, "connect")
    def _full_sync(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    return engine


class AssociationDatabase:
    """One association thread's event loop and engine, and the hot path's held connection."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = listener_engine(url)
        self.sessionmaker: async_sessionmaker = make_sessionmaker(self.engine)
        self._held: HeldWriter | None = None
        self._hot_path = True  # until HeldWriter finds the driver has none

    async def known_writer(self) -> KnownSeriesWriter | None:
        if self._held is None and self._hot_path:
            self._held = await HeldWriter.open(self.engine)
            self._hot_path = self._held is not None
        return self._held.writer if self._held is not None else None

    async def drop_known_writer(self) -> None:
        """After the hot path failed: its connection and the pool's idle ones (dead too when the
        database restarted) are closed, so the next object starts on fresh connections."""
        held, self._held = self._held, None
        try:
            if held is not None:
                await held.discard()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail too
            log.debug("DICOM hot-path connection closed with an error", exc_info=True)
        finally:
            await self.engine.dispose()

    async def check(self) -> None:
        """Before another association uses what an earlier one left open: on a network database,
        one round trip on each kept connection; any failure starts the next object on fresh ones."""
        if self.engine.dialect.name == "sqlite":
            return
        try:
            if self._held is not None:
                await self._held.ping()
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - a dead connection: replaced, not reported
            log.info("DICOM listener database connections were lost while idle; opening new ones")
            await self.drop_known_writer()

    async def _dispose(self) -> None:
        held, self._held = self._held, None
        try:
            if held is not None:
                await held.close()
        finally:
            await self.engine.dispose()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.loop.run_until_complete(self._dispose())
        except Exception:  # noqa: BLE001 - closing after an abort: nothing more to save
            log.debug("DICOM association database closed with an error", exc_info=True)
        finally:
            self.loop.close()


class AssociationDatabases:
    """The calling thread's database while it serves an association; `release()` when the
    association ends keeps it for the next one (at most `keep` idle), `close()` ends them all."""

    def __init__(self, url: str, keep: int = KEPT_IDLE) -> None:
        self._url = url
        self._keep = keep
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[AssociationDatabase] = set()
        self._idle: list[AssociationDatabase] = []

    def current(self) -> AssociationDatabase:
        database = getattr(self._local, "database", None)
        if database is None:
            database = self._local.database = self._take()
        return database

    def _take(self) -> AssociationDatabase:
        with self._lock:
            kept = self._idle.pop() if self._idle else None
        if kept is not None:
            kept.loop.run_until_complete(kept.check())
            return kept
        database = AssociationDatabase(self._url)
        with self._lock:
            self._open.add(database)
        return database

    def release(self) -> None:
        """The calling thread's association ended (released, aborted or rejected)."""
        database = getattr(self._local, "database", None)
        if database is None:
            return
        self._local.database = None
        with self._lock:
            if database in self._open and len(self._idle) < self._keep:
                self._idle.append(database)
                return
            self._open.discard(database)
        database.close()

    def close(self) -> None:
        with self._lock:
            left, self._open, self._idle = list(self._open), set(), []
        for database in left:
            database.close()
