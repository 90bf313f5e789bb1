"""The reading worklist at a busy hub, on SQLite and PostgreSQL.

    .venv/bin/python bench/worklist.py                                   # both engines
    .venv/bin/python bench/worklist.py --engines sqlite --open 300 --done 3000 --runs 20

(a) Query times: a hub with `--open` orders waiting to be read (20 sending sites, 12 readers, all
    modalities and urgencies, some escalated, some claimed) and `--done` signed orders over the last
    30 days. Each request runs in its own transaction through the real services, as a web request
    does (the list writes its audit row): the first page (50 rows), a filtered page, page 5 reached
    with real cursors, the change stamp an open page polls, the turnaround dashboard for 30 days and
    one escalation sweep. Median and p95 of `--runs` runs after one warm-up.
(b) Study complete → visible: a real `carebridge serve` with its completion loop (poll 0.5 s,
    quiet period `--quiet` s) and a client that behaves like the open page (asks for the stamp every
    `CAREBRIDGE_DIAGNOSIS_WORKLIST_POLL_SECONDS`, default 1 s, fetches the list when it changed).
    A study's two images arrive; the time from the end of its quiet period (last image + quiet) to
    the client holding a list with the order in it, `--arrivals` times.

The PostgreSQL database is emptied first: the script refuses one whose name does not start with
`bench`. Everything stays on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("CAREBRIDGE_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")

import httpx  # noqa: E402
from alembic import command  # noqa: E402
from sqlalchemy import text  # noqa: E402

from carebridge.auth import service as auth  # noqa: E402
from carebridge.auth.models import Role, User  # noqa: E402
from carebridge.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from carebridge.demo.bulk import BulkWriter  # noqa: E402
from carebridge.diagnostics import reading_escalation, turnaround  # noqa: E402
from carebridge.diagnostics import worklist as wl  # noqa: E402
from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy  # noqa: E402
from carebridge.kit.clock import utcnow  # noqa: E402
from carebridge.migrations import alembic_config  # noqa: E402
from carebridge.network.models import Facility, Practitioner, RosterShift, ServiceOffering  # noqa: E402
from carebridge.records.models import Patient, PatientRegistration  # noqa: E402

MODALITIES = ["CT", "CT", "MR", "DX", "DX", "US", "ECG", "ECG", "SM"]
URGENCY = {"stat": 30, "urgent": 120, "routine": 1440}
PASSWORD = "bench-worklist-password"


async def _people(session) -> dict:  # noqa: ANN001
    hub = Facility(code="BW-HUB", name="基准市中心医院", name_en="Bench City Hospital", tier="city_hospital")
    sites = [Facility(code=f"BW-S{i:02d}", name=f"基准社区{i}", tier="community_center") for i in range(20)]
    session.add_all([hub, *sites])
    await session.flush()
    session.add_all(ServiceOffering(facility_id=hub.id, kind=k, open_to_all=True, active=True)
                    for k in ("imaging_reading", "ecg_reading", "pathology_reading"))
    readers = [await auth.create_user(session, username=f"bw.reader{i}", display_name=f"Reader {i}", password=PASSWORD,
                                      roles=[(Role.doctor, hub.id)]) for i in range(12)]
    now = utcnow()
    for i, reader in enumerate(readers[:3]):  # three of them on duty now: the on-call reader is one of them
        practitioner = Practitioner(user_id=reader.id, title="attending", license_no=f"BW-{reader.id}", languages=[])
        session.add(practitioner)
        await session.flush()
        session.add(RosterShift(practitioner_id=practitioner.id, facility_id=hub.id,
                                starts_at=now - dt.timedelta(hours=2 + i), ends_at=now + dt.timedelta(hours=6)))
    senders = [await auth.create_user(session, username=f"bw.sender{i}", display_name=f"Sender {i}",
                                      password=PASSWORD, roles=[(Role.doctor, s.id)]) for i, s in enumerate(sites)]
    return {"hub": hub, "sites": sites, "readers": readers, "senders": senders}


def _order_row(oid: int, pid: int, site: int, sender: int, hub: int, complete: dt.datetime, urgency: str,
               rng: random.Random) -> dict:
    return {"id": oid, "patient_id": pid, "requesting_facility_id": site, "requesting_user_id": sender,
            "hub_facility_id": hub, "modality": rng.choice(MODALITIES), "body_part": rng.choice(["HEAD", "CHEST", ""]),
            "clinical_question": "bench", "urgency": urgency, "frozen_section": False, "two_step": False,
            "accession_number": f"BW{oid:012d}", "state": "ready", "created_at": complete, "updated_at": complete,
            "study_complete_at": complete, "due_at": complete + dt.timedelta(minutes=URGENCY[urgency]), "version": 2}


async def _fill(url: str, n_open: int, n_done: int) -> dict:
    engine = make_engine(url)
    rng, now = random.Random(4), utcnow()
    async with unit_of_work(make_sessionmaker(engine)) as session:
        people = await _people(session)
        bulk = BulkWriter(session)
        total = n_open + n_done
        pids, oids = await bulk.ids(Patient.__table__, total), await bulk.ids(DiagnosisOrder.__table__, total)
        await bulk.insert(Patient.__table__, [
            {"id": p, "name": f"患者{p}", "name_en": "", "sex": rng.choice(["male", "female"]), "phone": "",
             "birth_date": dt.date(1940 + p % 60, 1 + p % 12, 1 + p % 28), "address": "", "created_at": now}
            for p in pids])
        sites, readers = people["sites"], [r.id for r in people["readers"]]
        registrations, orders, studies = [], [], []
        for i, (pid, oid) in enumerate(zip(pids, oids, strict=True)):
            s = i % len(sites)
            registrations.append({"patient_id": pid, "facility_id": sites[s].id, "mrn": f"BW{pid}"})
            urgency = rng.choice(["stat", "urgent", "routine", "routine"])
            if i < n_open:
                complete = now - dt.timedelta(minutes=rng.uniform(0, URGENCY[urgency] * 1.1))
            else:
                complete = now - dt.timedelta(days=rng.uniform(0, 29.5))
            row = _order_row(oid, pid, sites[s].id, people["senders"][s].id, people["hub"].id, complete, urgency, rng)
            row["assigned_reader_id"] = rng.choice(readers)
            if i >= n_open:
                started = complete + dt.timedelta(minutes=rng.uniform(1, URGENCY[urgency] * 0.6))
                row |= {"state": "reported", "read_started_at": started, "claimed_by_id": row["assigned_reader_id"],
                        "final_reader_id": row["assigned_reader_id"],
                        "signed_at": started + dt.timedelta(minutes=rng.uniform(2, URGENCY[urgency] * 0.7))}
            elif rng.random() < 0.1:
                row |= {"claimed_by_id": row["assigned_reader_id"], "claimed_until": now + dt.timedelta(minutes=10),
                        "read_started_at": now - dt.timedelta(minutes=2)}
            orders.append(row)
            studies.append({"kind": "imaging", "order_id": oid, "sending_facility_id": sites[s].id,
                            "hub_facility_id": people["hub"].id, "patient_id": pid, "sent_patient_key": "",
                            "sent_patient_name": "", "accession_number": row["accession_number"],
                            "study_uid": f"2.25.{oid}", "modality": row["modality"], "description": "",
                            "acquired_at": complete - dt.timedelta(minutes=rng.uniform(2, 30)),
                            "first_received_at": complete, "last_received_at": complete, "completed_at": complete,
                            "item_count": 1, "byte_count": 1, "note": ""})
        await bulk.insert(PatientRegistration.__table__, registrations)
        await bulk.insert(DiagnosisOrder.__table__, orders)
        await bulk.insert(DiagnosticStudy.__table__, studies)
        await bulk.finish()
        ids = {"hub": people["hub"].id, "reader": people["readers"][0].id}
    if url.startswith("postgresql"):
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    return ids


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


async def _cursor_of_page(session, principal, page: int) -> str | None:  # noqa: ANN001
    cursor = None
    for _ in range(page - 1):
        cursor = (await wl.worklist(session, principal, wl.make_filters(), cursor)).next_cursor
    return cursor


async def _time_queries(url: str, ids: dict, runs: int) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        reader = await auth.load_principal(session, await session.get(User, ids["reader"]), via="token")
        page5 = await _cursor_of_page(session, reader, 5)
        await session.rollback()
    checks = [
        ("worklist, first page (50)", lambda s: wl.worklist(s, reader, wl.make_filters())),
        ("worklist, CT assigned to me", lambda s: wl.worklist(s, reader, wl.make_filters(modality="CT", mine="me"))),
        ("worklist, page 5 by cursor", lambda s: wl.worklist(s, reader, wl.make_filters(), page5)),
        ("change stamp (polled by open pages)", lambda s: wl.worklist_stamp(s, reader)),
        ("turnaround, 30 days", lambda s: turnaround.turnaround(s, reader, turnaround.make_period())),
        ("escalation + breach sweep", lambda s: reading_escalation.sweep(s, utcnow())),
    ]
    for name, call in checks:
        times = []
        # A full sweep pass is seconds of work at this size (every at-risk order at once): fewer runs.
        for i in range((min(runs, 5) if "sweep" in name else runs) + 1):
            async with sessions() as session:  # rolled back: the sweep finds the same work every run
                started = time.perf_counter()
                result = await call(session)
                await session.flush()
                if i:
                    times.append((time.perf_counter() - started) * 1000)
                await session.rollback()
        did = f"  ({result} escalations and breaches per pass)" if isinstance(result, int) else ""
        print(f"  {name:38s} median {statistics.median(times):7.1f} ms  p95 {_p95(times):7.1f} ms{did}")
    await engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _arrive(sessions, ids: dict, n: int) -> tuple[int, dt.datetime]:  # noqa: ANN001
    """An order from a site and its two images, as the DICOM listener would index them."""
    from carebridge.diagnostics import service, studies

    async with unit_of_work(sessions) as session:
        sender = await auth.load_principal(session, await session.get(User, ids["sender"]), via="token")
        order = await service.order_diagnosis(session, sender, service.OrderRequest(
            patient_id=ids["patient"], modality="CT", urgency="stat", clinical_question="bench arrival"))
        for _ in range(2):
            study = await studies.receive_item(session, studies.Arrival(
                study_uid=f"2.25.5{n:06d}", sending_facility_id=ids["site"], hub_facility_id=ids["hub"],
                modality="CT", accession_number=order.accession_number, size_bytes=1000))
        return order.id, study.last_received_at


async def _watch(client: httpx.AsyncClient, headers: dict, poll: float, seen: dict, stop: asyncio.Event) -> None:
    """What the open page does: the stamp every `poll` seconds, the list when it changed."""
    stamp = None
    while not stop.is_set():
        got = (await client.get("/api/v1/diagnosis/worklist/stamp", headers=headers)).json()["stamp"]
        if got != stamp:
            stamp = got
            rows = (await client.get("/api/v1/diagnosis/worklist", headers=headers)).json()["rows"]
            now = utcnow()
            for row in rows:
                seen.setdefault(row["order_id"], now)
        await asyncio.sleep(poll)


async def _visible(url: str, work: Path, arrivals: int, quiet: float) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    async with unit_of_work(sessions) as session:
        people = await _people(session)
        site, sender = people["sites"][0], people["senders"][0]
        patient = Patient(name="延迟测试", sex="female", birth_date=dt.date(1960, 1, 1))
        session.add(patient)
        await session.flush()
        session.add(PatientRegistration(patient_id=patient.id, facility_id=site.id, mrn="BW-LAT"))
        from carebridge.access.models import Consent
        session.add(Consent(patient_id=patient.id, status="granted", recorded_by_id=sender.id, facility_id=site.id))
        secret, _ = await auth.create_api_token(
            session, await auth.load_principal(session, people["readers"][0], via="token"), "bench")
        ids = {"hub": people["hub"].id, "site": site.id, "sender": sender.id, "patient": patient.id}
    port, poll = _free_port(), float(os.environ.get("CAREBRIDGE_DIAGNOSIS_WORKLIST_POLL_SECONDS", "1"))
    env = {**os.environ, "CAREBRIDGE_DATABASE_URL": url, "CAREBRIDGE_DATA_DIR": str(work),
           "CAREBRIDGE_DIAGNOSIS_COMPLETION_POLL_SECONDS": "0.5", "CAREBRIDGE_DIAGNOSIS_QUIET_SECONDS": str(quiet)}
    log = (work / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "carebridge", "serve", "--host", "127.0.0.1", "--port",  # noqa: ASYNC220
                               str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(100):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.2)
            seen, stop, lags = {}, asyncio.Event(), []
            watcher = asyncio.create_task(_watch(client, {"Authorization": f"Bearer {secret}"}, poll, seen, stop))
            for n in range(arrivals):
                order_id, last = await _arrive(sessions, ids, n)
                deadline = time.monotonic() + quiet + 15
                while order_id not in seen and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a dict
                    await asyncio.sleep(0.02)
                lags.append((seen[order_id] - (last + dt.timedelta(seconds=quiet))).total_seconds())
                await asyncio.sleep(random.uniform(0, 1))  # arrivals out of step with the loops
            stop.set()
            await watcher
        print(f"  complete → visible (after the {quiet:g} s quiet period, page poll {poll:g} s): "
              f"median {statistics.median(lags):.2f} s  p95 {_p95(lags):.2f} s  max {max(lags):.2f} s  "
              f"(n={len(lags)})")
    finally:
        server.terminate()
        server.wait(timeout=15)
        await engine.dispose()


async def _fresh_pg(url: str) -> str:
    name = url.rsplit("/", 1)[-1]
    if not name.startswith("bench"):
        raise SystemExit(f"refusing to empty database {name!r}: use one named bench*")
    admin = make_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return url


async def _database(engine_name: str, work: Path, pg_url: str, label: str) -> str:
    if engine_name == "sqlite":
        (work / f"{label}.db").unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{work / f'{label}.db'}"
    else:
        url = await _fresh_pg(pg_url.replace("postgresql://", "postgresql+asyncpg://", 1) + f"_{label}")
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    return url


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=1000, help="orders waiting on the worklist")
    parser.add_argument("--done", type=int, default=20_000, help="signed orders in the last 30 days")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--arrivals", type=int, default=40)
    parser.add_argument("--quiet", type=float, default=2.0, help="the completion quiet period, seconds")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/bench_worklist")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-worklist-"))
    os.environ.setdefault("CAREBRIDGE_DATA_DIR", str(work))
    for engine_name in args.engines.split(","):
        url = await _database(engine_name, work, args.pg_url, "queries")
        started = time.perf_counter()
        ids = await _fill(url, args.open, args.done)
        print(f"{engine_name}: {args.open} open and {args.done} signed orders, filled in "
              f"{time.perf_counter() - started:.0f} s")
        await _time_queries(url, ids, args.runs)
        await _visible(await _database(engine_name, work, args.pg_url, "live"), work, args.arrivals, args.quiet)


if __name__ == "__main__":
    asyncio.run(main())
