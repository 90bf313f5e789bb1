"""How long the network analytics dashboard takes at a year of a busy network: 40,000
consultation cases (with ~7 timeline events each) and their referrals, on SQLite and PostgreSQL.

    .venv/bin/python bench/analytics.py                        # both engines
    .venv/bin/python bench/analytics.py --engines sqlite --cases 10000

The database is built by the real migrations and filled with the demo network, then with
`--cases` cases spread over the last 365 days by the demo's own case generator. Each query is
timed `--runs` times after one warm-up; the median and the slowest run are printed. The PostgreSQL
database is emptied first, so the script refuses a database whose name does not start with
`bench` or `test_` (and `test` itself)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("CAREBRIDGE_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")

from alembic import command  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from carebridge.analytics.export import export_analytics_csv  # noqa: E402
from carebridge.analytics.service import consultation_analytics, make_filters  # noqa: E402
from carebridge.auth import service as auth  # noqa: E402
from carebridge.auth.models import User  # noqa: E402
from carebridge.consultations.models import CaseEvent, ConsultationCase  # noqa: E402
from carebridge.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from carebridge.demo import seed  # noqa: E402
from carebridge.demo.bulk import BulkWriter  # noqa: E402
from carebridge.demo.consultations import write_consultations  # noqa: E402
from carebridge.demo.staff import CHINA  # noqa: E402
from carebridge.kit.blobs import LocalBlobStore  # noqa: E402
from carebridge.migrations import alembic_config  # noqa: E402


async def _fill(url: str, cases: int, blobs: Path) -> None:
    engine = make_engine(url)
    captured = {}
    original = seed._write_records

    async def keep(bulk, patients, staff, specs, departments, today):  # noqa: ANN001, ANN202
        entries = await original(bulk, patients, staff, specs, departments, today)
        captured.update(patients=patients, staff=staff, specs=specs, departments=departments, entries=entries)
        return entries

    seed._write_records = keep  # the demo's in-memory people and places, to generate more cases with
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            today = dt.datetime.now(CHINA).date()
            await seed.load_demo(session, scale=0.2, blobs=LocalBlobStore(blobs), today=today)
            bulk = BulkWriter(session)
            await write_consultations(bulk, captured["patients"], captured["staff"], captured["specs"],
                                      captured["departments"], captured["entries"], today, count=cases, days=365)
            await bulk.finish()
        if url.startswith("postgresql"):
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
    finally:
        seed._write_records = original
        await engine.dispose()


async def _time(url: str, runs: int) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    async with unit_of_work(sessions) as session:
        n_cases = await session.scalar(select(func.count()).select_from(ConsultationCase))
        n_events = await session.scalar(select(func.count()).select_from(CaseEvent))
        users = {u.username: u for u in (await session.scalars(select(User).where(
            User.username.in_(["demo.admin", "demo.facility"])))).all()}
        admin = await auth.load_principal(session, users["demo.admin"], via="token")
        county = await auth.load_principal(session, users["demo.facility"], via="token")
    print(f"  {n_cases} cases, {n_events} events")
    today = dt.datetime.now(CHINA).date()
    year = make_filters(today - dt.timedelta(days=364), today)
    checks = [("network, last 90 days (the default)", admin, make_filters(), consultation_analytics),
              ("network, last 365 days", admin, year, consultation_analytics),
              ("one county hospital's admin, 90 days", county, make_filters(), consultation_analytics),
              ("CSV export, network, 365 days", admin, year, export_analytics_csv)]
    for name, principal, filters, call in checks:
        times = []
        for i in range(runs + 1):
            async with sessions() as session:  # read-only: rolled back, so the CSV audit rows do not pile up
                started = time.perf_counter()
                result = await call(session, principal, filters)
                if i:
                    times.append((time.perf_counter() - started) * 1000)
                await session.rollback()
        size = result.submitted if hasattr(result, "submitted") else f"{len(result)} bytes"
        print(f"  {name:40s} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms  ({size})")
    await engine.dispose()


def _safe_pg(url: str) -> str:
    name = url.rsplit("/", 1)[-1]
    if name == "test" or not name.startswith(("bench", "test_")):
        raise SystemExit(f"refusing to empty database {name!r}: use one named bench* or test_*")
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _fresh_pg(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/bench_analytics")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    os.environ.setdefault("CAREBRIDGE_DATA_DIR", str(work))
    for engine in args.engines.split(","):
        if engine == "sqlite":
            url = f"sqlite+aiosqlite:///{work / 'analytics.db'}"
        else:
            url = _safe_pg(args.pg_url)
            await _fresh_pg(url)
        await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
        started = time.perf_counter()
        await _fill(url, args.cases, work / "blobs")
        print(f"{engine}: filled in {time.perf_counter() - started:.0f} s")
        await _time(url, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
