"""Where a request's time goes: every SQL statement it sent, how long each took, and the query plan
of the slowest (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL)."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class StatementLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.statements: list[tuple[str, Any, float]] = []

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        started = conn.info["bench_started"].pop()
        self.statements.append((statement, parameters, (time.perf_counter() - started) * 1000))

    def __enter__(self) -> StatementLog:
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(self.engine.sync_engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._before)
        event.remove(self.engine.sync_engine, "after_cursor_execute", self._after)

    def summary(self, requests: int) -> str:
        by_shape: dict[str, list[float]] = defaultdict(list)
        for statement, _, ms in self.statements:
            by_shape[" ".join(statement.split())[:90]].append(ms)
        total = sum(ms for _, _, ms in self.statements) / requests
        lines = [f"{len(self.statements) / requests:.1f} statements, {total:.1f} ms in the database"]
        for shape, times in sorted(by_shape.items(), key=lambda kv: -sum(kv[1])):
            lines.append(f"  {sum(times) / requests:6.2f} ms  x{len(times) / requests:.1f}  {shape}")
        return "\n".join(lines)


async def explain_slowest(engine: AsyncEngine, log: StatementLog) -> None:
    reads = [s for s in log.statements if s[0].lstrip().upper().startswith("SELECT")]
    if not reads:
        return
    statement, parameters, ms = max(reads, key=lambda s: s[2])
    sqlite = engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    async with engine.connect() as conn:
        rows = (await conn.exec_driver_sql(prefix + statement, parameters)).all()
    print(f"--- slowest statement ({ms:.1f} ms):\n{statement}\n--- params: {parameters}\n--- plan:")
    for row in rows:
        print("   ", row[-1] if sqlite else row[0])
