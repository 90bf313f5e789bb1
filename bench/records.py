"""Patient search and timeline at scale, through the real service functions, on SQLite and PostgreSQL.

    .venv/bin/python bench/records.py                      # 100,000 patients, 5,000,000 entries
    .venv/bin/python bench/records.py --patients 10000 --entries 500000 --engines sqlite

Each engine gets a fresh database built by the real migrations, the demo network's facilities and
staff, and generated patients and entries. Then every query runs as a request would: its own unit of
work (session, transaction, the access check, the audit row, commit) calling
`carebridge.records.service.search_patients` or `.timeline` as a doctor at one of the patient's
facilities. After a warm-up, N random queries of each kind are timed; p50 and p95 are printed as a
Markdown table for docs/benchmarks.md. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from alembic import command
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from explain import StatementLog, explain_slowest  # noqa: E402
from generate import (  # noqa: E402
    BenchPatient,
    Network,
    bench_patients,
    load_network,
    load_postgres,
    load_sqlite,
    seed_network,
)

from carebridge.auth import service as auth  # noqa: E402
from carebridge.auth.models import User  # noqa: E402
from carebridge.auth.principal import Principal  # noqa: E402
from carebridge.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from carebridge.migrations import alembic_config  # noqa: E402
from carebridge.records import service  # noqa: E402

TARGET_P95_MS = 50.0
DEEP_PAGE = 6  # entries 251-300 of the record with 50 a page
KINDS = ["name prefix (2 chars)", "name prefix (surname only)", "phone", "national ID", "MRN",
         "timeline, first page", f"timeline, page {DEEP_PAGE} (cursor)"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=5_000_000)
    parser.add_argument("--queries", type=int, default=500, help="timed queries per kind")
    parser.add_argument("--warmup", type=int, default=50, help="untimed queries per kind first")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--sqlite-path", default="var/bench/records.db")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/bench_records",
                        help="its database is dropped and re-created: never point this at real data")
    parser.add_argument("--json", default="var/bench/records.json", help="where to write the raw results")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the data set left by an earlier run with the same sizes instead of rebuilding")
    parser.add_argument("--explain", action="store_true",
                        help="after timing, show each kind's statements and the plan of its slowest one")
    return parser.parse_args()


# ---- building the data set ----------------------------------------------------------------

def _url(engine_name: str, args: argparse.Namespace) -> str:
    if engine_name == "sqlite":
        return f"sqlite+aiosqlite:///{args.sqlite_path}"
    return args.pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)


def _fresh_sqlite_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def reuse(engine_name: str, args: argparse.Namespace) -> tuple[str, Network, list[BenchPatient], float]:
    url = _url(engine_name, args)
    # Migrations added since the data was loaded (new indexes) apply to the loaded data as they would in production.
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            network = await load_network(session)
    finally:
        await engine.dispose()
    return url, network, bench_patients(network, args.patients, args.entries), 0.0


async def build(engine_name: str, args: argparse.Namespace) -> tuple[str, Network, list[BenchPatient], float]:
    started = time.perf_counter()
    url = _url(engine_name, args)
    if engine_name == "sqlite":
        path = Path(args.sqlite_path)
        await asyncio.to_thread(_fresh_sqlite_file, path)
    else:
        await _recreate_postgres(args.pg_url)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        network = await seed_network(session)
    await engine.dispose()
    if engine_name == "sqlite":
        patients = await asyncio.to_thread(load_sqlite, str(path), network, args.patients, args.entries)
    else:
        conn = await asyncpg.connect(args.pg_url)
        try:
            patients = await load_postgres(conn, network, args.patients, args.entries)
            await conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by the time users arrive
        finally:
            await conn.close()
    return url, network, patients, time.perf_counter() - started


async def _recreate_postgres(url: str) -> None:
    base, _, name = url.rpartition("/")
    if name in ("test", "postgres", "carebridge") or not name.startswith("bench"):
        raise SystemExit(f"refusing to drop database {name!r}: use a database whose name starts with 'bench'")
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


# ---- the queries ----------------------------------------------------------------------------

Query = Callable[[], Awaitable[None]]


class Bench:
    def __init__(self, url: str, network: Network, patients: list[BenchPatient]) -> None:
        self.engine = make_engine(url, pool_size=2)
        self.factory = make_sessionmaker(self.engine)
        self.network = network
        self.patients = patients
        self.principals: dict[int, Principal] = {}
        self.rng = random.Random(11)
        self.deep_cursors: dict[int, str] = {}

    async def load_principals(self) -> None:
        async with unit_of_work(self.factory) as session:
            users = (await session.scalars(select(User).where(User.id.in_(
                {u for ids in self.network.doctors.values() for u in ids})))).all()
            for user in users:
                self.principals[user.id] = await auth.load_principal(session, user, via="token", ip="127.0.0.1")

    def doctor_for(self, patient: BenchPatient) -> Principal:
        facility = self.rng.choice(patient.registrations)[0]
        return self.principals[self.rng.choice(self.network.doctors[facility])]

    async def search(self, principal: Principal, text: str) -> None:
        async with unit_of_work(self.factory) as session:
            await service.search_patients(session, principal, text, limit=20)

    async def timeline(self, principal: Principal, patient_id: int, cursor: str | None = None) -> None:
        async with unit_of_work(self.factory) as session:
            await service.timeline(session, principal, patient_id, limit=50, cursor=cursor)

    def query(self, kind: str) -> Query:
        p = self.rng.choice(self.patients)
        if kind == "phone":
            while not p.phone:
                p = self.rng.choice(self.patients)
        doctor = self.doctor_for(p)
        text = {"name prefix (2 chars)": p.name[:2], "name prefix (surname only)": p.name[:1], "phone": p.phone,
                "national ID": p.national_id, "MRN": self.rng.choice(p.registrations)[1]}.get(kind)
        if text is not None:
            return lambda: self.search(doctor, text)
        if kind == "timeline, first page":
            return lambda: self.timeline(doctor, p.id)
        deep = self.rng.choice(list(self.deep_cursors))
        doctor = self.doctor_for(self._patient(deep))
        return lambda: self.timeline(doctor, deep, self.deep_cursors[deep])

    def _patient(self, patient_id: int) -> BenchPatient:
        return self.patients[patient_id - 1]

    async def prepare_deep_pages(self, count: int) -> None:
        """Walks the long records page by page (untimed) to get real cursors for page DEEP_PAGE."""
        long_records = [p for p in self.patients if p.entries > DEEP_PAGE * 50]
        for p in self.rng.sample(long_records, min(count, len(long_records))):
            doctor, cursor = self.doctor_for(p), None
            for _ in range(DEEP_PAGE - 1):
                async with unit_of_work(self.factory) as session:
                    cursor = (await service.timeline(session, doctor, p.id, limit=50, cursor=cursor)).next_cursor
            self.deep_cursors[p.id] = cursor

    async def run(self, kind: str, count: int) -> tuple[list[float], list[float]]:
        """Wall-clock and this process's CPU time per request, in ms. On a busy machine the CPU
        time is the steadier figure (for SQLite it includes the database engine itself)."""
        wall, cpu = [], []
        for _ in range(count):
            call = self.query(kind)
            started, started_cpu = time.perf_counter(), time.process_time()
            await call()
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        return wall, cpu


async def explain_all(bench: Bench) -> None:
    for kind in KINDS:
        log = StatementLog(bench.engine)
        with log:
            for _ in range(20):
                await bench.query(kind)()
        print(f"\n=== {kind}: per request {log.summary(20)}")
        await explain_slowest(bench.engine, log)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(engine_name: str, args: argparse.Namespace) -> dict:
    url, network, patients, build_seconds = await (reuse if args.reuse else build)(engine_name, args)
    print(f"[{engine_name}] {'reused' if args.reuse else 'built'} {len(patients):,} patients / "
          f"{args.entries:,} entries ({build_seconds:.0f} s)", flush=True)
    bench = Bench(url, network, patients)
    try:
        await bench.load_principals()
        await bench.prepare_deep_pages(100)
        results = {}
        for kind in KINDS:
            await bench.run(kind, args.warmup)
            timings, cpu = await bench.run(kind, args.queries)
            results[kind] = {"p50": percentile(timings, 0.5), "p95": percentile(timings, 0.95),
                             "mean": statistics.fmean(timings), "max": max(timings),
                             "cpu_p50": percentile(cpu, 0.5), "cpu_p95": percentile(cpu, 0.95)}
            r = results[kind]
            print(f"[{engine_name}] {kind:<30} p50 {r['p50']:6.1f} ms   p95 {r['p95']:6.1f} ms   "
                  f"(client CPU p50 {r['cpu_p50']:5.1f} ms, p95 {r['cpu_p95']:5.1f} ms)", flush=True)
        if args.explain:
            await explain_all(bench)
    finally:
        await bench.engine.dispose()
    return {"engine": engine_name, "build_seconds": build_seconds, "results": results}


def markdown(runs: list[dict], args: argparse.Namespace) -> str:
    lines = ["| query | " + " | ".join(f"{r['engine']} p50 | {r['engine']} p95 | CPU p50/p95" for r in runs) + " |",
             "|---|" + "---:|---:|---:|" * len(runs)]
    for kind in KINDS:
        cells = []
        for r in runs:
            res = r["results"][kind]
            mark = "" if res["p95"] < TARGET_P95_MS else " ✗"
            cpu = f"{res['cpu_p50']:.1f} / {res['cpu_p95']:.1f} ms"
            cells.append(f"{res['p50']:.1f} ms | {res['p95']:.1f} ms{mark} | {cpu}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    builds = ", ".join(f"{r['engine']} {r['build_seconds']:.0f} s" for r in runs)
    lines.append(f"\n{args.patients:,} patients, {args.entries:,} record entries; {args.queries} timed queries "
                 f"per kind after {args.warmup} warm-up; data generation {builds}.")
    return "\n".join(lines)


async def main() -> None:
    args = parse_args()
    runs = [await measure(name.strip(), args) for name in args.engines.split(",") if name.strip()]
    print()
    print(markdown(runs, args))
    await asyncio.to_thread(_write_json, Path(args.json), {"argv": sys.argv, "python": platform.python_version(),
                                                           "runs": runs})
    if any(r["results"][k]["p95"] >= TARGET_P95_MS for r in runs for k in KINDS):
        print(f"\nsome p95 >= {TARGET_P95_MS} ms", file=sys.stderr)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
