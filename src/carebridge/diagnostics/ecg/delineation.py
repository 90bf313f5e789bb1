"""Wave boundaries on the median beat: QRS onset and offset, P onset, T end; and the frontal axis.

The QRS is found on the spatial velocity (the length of the vector of all leads' slopes): a
boundary is where it falls below a fraction of its QRS peak and stays there, the way a reader's
eye finds where the leads, superimposed, stop moving fast. T end is found per lead by the tangent
method (the steepest descent after the T peak, extended to the isoelectric level; Lepeschkin and
Surawicz 1952) and the leads are combined by their median, which one noisy lead cannot move.
Anything that does not fit physiology is returned as None, unmeasured, rather than a number."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from carebridge.diagnostics.ecg.beats import MedianBeat

QRS_FRACTION = 0.04
P_FRACTION = 0.15
STAY_S = 0.016
MIN_T_MV = 0.08
MIN_P_MV = 0.04
P_LOW_PASS_HZ = 25.0
P_MIN_VELOCITY_RATIO = 2.0
T_PEAK_WITHIN_S = 0.45       # the T peak comes within this of the QRS end, at any rate over 40 bpm
T_END_PERCENTILE = 50
INDEPENDENT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@dataclass
class Boundaries:
    qrs_on: int | None = None
    qrs_off: int | None = None
    p_on: int | None = None
    t_end: int | None = None
    note: dict | None = None


def velocity(beat: np.ndarray, fs: float) -> np.ndarray:
    slope = np.gradient(beat, axis=0) * fs
    v = np.sqrt((slope * slope).sum(axis=1))
    size = max(1, int(0.008 * fs))
    return np.convolve(v, np.ones(size) / size, mode="same")


def independent_leads(names: tuple[str, ...]) -> list[int]:
    """The eight independent leads when all are there (the other four are sums of I and II, and
    would count the limb leads three times over)."""
    chosen = [k for k, n in enumerate(names) if n in INDEPENDENT]
    return chosen if len(chosen) >= 3 else list(range(len(names)))


def qrs_bounds(beat: MedianBeat, leads: list[int]) -> tuple[int, int] | None:
    fs, zero = beat.fs, beat.zero
    v = velocity(beat.signal[:, leads], fs)
    lo, hi = zero - int(0.08 * fs), zero + int(0.08 * fs)
    peak_at = lo + int(np.argmax(v[lo:hi]))
    floor = float(np.percentile(v, 20))
    level = floor + QRS_FRACTION * (float(v[peak_at]) - floor)
    stay = max(1, int(STAY_S * fs))
    on = _run_below(v, level, peak_at, max(0, zero - int(0.20 * fs)), -1, stay)
    off = _run_below(v, level, peak_at, min(v.size - 1, zero + int(0.25 * fs)), +1, stay)
    if on is None or off is None:
        return None
    return on, off


def _run_below(v: np.ndarray, level: float, start: int, stop: int, step: int, stay: int) -> int | None:
    """From `start` towards `stop`, the first index where `v` stays under `level` for `stay` samples."""
    count = 0
    for i in range(start, stop, step):
        count = count + 1 if v[i] < level else 0
        if count >= stay:
            return i - step * (stay - 1)
    return None


def baseline(beat: np.ndarray, qrs_on: int, fs: float) -> np.ndarray:
    """Per lead, the isoelectric level: the PR segment just before the QRS."""
    a, b = max(0, qrs_on - int(0.03 * fs)), max(1, qrs_on - int(0.005 * fs))
    return np.median(beat[a:b], axis=0)


def t_end(beat: MedianBeat, qrs_off: int, base: np.ndarray, limit: int) -> int | None:
    """The global T end: the median over leads with a T wave of the per-lead end."""
    fs = beat.fs
    start = qrs_off + int(0.08 * fs)
    if limit - start < int(0.12 * fs):
        return None
    peak_stop = min(limit, qrs_off + int(T_PEAK_WITHIN_S * fs))
    ends = [end for k in range(beat.signal.shape[1])
            if (end := _lead_t_end(beat.signal[:, k] - base[k], start, peak_stop, limit, fs)) is not None]
    if len(ends) < max(1, beat.signal.shape[1] // 3):
        return None
    return int(np.percentile(ends, T_END_PERCENTILE))


def _lead_t_end(lead: np.ndarray, start: int, peak_stop: int, limit: int, fs: float) -> int | None:
    """Trapezium-area method (Vázquez-Seisdedos et al., Med Biol Eng Comput 2011): from the
    steepest point of the T wave's descent, the end is where the trapezium reaching to a point
    well after the wave has the largest area. Less moved by noise than a tangent."""
    peak = start + int(np.argmax(np.abs(lead[start:peak_stop])))
    amplitude = lead[peak]
    if abs(amplitude) < MIN_T_MV or peak >= limit - 2:
        return None
    y = lead if amplitude > 0 else -lead
    slope = np.gradient(y[peak:limit])
    steepest = peak + int(np.argmin(slope))
    if slope[steepest - peak] >= 0:
        return None
    far = min(limit, steepest + int(0.15 * fs))
    t = np.arange(steepest, far + 1)
    area = (y[steepest] - y[t]) * (2 * far - steepest - t)
    end = int(t[int(np.argmax(area))])
    return end if end < far else None


def p_onset(beat: MedianBeat, qrs_on: int, leads: list[int]) -> int | None:
    """The P wave's start, when the median beat has a P wave before its QRS. Found on the spatial
    velocity, which does not depend on where the baseline is (the PR segment often sits below the
    TP segment: atrial repolarisation). The P is the fastest movement in the 300 ms before the QRS;
    it starts where the velocity, followed backwards, falls to a fraction of that."""
    fs = beat.fs
    lo, hi = max(0, qrs_on - int(0.30 * fs)), qrs_on - int(0.02 * fs)
    if hi - lo < int(0.1 * fs):
        return None
    smooth = _low_pass(beat.signal[:, leads], fs, P_LOW_PASS_HZ)
    v = velocity(smooth, fs)
    part = smooth[lo:hi]
    if float(np.ptp(part, axis=0).max()) < MIN_P_MV:
        return None
    floor = float(np.percentile(v, 20))
    peak = lo + int(np.argmax(v[lo:hi]))
    if v[peak] < P_MIN_VELOCITY_RATIO * floor:
        return None
    level = floor + P_FRACTION * (float(v[peak]) - floor)
    return _run_below(v, level, peak, max(0, peak - int(0.15 * fs)), -1, max(1, int(0.01 * fs)))


def _low_pass(x: np.ndarray, fs: float, hz: float) -> np.ndarray:
    return sosfiltfilt(butter(2, min(hz, 0.45 * fs), btype="lowpass", fs=fs, output="sos"), x, axis=0)


def frontal_axis(beat: MedianBeat, names: tuple[str, ...], qrs_on: int, qrs_off: int,
                 base: np.ndarray) -> float | None:
    """Degrees from the net QRS areas in I and aVF (aVF = II - I/2 when only I and II exist)."""
    if "I" not in names or ("aVF" not in names and "II" not in names):
        return None
    lead_i = beat.signal[qrs_on:qrs_off + 1, names.index("I")] - base[names.index("I")]
    if "aVF" in names:
        lead_f = beat.signal[qrs_on:qrs_off + 1, names.index("aVF")] - base[names.index("aVF")]
    else:
        lead_ii = beat.signal[qrs_on:qrs_off + 1, names.index("II")] - base[names.index("II")]
        lead_f = lead_ii - lead_i / 2
    area_i, area_f = float(lead_i.sum()), float(lead_f.sum())
    if math.hypot(area_i, area_f) / beat.fs < 0.002:  # under 2 µV·s net: the axis is indeterminate
        return None
    return math.degrees(math.atan2(area_f, area_i))
