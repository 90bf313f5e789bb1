"""DICOM ingest, one object per association: what a modality that opens an association per image
(DX, CR, US, much PACS forwarding) costs each peer.

    .venv/bin/python bench/dicom_associations.py                     # 60 associations, 3 runs, every peer
    .venv/bin/python bench/dicom_associations.py --associations 20 --runs 1 --peers carebridge-sqlite

Per run and peer: a fresh server (as in dicom_ingest.py, whose peers and settings this reuses), then
DCMTK `storescu` (TCP_NODELAY=1, its default proposal of 128 presentation contexts) run once per
file, one after another, each sending one CT-like object over an association of its own. Reported:
associations per second (wall clock of the whole series, storescu's own start-up included) and the
server's CPU per association (receiving process and its children, from /proc), medians over runs,
interleaved, with the ratio against Orthanc. Each run checks that the peer holds every object."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from dicom_ingest import (
    BIG_ACCESSION,
    ROOT,
    TOOL_ENV,
    cpu_seconds,
    generate,
    remove,
    rotated,
    set_aside,
    start,
    stored_count,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--associations", type=int, default=60, help="objects, one association each")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peers", default="carebridge-sqlite,carebridge-postgresql,orthanc,storescp")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/bench_dicom")
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "bench" / "dicom_associations.json")
    args = parser.parse_args()
    args.quiet_seconds, args.latency_studies = 1.0, 0  # what dicom_ingest.start expects of its arguments
    return args


def measure(peer: str, files: list[Path], scratch: Path, args: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"{peer}-", dir=scratch))
    running = start(peer, workdir, args, [BIG_ACCESSION])
    try:
        cpu_before, started = cpu_seconds(running.measured_pid), time.perf_counter()
        for file in files:
            sent = subprocess.run(["storescu", "-aet", "BENCH", "-aec", running.ae, "127.0.0.1", str(running.port),
                                   str(file)], env=TOOL_ENV, capture_output=True, text=True, check=False)
            if sent.returncode != 0 or "E:" in sent.stdout + sent.stderr:
                raise SystemExit(f"storescu failed against {peer}:\n{(sent.stdout + sent.stderr)[-3000:]}")
        wall = time.perf_counter() - started
        cpu = cpu_seconds(running.measured_pid) - cpu_before
        if (count := stored_count(running)) != len(files):
            raise SystemExit(f"{peer} holds {count} instances after the run, not {len(files)}")
        return {"associations_per_s": len(files) / wall, "cpu_ms_per_association": cpu * 1000 / len(files)}
    finally:
        running.stop()
        set_aside(workdir)


def report(results: dict[str, list[dict]], args: argparse.Namespace) -> dict:
    medians = {peer: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
               for peer, runs in results.items()}
    print(f"\n{args.associations} associations of one CT object each, median of {args.runs} run(s)")
    print("| peer | associations/s | CPU ms/association | vs Orthanc | runs (associations/s) |")
    print("|---|---:|---:|---:|---|")
    orthanc = medians.get("orthanc", {}).get("associations_per_s", float("nan"))
    for peer, m in medians.items():
        ratio = m["associations_per_s"] / orthanc
        runs = ", ".join(f"{r['associations_per_s']:.1f}" for r in results[peer])
        print(f"| {peer} | {m['associations_per_s']:.1f} | {m['cpu_ms_per_association']:.1f} | {ratio:.2f}x | {runs} |")
    return {"medians": medians, "runs": results, "args": {k: str(v) for k, v in vars(args).items()}}


def main() -> None:
    args = parse_args()
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    scratch = Path(tempfile.mkdtemp(prefix="carebridge-dicom-associations-"))
    try:
        folders, _ = generate(scratch / "files", args.associations, BIG_ACCESSION, 1)
        files = sorted(folders[0].iterdir())
        results: dict[str, list[dict]] = {p: [] for p in peers}
        for run in range(args.runs):
            for peer in rotated(peers, run):  # interleaved: a busy moment on the machine hits every peer alike
                results[peer].append(measure(peer, files, scratch, args))
                r = results[peer][-1]
                print(f"run {run + 1} {peer}: {r['associations_per_s']:.1f} associations/s, "
                      f"{r['cpu_ms_per_association']:.1f} ms CPU each", flush=True)
        summary = report(results, args)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
    finally:
        remove(scratch)


if __name__ == "__main__":
    main()
