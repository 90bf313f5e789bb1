"""R-peak detection against the MIT-BIH Arrhythmia Database reference annotations, speed as a
multiple of real time, and the automatic pre-read's atrial-fibrillation flag on labelled records.

    .venv/bin/python bench/ecg.py                                   # records in /work/shared/data/mitdb-dev
    .venv/bin/python bench/ecg.py /data/mitdb --af-dir /data/cinc2017 --af-windows

Nothing is fetched: the records must already be on disk (bench/README.md says where they come
from). Scoring follows ANSI/AAMI EC57 beat-by-beat matching as PhysioNet's `bxb` does it: only
beat annotations count as beats, a detection matches a reference beat within 150 ms (one to one),
and beats in the first and last second are left out (a detector cannot see a whole QRS there)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("CAREBRIDGE_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")

import numpy as np  # noqa: E402
import wfdb  # noqa: E402
from wfdb import processing  # noqa: E402

from carebridge.diagnostics.ecg import beats, preread, qrs, quality, read_wfdb  # noqa: E402
from carebridge.diagnostics.ecg.tracing import build  # noqa: E402

# PhysioNet's beat annotation codes (ecgpuwave/bxb "isqrs"): everything else is a rhythm, noise or comment mark.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
DEFAULT_MITDB = Path("/work/shared/data/mitdb-dev")
DEFAULT_AF = Path("/work/shared/data/cinc2017-dev")


def reference_beats(annotation: wfdb.Annotation) -> np.ndarray:
    return np.array([s for s, sym in zip(annotation.sample, annotation.symbol, strict=True) if sym in BEAT_SYMBOLS],
                    dtype=np.int64)


def score(ref: np.ndarray, found: np.ndarray, fs: float, n: int, skip_s: float, window_s: float) -> tuple[int, ...]:
    lo, hi = int(skip_s * fs), n - int(skip_s * fs)
    ref, found = ref[(ref >= lo) & (ref < hi)], found[(found >= lo) & (found < hi)]
    matched = processing.compare_annotations(ref, found, int(round(window_s * fs)))
    return int(matched.tp), int(matched.fp), int(matched.fn)


def detect(record: wfdb.Record, lead: str) -> tuple[np.ndarray, float]:
    """Our detector on the chosen lead ("MLII" by default, as published results use), or on all
    leads through the product's multi-lead path."""
    started = time.perf_counter()
    if lead == "all":
        signal = record.p_signal
        checked = quality.assess(signal, record.fs, tuple(record.sig_name))
        found = beats.detect(signal, record.fs, checked.usable, [q.noisy for q in checked.leads],
                             tuple(record.sig_name))
    else:
        channel = record.sig_name.index(lead) if lead in record.sig_name else 0
        found = qrs.detect_r_peaks(record.p_signal[:, channel], record.fs)
    return found, time.perf_counter() - started


def peer_xqrs(record: wfdb.Record, lead: str) -> tuple[np.ndarray, float]:
    channel = record.sig_name.index(lead) if lead in record.sig_name else 0
    started = time.perf_counter()
    detector = processing.XQRS(sig=record.p_signal[:, channel], fs=record.fs)
    detector.detect(verbose=False)
    return np.asarray(detector.qrs_inds, dtype=np.int64), time.perf_counter() - started


def run_detection(folder: Path, names: list[str], args: argparse.Namespace) -> dict:
    detectors = {"carebridge": lambda r: detect(r, args.lead)}
    if args.peer:
        detectors["wfdb XQRS"] = lambda r: peer_xqrs(r, args.lead if args.lead != "all" else "MLII")
    totals = {name: {"tp": 0, "fp": 0, "fn": 0, "seconds": 0.0, "signal_s": 0.0} for name in detectors}
    rows = []
    for name in names:
        record = wfdb.rdrecord(str(folder / name))
        ref = reference_beats(wfdb.rdann(str(folder / name), "atr"))
        row = {"record": name, "beats": None}
        for label, run in detectors.items():
            found, seconds = run(record)
            tp, fp, fn = score(ref, found, record.fs, record.sig_len, args.skip, args.window)
            row["beats"] = tp + fn
            row[label] = {"tp": tp, "fp": fp, "fn": fn, "se": pct(tp, tp + fn), "pp": pct(tp, tp + fp),
                          "x_real_time": record.sig_len / record.fs / seconds}
            for key, value in (("tp", tp), ("fp", fp), ("fn", fn), ("seconds", seconds),
                               ("signal_s", record.sig_len / record.fs)):
                totals[label][key] += value
        rows.append(row)
        print(" ".join([f"{name:>5} beats {row['beats']:5d}"] + [
            f"| {label}: FN {row[label]['fn']:3d} FP {row[label]['fp']:3d} Se {row[label]['se']:6.2f} "
            f"+P {row[label]['pp']:6.2f} {row[label]['x_real_time']:7.0f}x" for label in detectors]), flush=True)
    for total in totals.values():
        total["se"] = pct(total["tp"], total["tp"] + total["fn"])
        total["pp"] = pct(total["tp"], total["tp"] + total["fp"])
        total["x_real_time"] = total["signal_s"] / total["seconds"]
    return {"records": rows, "gross": totals}


def pct(a: int, b: int) -> float:
    return 100.0 * a / b if b else float("nan")


def run_af(folder: Path) -> dict:
    labels = dict(csv.reader((folder / "labels.csv").open()))
    counts = {"tp": 0, "fn": 0, "tn": 0, "fp": 0}
    rows = []
    for name, label in sorted(labels.items()):
        files = [read_wfdb.NamedFile(p.name, p.read_bytes()) for p in sorted(folder.glob(f"{name}.*"))]
        result = preread.preread(read_wfdb.read(files, 10**8))
        flagged = "suspected_af" in result["flags"]
        key = ("tp" if flagged else "fn") if label == "A" else ("fp" if flagged else "tn")
        counts[key] += 1
        rows.append({"record": name, "label": label, "flagged": flagged, **result["rhythm"]})
        print(f"{name} label {label} flagged {'AF' if flagged else '--'} {result['rhythm']}", flush=True)
    return {"records": rows, **counts, "sensitivity": pct(counts["tp"], counts["tp"] + counts["fn"]),
            "specificity": pct(counts["tn"], counts["tn"] + counts["fp"])}


def run_af_windows(folder: Path, names: list[str], seconds: int) -> dict:
    """30-s windows of the MIT-BIH records, labelled AF when wholly inside an (AFIB rhythm episode
    and not AF when wholly outside one (windows across a change are left out)."""
    counts = {"tp": 0, "fn": 0, "tn": 0, "fp": 0}
    for name in names:
        record = wfdb.rdrecord(str(folder / name))
        in_af = _af_mask(wfdb.rdann(str(folder / name), "atr"), record.sig_len)
        width = int(seconds * record.fs)
        for start in range(0, record.sig_len - width, width):
            share = in_af[start:start + width].mean()
            if 0 < share < 1:
                continue
            part = build(list(record.sig_name), [record.p_signal[start:start + width, k]
                                                 for k in range(record.n_sig)], record.fs, "wfdb")
            flagged = "suspected_af" in preread.preread(part)["flags"]
            counts[("tp" if flagged else "fn") if share == 1 else ("fp" if flagged else "tn")] += 1
    return {**counts, "sensitivity": pct(counts["tp"], counts["tp"] + counts["fn"]),
            "specificity": pct(counts["tn"], counts["tn"] + counts["fp"])}


def _af_mask(annotation: wfdb.Annotation, length: int) -> np.ndarray:
    marks = [(s, note.strip("\x00")) for s, note in zip(annotation.sample, annotation.aux_note, strict=True)
             if note.startswith("(")]
    mask = np.zeros(length, dtype=bool)
    for k, (start, rhythm) in enumerate(marks):
        end = marks[k + 1][0] if k + 1 < len(marks) else length
        mask[start:end] = rhythm == "(AFIB"
    return mask


def time_preread(runs: int) -> dict:
    """Median wall time of reading a 12-lead file and of its pre-read (what the upload waits for)."""
    from pydicom.data import get_testdata_file

    from carebridge.diagnostics.ecg import read_aecg, read_dicom

    files = {"DICOM 12 leads x 10 s at 1000 Hz": (read_dicom.read, Path(get_testdata_file("waveform_ecg.dcm"))),
             "HL7 aECG 12 leads x 10 s at 500 Hz": (read_aecg.read, Path("/work/shared/data/aecg/example-aecg.xml"))}
    out = {}
    for label, (reader, path) in files.items():
        if not path.exists():
            continue
        data = path.read_bytes()
        reads, prereads = [], []
        for _ in range(runs):
            started = time.perf_counter()
            tracing = reader(data)
            middle = time.perf_counter()
            preread.preread(tracing)
            reads.append(middle - started)
            prereads.append(time.perf_counter() - middle)
        timing = {"read_ms": 1000 * float(np.median(reads)), "preread_ms": 1000 * float(np.median(prereads))}
        out[label] = timing
        print(f"{label}: read {timing['read_ms']:.1f} ms, pre-read {timing['preread_ms']:.1f} ms (median of {runs})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mitdb", nargs="?", type=Path, default=DEFAULT_MITDB,
                        help="folder with MIT-BIH records (.hea/.dat/.atr)")
    parser.add_argument("--records", default="", help="comma-separated record names (default: every .atr found)")
    parser.add_argument("--lead", default="MLII", help="signal to detect on, or 'all' for the multi-lead path")
    parser.add_argument("--skip", type=float, default=1.0, help="seconds left out at each end")
    parser.add_argument("--window", type=float, default=0.150, help="matching window, seconds")
    parser.add_argument("--no-peer", dest="peer", action="store_false", help="do not run wfdb's XQRS for comparison")
    parser.add_argument("--af-dir", type=Path, default=DEFAULT_AF, help="folder with labelled AF/normal records")
    parser.add_argument("--af-windows", action="store_true", help="also score the AF flag on 30-s MIT-BIH windows")
    parser.add_argument("--timing-runs", type=int, default=20, help="runs of the pre-read timing")
    parser.add_argument("--json", type=Path, help="write all numbers here")
    args = parser.parse_args()
    if not args.mitdb.is_dir():
        sys.exit(f"{args.mitdb} is not a folder of MIT-BIH records: see bench/README.md (ECG) for where to get them")
    names = args.records.split(",") if args.records else sorted(p.stem for p in args.mitdb.glob("*.atr"))
    results = {"detection": run_detection(args.mitdb, names, args)}
    for label, total in results["detection"]["gross"].items():
        print(f"gross {label}: beats {total['tp'] + total['fn']} FN {total['fn']} FP {total['fp']} "
              f"Se {total['se']:.2f} % +P {total['pp']:.2f} % speed {total['x_real_time']:.0f}x real time")
    if args.af_dir and (args.af_dir / "labels.csv").exists():
        af = results["af"] = run_af(args.af_dir)
        print(f"AF flag on {args.af_dir.name}: sensitivity {af['tp']}/{af['tp'] + af['fn']}, "
              f"specificity {af['tn']}/{af['tn'] + af['fp']}")
    if args.af_windows:
        results["af_windows"] = run_af_windows(args.mitdb, names, 30)
        w = results["af_windows"]
        print(f"AF flag on 30-s MIT-BIH windows: sensitivity {w['tp']}/{w['tp'] + w['fn']}, "
              f"specificity {w['tn']}/{w['tn'] + w['fp']}")
    results["preread_timing"] = time_preread(args.timing_runs)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
