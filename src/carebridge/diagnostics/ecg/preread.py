"""The automatic pre-read: measurements and flags computed from a tracing, as plain JSON.

It pre-fills findings and orders the worklist; it is never a report and nothing in it can sign one
(the report belongs to a reader: reports/ reads `ecg_recordings.preread` to pre-fill, a person
signs). Every number it gives is measured on the recording; where a measurement cannot be made
reliably it is left out, with the reason, instead of guessed. The shape is versioned
(`PREREAD_VERSION`) so a report written against an older pre-read can say which one it saw."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from carebridge.diagnostics.ecg import beats as beat_tools
from carebridge.diagnostics.ecg import delineation as dl
from carebridge.diagnostics.ecg import quality as signal_quality
from carebridge.diagnostics.ecg.rhythm import RR, classify, p_consistency
from carebridge.diagnostics.ecg.tracing import Tracing

PREREAD_VERSION = "1"
MIN_BEATS = 3
LIMITS_MS = {"qrs_ms": (40, 250), "pr_ms": (60, 400), "qt_ms": (200, 700)}
WIDE_QRS_MS = 120
LONG_PR_MS = 200
LONG_QTC_MS = 470
MEASURES = ("pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms", "axis_deg")


def preread(tracing: Tracing) -> dict[str, Any]:
    started = time.perf_counter()
    fs = tracing.sample_rate
    quality = signal_quality.assess(tracing.signal, fs, tracing.leads)
    peaks = beat_tools.detect(tracing.signal, fs, quality.usable, [q.noisy for q in quality.leads], tracing.leads)
    result = _empty(quality, peaks, fs)
    if peaks.size < MIN_BEATS:
        result["quality"]["warnings"].append({"code": "too_few_beats", "beats": int(peaks.size)})
        result["quality"]["ok"] = False
        result["unmeasured"] = dict.fromkeys(MEASURES, "too_few_beats")
        result["flags"] = ["signal_quality"]
        return _finish(result, started)
    normal = beat_tools.dominant(beat_tools.band_limited(tracing.signal[:, quality.usable], fs), fs, peaks)
    rr = RR(np.diff(peaks) / fs, normal)
    result["heart_rate_bpm"] = round(rr.heart_rate)
    result["rr_ms"] = {"mean": round(rr.mean_ms), "sd": round(rr.sd_ms)}
    _measure(result, tracing, quality, peaks, rr)
    return _finish(result, started)


def _empty(quality: signal_quality.Quality, peaks: np.ndarray, fs: float) -> dict[str, Any]:
    return {
        "version": PREREAD_VERSION, "kind": "automatic_preread", "beats": int(peaks.size), "beats_in_median": 0,
        "heart_rate_bpm": None, "rr_ms": None, "measurements": dict.fromkeys(MEASURES), "unmeasured": {},
        "flags": [], "rhythm": {"irregularity": None, "p_wave_consistency": None, "grouped_rr": False},
        "quality": {"ok": not quality.warnings, "warnings": list(quality.warnings),
                    "leads_used": [quality.leads[k].name for k in quality.usable]},
        "r_peaks_s": [round(float(p) / fs, 3) for p in peaks],
        "median_beat_ms": None,
    }


def _measure(result: dict, tracing: Tracing, quality: signal_quality.Quality, peaks: np.ndarray, rr: RR) -> None:
    fs = tracing.sample_rate
    usable = quality.usable
    names = tuple(tracing.leads[k] for k in usable)
    signal = beat_tools.band_limited(tracing.signal[:, usable], fs)
    median = beat_tools.median_beat(signal, fs, peaks)
    independent = dl.independent_leads(names)
    marks = _delineate(median, names, independent, rr) if median is not None else {}
    if median is not None:
        result["beats_in_median"] = median.beats_used
    onset_offset = (marks["qrs_on"] - median.zero) if marks.get("qrs_on") is not None else -int(0.05 * fs)
    t_end_offset = (marks["t_end"] - median.zero) if marks.get("t_end") is not None else None
    similarity = p_consistency(signal[:, independent], fs, peaks, onset_offset, t_end_offset)
    rhythm = classify(rr, similarity, _p_upright(median, names, marks), marks.get("p_on") is not None)
    result["rhythm"] = {"irregularity": _round(rr.irregularity, 3), "p_wave_consistency": _round(similarity, 2),
                        "grouped_rr": rr.grouped}
    _intervals(result, marks, median, rr, rhythm.suspected_af)
    result["flags"] = _flags(rhythm, result["measurements"], result["quality"])
    if median is not None and marks:
        result["median_beat_ms"] = {k: (None if v is None else round((v - median.zero) / fs * 1000))
                                    for k, v in marks.items() if k != "axis"}


def _delineate(median: beat_tools.MedianBeat, names: tuple[str, ...], independent: list[int], rr: RR) -> dict:
    fs = median.fs
    bounds = dl.qrs_bounds(median, independent)
    if bounds is None:
        return {}
    on, off = bounds
    base = dl.baseline(median.signal, on, fs)
    p_on = dl.p_onset(median, on, independent)
    pr = (on - p_on) if p_on is not None else int(0.2 * fs)
    # the T wave must end before the next beat's P wave begins
    limit = min(median.signal.shape[0] - 1, median.zero + int(float(np.median(rr.intervals_s)) * fs)
                - (median.zero - on) - pr)
    return {"p_on": p_on, "qrs_on": on, "qrs_off": off, "t_end": dl.t_end(median, off, base, limit),
            "axis": dl.frontal_axis(median, names, on, off, base)}


def _p_upright(median: beat_tools.MedianBeat | None, names: tuple[str, ...], marks: dict) -> bool | None:
    """Sinus P waves are upright in lead II (the atria depolarise from the sinus node downwards)."""
    if median is None or marks.get("p_on") is None or "II" not in names:
        return None
    lead = median.signal[:, names.index("II")]
    p_on, qrs_on = marks["p_on"], marks["qrs_on"]
    part = lead[p_on:qrs_on] - lead[p_on]
    return bool(part.max() >= -part.min())


def _intervals(result: dict, marks: dict, median: beat_tools.MedianBeat | None, rr: RR, af: bool) -> None:
    values, why = result["measurements"], result["unmeasured"]
    if median is None or not marks:
        why.update(dict.fromkeys(MEASURES, "no_stable_beat"))
        return
    if median.beats_used < MIN_BEATS:
        why.update(dict.fromkeys(MEASURES, "too_few_similar_beats"))
        return
    fs = median.fs
    spans = {"qrs_ms": (marks["qrs_on"], marks["qrs_off"]), "pr_ms": (marks["p_on"], marks["qrs_on"]),
             "qt_ms": (marks["qrs_on"], marks["t_end"])}
    for key, (a, b) in spans.items():
        ms = None if a is None or b is None else (b - a) / fs * 1000
        low, high = LIMITS_MS[key]
        if ms is not None and low <= ms <= high:
            values[key] = round(ms)
        else:
            why[key] = "not_found" if ms is None else "out_of_range"
    if af:
        if values["pr_ms"] is not None:
            values["pr_ms"] = None
        why["pr_ms"] = "no_organised_atrial_activity"
    _qtc(values, why, rr, af)
    axis = marks.get("axis")
    values["axis_deg"] = None if axis is None else round(axis)
    if axis is None:
        why["axis_deg"] = "limb_leads_missing_or_net_zero"


def _qtc(values: dict, why: dict, rr: RR, af: bool) -> None:
    """Bazett QT/RR^(1/2) and Fridericia QT/RR^(1/3), RR in seconds (the mean RR of the recording)."""
    if values["qt_ms"] is None:
        why["qtc_bazett_ms"] = why["qtc_fridericia_ms"] = "qt_unmeasured"
        return
    if af:
        # with RR varying beat to beat, one QT cannot be corrected by one RR
        values["qt_ms"] = None
        why["qt_ms"] = why["qtc_bazett_ms"] = why["qtc_fridericia_ms"] = "irregular_rhythm"
        return
    rr_s = rr.mean_ms / 1000
    values["qtc_bazett_ms"] = round(values["qt_ms"] / math.sqrt(rr_s))
    values["qtc_fridericia_ms"] = round(values["qt_ms"] / rr_s ** (1 / 3))


def _flags(rhythm, values: dict, quality: dict) -> list[str]:  # noqa: ANN001 - rhythm.Rhythm
    flags = [name for name, on in (("sinus_rhythm", rhythm.sinus), ("suspected_af", rhythm.suspected_af),
                                   ("irregular_rhythm", rhythm.irregular), ("bradycardia", rhythm.bradycardia),
                                   ("tachycardia", rhythm.tachycardia)) if on]
    if values["qrs_ms"] is not None and values["qrs_ms"] >= WIDE_QRS_MS:
        flags.append("wide_qrs")
    if values["pr_ms"] is not None and values["pr_ms"] > LONG_PR_MS:
        flags.append("long_pr")
    if values["qtc_bazett_ms"] is not None and values["qtc_bazett_ms"] >= LONG_QTC_MS:
        flags.append("long_qtc")
    axis = values["axis_deg"]
    if axis is not None and axis < -30:
        flags.append("left_axis_deviation")
    if axis is not None and axis > 90:
        flags.append("right_axis_deviation")
    if not quality["ok"]:
        flags.append("signal_quality")
    return flags


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _finish(result: dict, started: float) -> dict:
    result["analysis_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result
