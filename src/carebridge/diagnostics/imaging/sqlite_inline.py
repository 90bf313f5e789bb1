"""The DICOM listener's SQLite connection: SQLAlchemy's aiosqlite dialect over a sqlite3 connection
that runs each call at once on the event loop's thread.

aiosqlite runs every call (cursor, execute, fetch, close) in its own thread and hands the result
back through the loop: about forty thread round trips per stored instance. On a busy machine each
costs a scheduler wake-up, and they were most of the time and CPU of a C-STORE (bench/README.md).
A SQLite statement itself takes microseconds; only the commit's fsync takes longer, and the
listener's loop does nothing else meanwhile but wait for the same write lock.

The cost: a call blocks the loop it runs on. So each association of the listener has a thread,
a loop and a connection of its own (scp.py), and the process's transactions queue on one lock
(`_WRITER`, taken at BEGIN, released after COMMIT or ROLLBACK): a waiting association wakes the
moment the previous one commits. The listener's processes (listener_processes.py) queue the same
way on an flock of `<database>-listener.lock`, taken while holding `_WRITER`. Any other process
holding SQLite's lock (the web server) is waited for as usual (busy_timeout)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from carebridge.db import make_engine

# One writer at a time in this process, queued here: SQLite's own busy handler sleeps in steps of up
# to 100 ms, so threads contending through it would mostly sleep while the lock is free.
_WRITER = threading.Lock()
T = TypeVar("T")


class _Cursor:
    def __init__(self, cursor: sqlite3.Cursor, owner: InlineConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        if sql.startswith("BEGIN"):
            self._owner.take_writer()
            try:
                self._cursor.execute(sql, parameters)
            except BaseException:
                self._owner.free_writer()
                raise
            return self
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> _Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchall(self) -> list:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set the isolation level."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting caller, as aiosqlite does
            future.set_exception(exc)


class _ProcessLock:
    """An exclusive flock on one descriptor per database file and process: listener processes wait
    for each other in the kernel's queue, woken the moment the holder lets go."""

    _open: dict[str, int] = {}  # noqa: RUF012 - per process, written under _WRITER
    _guard = threading.Lock()

    @classmethod
    def for_database(cls, path: str) -> int:
        with cls._guard:
            fd = cls._open.get(path)
            if fd is None:
                fd = cls._open[path] = os.open(f"{path}-listener.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            return fd


class InlineConnection:
    """What SQLAlchemy's aiosqlite adapter calls on an aiosqlite.Connection, done at once."""

    def __init__(self, connection: sqlite3.Connection, lock_fd: int) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()
        self._writing = False
        self._lock_fd = lock_fd

    def take_writer(self) -> None:
        if not self._writing:
            _WRITER.acquire()
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            except BaseException:
                _WRITER.release()
                raise
            self._writing = True

    def free_writer(self) -> None:
        if self._writing:
            self._writing = False
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            finally:
                _WRITER.release()

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor(), self)

    def write_transaction(self, work: Callable[[sqlite3.Cursor], T]) -> T:
        """`work` in a write transaction of its own (known_writer.py), committed when it returns,
        rolled back when it raises; queued on the same locks as every other writer's."""
        cursor = self._conn.cursor()  # before the locks: a closed connection raises here, holding none
        self.take_writer()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            result = work(cursor)
            self._conn.commit()
            return result
        except BaseException:
            if self._conn.in_transaction:
                self._conn.rollback()
            raise
        finally:
            cursor.close()
            self.free_writer()

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        try:
            self._conn.commit()
        finally:
            self.free_writer()

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self.free_writer()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            try:
                self._conn.close()
            finally:
                self.free_writer()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


def inline_engine(url: str, timeout: float = 30.0) -> AsyncEngine:
    """An engine for `sqlite+aiosqlite:///path` whose connections run inline (see above)."""
    path = url.split(":///", 1)[1]

    lock_fd = _ProcessLock.for_database(path)

    async def connect() -> InlineConnection:
        return InlineConnection(sqlite3.connect(path, timeout=timeout, check_same_thread=False), lock_fd)

    return make_engine(url, async_creator=connect)
