"""DICOM ingest: CT-like instances sent with DCMTK storescu into CareBridge, Orthanc and storescp.

    .venv/bin/python bench/dicom_ingest.py                        # 500 instances, 3 runs, every peer
    .venv/bin/python bench/dicom_ingest.py --instances 100 --runs 1 --peers carebridge-sqlite   # quick

Per run and peer: a fresh server process on 127.0.0.1 (fresh database and storage), then `storescu`
(TCP_NODELAY=1) sends the same N files (512 x 512, 16-bit, Explicit VR Little Endian, ~525 kB each)
over `--associations` parallel associations. Reported: instances/s and MB/s (wall clock from the
first storescu start to the last exit), server CPU per instance (utime + stime of the receiving
process and its child processes from /proc), the median over runs, and ratios against Orthanc and
storescp. Each run checks that the peer really holds N instances afterwards.

CareBridge runs as `carebridge serve` (granian + the DICOM listener in its child process, which
starts one worker process per further core; the CPU measured is the listener's and its workers'),
indexes each instance, matches the study to its order, and acknowledges only after the commit. After
the quiet period the order must show on the worklist: measured from the last acknowledgement + quiet
period until GET /api/v1/diagnosis/orders/{id} says `ready` (p50/p95 over `--latency-studies` small
studies per engine).

Orthanc (Debian 1.10): temporary configuration, SQLite index, StorageCompression false, no plugins,
StorageAccessOnFind Never, SaveJobs false, KeepAlive and TcpNoDelay, TCP_NODELAY=1 in its
environment; HTTP and DICOM on free ports (its DICOM server binds all interfaces, RemoteAccessAllowed
is false and only 127.0.0.1 is used). `orthanc-postgresql` is the same Orthanc with the PostgreSQL
index plugin (Debian orthanc-postgresql 4.0) on the server of `--pg-url`, in a database of its own
created afresh for each run, one index connection per association: the peer to compare CareBridge
on PostgreSQL with ("vs Orthanc, same database"). storescp writes files only. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]
SECRET = "bench-dicom-ingest-secret-key-0123456789-abcdefghij"
os.environ.update({"CAREBRIDGE_SECRET_KEY": SECRET, "CAREBRIDGE_ARGON2_TIME_COST": "1",
                   "CAREBRIDGE_ARGON2_MEMORY_KIB": "8", "PYTHONPATH": str(ROOT / "src")})
TOOL_ENV = {**os.environ, "TCP_NODELAY": "1"}
DISK_RESERVE_BYTES = 10 << 30  # below this, set_aside deletes a finished peer's files
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BIG_ACCESSION = "BENCHSTUDY"
ORTHANC_PG_PLUGIN = "/usr/lib/orthanc/libOrthancPostgreSQLIndex.so.4.0"  # Debian package orthanc-postgresql


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--associations", type=int, default=1, help="parallel storescu processes")
    parser.add_argument("--peers",
                        default="carebridge-sqlite,carebridge-postgresql,orthanc,orthanc-postgresql,storescp")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/bench_dicom")
    parser.add_argument("--latency-studies", type=int, default=20)
    parser.add_argument("--quiet-seconds", type=float, default=1.0)
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "bench" / "dicom_ingest.json")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and of its live children (the DICOM listener's worker processes)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:  # a child that exited meanwhile
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)
    return own + sum(cpu_seconds(int(child)) for child in children)


def echo(port: int, called: str, calling: str = "BENCH") -> bool:
    return subprocess.run(["echoscu", "-aet", calling, "-aec", called, "127.0.0.1", str(port)], env=TOOL_ENV,
                          capture_output=True).returncode == 0


def wait_for_echo(port: int, called: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{called} exited early:\n{log.read_text()[-3000:]}")
        if echo(port, called):
            return
        time.sleep(0.2)
    raise SystemExit(f"{called} did not answer C-ECHO:\n{log.read_text()[-3000:]}")


def generate(directory: Path, count: int, accession: str, associations: int) -> tuple[list[Path], int]:
    """N files split over one folder per association; returns the folders and the total bytes."""
    from dicom_world import MRN

    from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_series

    folders = [directory / f"a{i}" for i in range(associations)]
    for folder in folders:
        folder.mkdir(parents=True)
    total = 0
    spec = SeriesSpec(count=count, accession_number=accession, patient_id=MRN, patient_name="BENCH^PATIENT")
    for i, data in enumerate(ct_series(spec)):
        (folders[i % associations] / f"ct{i:04d}.dcm").write_bytes(data)
        total += len(data)
    return folders, total


def send(port: int, called: str, folders: list[Path]) -> float:
    """All folders at once, one storescu (one association) each; seconds until the last one exits."""
    started = time.perf_counter()
    senders = [subprocess.Popen(["storescu", "-aet", "BENCH", "-aec", called, "127.0.0.1", str(port), "+sd",
                                 str(folder)], env=TOOL_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
               for folder in folders]
    outputs = [s.communicate()[0].decode(errors="replace") for s in senders]
    elapsed = time.perf_counter() - started
    for sender, out in zip(senders, outputs, strict=True):
        if sender.returncode != 0 or "E:" in out:
            raise SystemExit(f"storescu failed against {called}:\n{out[-3000:]}")
    return elapsed


@dataclass
class Running:
    name: str
    ae: str
    port: int
    measured_pid: int
    process: subprocess.Popen
    workdir: Path

    def stop(self) -> None:
        """The whole process group: granian's workers and the DICOM child too."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# --- peers ---------------------------------------------------------------------------------

def start_storescp(workdir: Path) -> Running:
    port, out = free_port(), workdir / "files"
    out.mkdir()
    log = workdir / "storescp.log"
    process = subprocess.Popen(["storescp", "-aet", "STORESCP", "-od", str(out), str(port)], env=TOOL_ENV,
                               stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_echo(port, "STORESCP", process, log)
    return Running("storescp", "STORESCP", port, process.pid, process, workdir)


def start_orthanc(workdir: Path, pg_url: str | None = None, connections: int = 1) -> Running:
    """Orthanc with its default SQLite index, or with the PostgreSQL index plugin (`pg_url`: the
    database is created afresh for the run; the files stay in its storage directory)."""
    port, http = free_port(), free_port()
    config = {"Name": "bench", "StorageDirectory": str(workdir / "storage"), "IndexDirectory": str(workdir / "index"),
              "StorageCompression": False, "HttpServerEnabled": True, "HttpPort": http, "RemoteAccessAllowed": False,
              "AuthenticationEnabled": False, "OrthancExplorerEnabled": False, "WebDavEnabled": False,
              "DicomServerEnabled": True, "DicomAet": "ORTHANC", "DicomPort": port, "DicomCheckCalledAet": False,
              "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowStore": True, "Plugins": [], "LuaScripts": [],
              "SaveJobs": False, "StorageAccessOnFind": "Never", "KeepAlive": True, "TcpNoDelay": True}
    if pg_url is not None:
        config["Plugins"] = [ORTHANC_PG_PLUGIN]
        config["PostgreSQL"] = _orthanc_postgresql(pg_url, connections)
    (workdir / "orthanc.json").write_text(json.dumps(config))
    log = workdir / "orthanc.log"
    process = subprocess.Popen(["Orthanc", str(workdir / "orthanc.json")], env=TOOL_ENV, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_echo(port, "ORTHANC", process, log)
    running = Running("orthanc" if pg_url is None else "orthanc-postgresql", "ORTHANC", port, process.pid,
                      process, workdir)
    running.http = http
    return running


def _orthanc_postgresql(pg_url: str, connections: int) -> dict:
    """A fresh database next to CareBridge's (same server), one index connection per association
    (plugin 4.0's IndexConnectionsCount: parallel writers), no advisory lock (one Orthanc)."""
    from urllib.parse import urlsplit

    url = urlsplit(pg_url)
    database = f"{url.path.lstrip('/')}_orthanc"
    if not database.startswith("bench"):  # it is dropped: never a database of someone's
        raise SystemExit(f"refusing to drop {database!r}: --pg-url must name a database starting with 'bench'")
    maintenance = url._replace(path="/postgres").geturl()
    for statement in (f'DROP DATABASE IF EXISTS "{database}"', f'CREATE DATABASE "{database}"'):
        subprocess.run(["psql", maintenance, "-q", "-c", statement], check=True, capture_output=True)
    return {"EnableIndex": True, "EnableStorage": False, "Host": url.hostname, "Port": url.port or 5432,
            "Database": database, "Username": url.username or "postgres", "Password": url.password or "",
            "Lock": False, "EnableSsl": False, "IndexConnectionsCount": connections}


def start_carebridge(workdir: Path, engine: str, pg_url: str, quiet: float, accessions: list[str]) -> Running:
    from dicom_world import arrange

    url = (f"sqlite+aiosqlite:///{workdir / 'carebridge.db'}" if engine == "sqlite"
           else pg_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    world = asyncio.run(arrange(url, accessions))
    port, http = free_port(), free_port()
    env = {**os.environ, "CAREBRIDGE_DATABASE_URL": url, "CAREBRIDGE_DATA_DIR": str(workdir),
           "CAREBRIDGE_BLOB_DIR": str(workdir / "blobs"), "CAREBRIDGE_DICOM_PORT": str(port),
           "CAREBRIDGE_DICOM_ENABLED": "true", "CAREBRIDGE_DIAGNOSIS_QUIET_SECONDS": str(quiet)}
    log = workdir / "carebridge.log"
    process = subprocess.Popen([sys.executable, "-m", "carebridge", "serve", "--host", "127.0.0.1", "--port",
                                str(http)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=workdir,
                               start_new_session=True)
    wait_for_echo(port, "CAREBRIDGE", process, log)
    _wait_for_http(http, process, log)
    running = Running(f"carebridge-{engine}", "CAREBRIDGE", port, _dicom_child(process.pid), process, workdir)
    running.http, running.world, running.url = http, world, url
    return running


def _wait_for_http(port: int, process: subprocess.Popen, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"carebridge serve exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"carebridge serve did not answer HTTP:\n{log.read_text()[-3000:]}")


def _dicom_child(serve_pid: int) -> int:
    for child in Path(f"/proc/{serve_pid}/task/{serve_pid}/children").read_text().split():
        if b"dicom" in Path(f"/proc/{child}/cmdline").read_bytes():
            return int(child)
    raise SystemExit("carebridge serve started no DICOM listener child")


# --- checks and the worklist ------------------------------------------------------------------

def stored_count(running: Running) -> int:
    if running.name == "storescp":
        return sum(1 for _ in (running.workdir / "files").iterdir())
    if running.name.startswith("orthanc"):
        import httpx

        return httpx.get(f"http://127.0.0.1:{running.http}/statistics").json()["CountInstances"]
    return asyncio.run(_count_instances(running.url))


async def _count_instances(url: str) -> int:
    from sqlalchemy import text

    from carebridge.db import make_engine

    engine = make_engine(url)
    async with engine.connect() as conn:
        count = await conn.scalar(text("SELECT count(*) FROM dicom_instances"))
    await engine.dispose()
    return count


def wait_ready(running: Running, accession: str, acked_at: float, quiet: float) -> float:
    """Seconds from (last acknowledgement + quiet period) until the order reads `ready`."""
    import httpx

    order_id = running.world.order_ids[accession]
    headers = {"Authorization": f"Bearer {running.world.token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{running.http}", headers=headers) as client:
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            if client.get(f"/api/v1/diagnosis/orders/{order_id}").json()["state"] == "ready":
                return time.perf_counter() - acked_at - quiet
            time.sleep(0.02)
    raise SystemExit(f"order {order_id} never became ready")


def latency_series(running: Running, workdir: Path, studies: int, quiet: float) -> list[float]:
    from dicom_world import MRN

    from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_series

    values = []
    for i in range(studies):
        folder = workdir / f"lat{i}"
        folder.mkdir()
        for j, data in enumerate(ct_series(SeriesSpec(count=3, accession_number=f"LAT{i:04d}", patient_id=MRN))):
            (folder / f"ct{j}.dcm").write_bytes(data)
        send(running.port, running.ae, [folder])
        values.append(wait_ready(running, f"LAT{i:04d}", time.perf_counter(), quiet))
    return values


# --- the run ------------------------------------------------------------------------------------

def start(peer: str, workdir: Path, args: argparse.Namespace, accessions: list[str]) -> Running:
    if peer == "storescp":
        return start_storescp(workdir)
    if peer == "orthanc":
        return start_orthanc(workdir)
    if peer == "orthanc-postgresql":
        return start_orthanc(workdir, args.pg_url, args.associations)
    return start_carebridge(workdir, peer.removeprefix("carebridge-"), args.pg_url, args.quiet_seconds, accessions)


def set_aside(workdir: Path) -> None:
    """A peer's files stay until the bench ends (the scratch folder goes then), written out before the
    next peer starts. Deleted at once, they made the next peer pay for them: ext4 without a journal
    (these machines) passes over every inode freed in the last minute (five minutes while its table
    block is unwritten) when it allocates one (`recently_deleted`: 13 % of CareBridge's CPU and 25 %
    of Orthanc's in `perf` after a predecessor's deletion). And unsynced, the predecessor's writeback
    competes with the next run. With the peers in a fixed order, both fell on the same peer in every
    run. Only when the disk runs short are the files deleted after all."""
    os.sync()
    if shutil.disk_usage(workdir).free < DISK_RESERVE_BYTES:
        remove(workdir)


def remove(folder: Path) -> None:
    """Deleted and the deletion written out: whatever runs next pays for the freed inodes (set_aside)
    during one minute instead of five."""
    shutil.rmtree(folder, ignore_errors=True)
    os.sync()


def rotated(peers: list[str], run: int) -> list[str]:
    """Run k starts at the k-th peer, so no peer always follows the same one."""
    shift = run % len(peers)
    return peers[shift:] + peers[:shift]


def measure(peer: str, folders: list[Path], total_bytes: int, scratch: Path, args: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"{peer}-", dir=scratch))
    accessions = [BIG_ACCESSION] + [f"LAT{i:04d}" for i in range(args.latency_studies)]
    running = start(peer, workdir, args, accessions)
    try:
        cpu_before = cpu_seconds(running.measured_pid)
        wall = send(running.port, running.ae, folders)
        cpu = cpu_seconds(running.measured_pid) - cpu_before
        acked = time.perf_counter()
        result = {"instances_per_s": args.instances / wall, "mb_per_s": total_bytes / wall / 1e6,
                  "cpu_ms_per_instance": cpu * 1000 / args.instances, "wall_s": wall}
        if (count := stored_count(running)) != args.instances:
            raise SystemExit(f"{peer} holds {count} instances after the run, not {args.instances}")
        if peer.startswith("carebridge"):
            result["big_study_ready_s"] = wait_ready(running, BIG_ACCESSION, acked, args.quiet_seconds)
        return result
    finally:
        running.stop()
        set_aside(workdir)


def worklist_latency(peer: str, scratch: Path, args: argparse.Namespace) -> list[float]:
    workdir = Path(tempfile.mkdtemp(prefix=f"{peer}-latency-", dir=scratch))
    running = start(peer, workdir, args, [BIG_ACCESSION] + [f"LAT{i:04d}" for i in range(args.latency_studies)])
    try:
        return latency_series(running, workdir, args.latency_studies, args.quiet_seconds)
    finally:
        running.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))]


def report(results: dict[str, list[dict]], latency: dict[str, list[float]], args: argparse.Namespace) -> dict:
    medians = {peer: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
               for peer, runs in results.items()}
    print(f"\n{args.instances} CT instances (512x512, 16-bit), {args.associations} association(s), "
          f"median of {args.runs} run(s); load {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| peer | instances/s | MB/s | CPU ms/instance | vs Orthanc | vs Orthanc, same database | vs storescp "
          "| runs (instances/s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for peer, m in medians.items():
        same_database = "orthanc-postgresql" if peer.endswith("postgresql") else "orthanc"
        ratio = {ref: m["instances_per_s"] / medians[ref]["instances_per_s"] if ref in medians else float("nan")
                 for ref in ("orthanc", same_database, "storescp")}
        runs = ", ".join(f"{r['instances_per_s']:.0f}" for r in results[peer])
        print(f"| {peer} | {m['instances_per_s']:.0f} | {m['mb_per_s']:.1f} | {m['cpu_ms_per_instance']:.2f} | "
              f"{ratio['orthanc']:.2f}x | {ratio[same_database]:.2f}x | {ratio['storescp']:.2f}x | {runs} |")
    for peer, values in latency.items():
        print(f"{peer}: study complete -> ready on the worklist, after the {args.quiet_seconds:g} s quiet period: "
              f"p50 {percentile(values, 50) * 1000:.0f} ms, p95 {percentile(values, 95) * 1000:.0f} ms, "
              f"max {max(values) * 1000:.0f} ms (n={len(values)})")
    return {"medians": medians, "runs": results, "latency_s": latency,
            "args": {k: str(v) for k, v in vars(args).items()},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()}}


def main() -> None:
    args = parse_args()
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    missing = [tool for tool in ("storescu", "echoscu", "storescp", "Orthanc") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing: {', '.join(missing)} (apt-get install dcmtk orthanc)")
    if "orthanc-postgresql" in peers and not Path(ORTHANC_PG_PLUGIN).exists():
        raise SystemExit(f"missing: {ORTHANC_PG_PLUGIN} (apt-get install orthanc-postgresql)")
    scratch = Path(tempfile.mkdtemp(prefix="carebridge-dicom-bench-"))
    try:
        folders, total = generate(scratch / "files", args.instances, BIG_ACCESSION, args.associations)
        print(f"generated {args.instances} files, {total / 1e6:.0f} MB in {scratch}")
        results: dict[str, list[dict]] = {p: [] for p in peers}
        for run in range(args.runs):
            for peer in rotated(peers, run):  # interleaved: a busy moment on the machine hits every peer alike
                results[peer].append(measure(peer, folders, total, scratch, args))
                r = results[peer][-1]
                print(f"run {run + 1} {peer}: {r['instances_per_s']:.0f}/s {r['mb_per_s']:.1f} MB/s "
                      f"{r['cpu_ms_per_instance']:.2f} ms CPU" + (
                          f", ready {r['big_study_ready_s'] * 1000:.0f} ms after quiet" if "big_study_ready_s" in r
                          else ""), flush=True)
        latency = {p: worklist_latency(p, scratch, args) for p in peers
                   if p.startswith("carebridge") and args.latency_studies}
        summary = report(results, latency, args)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
    finally:
        remove(scratch)


if __name__ == "__main__":
    main()
