"""The DICOM listener's hot path: the next object of a series its association has stored into,
indexed through the database driver itself.

Measured (docs/benchmarks.md, "DICOM ingest"): through a session, a unit of work and SQLAlchemy's
execution machinery, indexing such an object cost the listener ~2.5 ms of CPU, more than parsing,
hashing and writing its half megabyte together, while the two statements themselves take tens of
microseconds. Only objects of rows the association knows (known.py: committed, never changing)
come here; the first object of a series, a resend, an ECG waveform, STOW and uploads go through
`store.index_received` in a session.

What is written is what `store._index_known` writes in a session: the instance row (counted into
its series and study by the database's trigger, migration 0012), and the study's received count
with its quiet period restarted. It is committed before `index` returns, so the C-STORE is
acknowledged only after it is durable: SQLite commits with synchronous=FULL (listener_engine),
PostgreSQL (asyncpg) runs both in one statement that is its own transaction, one round trip instead of
four (BEGIN, UPDATE, INSERT, COMMIT). Each association holds this connection besides its session's:
two database connections per association on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from carebridge.diagnostics.imaging.sqlite_inline import InlineConnection

# The order of store._instance_values; quoted because "rows" and "columns" are keywords.
COLUMNS = ("sop_instance_uid", "sop_class_uid", "series_id", "study_id", "instance_number", "transfer_syntax_uid",
           "rows", "columns", "number_of_frames", "bits_allocated", "photometric", "pixel_spacing",
           "slice_location", "window_center", "window_width", "rescale_slope", "rescale_intercept", "size_bytes",
           "received_at", "calling_ae", "source", "blob_digest")
_NAMES = ", ".join(f'"{column}"' for column in COLUMNS)
# Statements built once from the constants above (nothing received goes into their text).
SQLITE_INSERT = (f"INSERT INTO dicom_instances ({_NAMES}) VALUES ({', '.join('?' * len(COLUMNS))}) "  # noqa: S608
                 "ON CONFLICT (sop_instance_uid) DO NOTHING RETURNING id")
SQLITE_COUNT = ("UPDATE diagnostic_studies SET item_count = item_count + 1, byte_count = byte_count + ?, "
                "last_received_at = ? WHERE id = ? RETURNING order_id")
_PG_TYPES = {"series_id": "bigint", "study_id": "bigint", "instance_number": "integer", "rows": "integer",
             "columns": "integer", "number_of_frames": "integer", "bits_allocated": "integer",
             "slice_location": "double precision", "window_center": "double precision",
             "window_width": "double precision", "rescale_slope": "double precision",
             "rescale_intercept": "double precision", "size_bytes": "bigint", "received_at": "timestamptz"}
_PG_SELECTED = ", ".join(f"${n}::{_PG_TYPES.get(column, 'varchar')}" for n, column in enumerate(COLUMNS, 1))
_PG_RECEIVED, _PG_SIZE, _PG_STUDY = COLUMNS.index("received_at") + 1, len(COLUMNS) + 1, len(COLUMNS) + 2
# The study row is locked first (every writer of a study's objects locks it first: studies.count_item),
# the instance inserted from it, and the study counted only if the instance was: a resend changes
# nothing, in the one statement that is its own transaction.
PG_INDEX = (f"WITH locked AS (SELECT id FROM diagnostic_studies WHERE id = ${_PG_STUDY}::bigint FOR UPDATE), "  # noqa: S608
            f"inserted AS (INSERT INTO dicom_instances ({_NAMES}) SELECT {_PG_SELECTED} FROM locked "
            "ON CONFLICT (sop_instance_uid) DO NOTHING RETURNING id), "
            "counted AS (UPDATE diagnostic_studies SET item_count = item_count + 1, "
            f"byte_count = byte_count + ${_PG_SIZE}::bigint, last_received_at = ${_PG_RECEIVED}::timestamptz "
            f"WHERE id = ${_PG_STUDY}::bigint AND EXISTS (SELECT FROM inserted) RETURNING order_id) "
            "SELECT (SELECT id FROM inserted), (SELECT order_id FROM counted)")


@dataclass(frozen=True)
class Indexed:
    instance_id: int
    order_id: int | None  # the study's order, which may have been linked since the association began


class KnownSeriesWriter(Protocol):
    async def index(self, study_id: int, values: dict[str, Any]) -> Indexed | None:
        """Indexes and commits one instance of a known study; None (nothing written) when its SOP
        Instance UID is indexed already."""
        ...

    async def ping(self) -> None:
        """Raises when the connection is gone."""
        ...


class SqliteKnownWriter:
    """The listener's own inline connection (sqlite_inline.py), in a transaction of its own."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection

    async def index(self, study_id: int, values: dict[str, Any]) -> Indexed | None:
        received_at = _sqlite_time(values["received_at"])
        parameters = [received_at if column == "received_at" else values[column] for column in COLUMNS]

        def write(cursor: Any) -> Indexed | None:
            # SQLite's write lock is the whole database's, held from BEGIN IMMEDIATE: the order of the
            # two statements cannot deadlock, and a resend inserts nothing and counts nothing.
            inserted = cursor.execute(SQLITE_INSERT, parameters).fetchone()
            if inserted is None:
                return None
            counted = cursor.execute(SQLITE_COUNT, (values["size_bytes"], received_at, study_id)).fetchone()
            return Indexed(inserted[0], counted[0])

        return self._connection.write_transaction(write)

    async def ping(self) -> None:
        """A file: nothing that could go away."""


class PostgresKnownWriter:
    """An asyncpg connection of the association's pool, outside any transaction: the statement is
    its own (PG_INDEX)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection  # asyncpg.Connection

    async def index(self, study_id: int, values: dict[str, Any]) -> Indexed | None:
        instance_id, order_id = await self._connection.fetchrow(
            PG_INDEX, *(values[column] for column in COLUMNS), values["size_bytes"], study_id)
        return Indexed(instance_id, order_id) if instance_id is not None else None

    async def ping(self) -> None:
        await self._connection.fetchval("SELECT 1")


class HeldWriter:
    """A writer on a connection taken from an association database's engine, held as long as that database
    (association_databases.py: across associations)."""

    def __init__(self, connection: AsyncConnection, writer: KnownSeriesWriter) -> None:
        self._connection = connection
        self.writer = writer

    @classmethod
    async def open(cls, engine: AsyncEngine) -> HeldWriter | None:
        """None for a driver without a hot path (then every object takes the session path)."""
        if engine.dialect.driver not in ("aiosqlite", "asyncpg"):
            return None
        # A connection that never executes through SQLAlchemy, so it never begins a transaction there.
        connection = await engine.connect()
        driver = (await connection.get_raw_connection()).driver_connection
        if isinstance(driver, InlineConnection):
            return cls(connection, SqliteKnownWriter(driver))
        if engine.dialect.driver == "asyncpg":
            return cls(connection, PostgresKnownWriter(driver))
        await connection.close()  # aiosqlite not inline: not the listener's engine
        return None

    async def ping(self) -> None:
        await self.writer.ping()

    async def close(self) -> None:
        await self._connection.close()

    async def discard(self) -> None:
        """After a failure: SQLAlchemy never saw this connection's error, so it would hand the
        dead connection out again; it is closed for good instead."""
        try:
            await self._connection.invalidate()
        finally:
            await self._connection.close()


def _sqlite_time(value: dt.datetime) -> str:
    """As SQLAlchemy stores `UTCDateTime` on SQLite: naive UTC with microseconds."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
