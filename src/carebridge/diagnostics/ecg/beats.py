"""Beats of a multi-lead recording, and the median beat the intervals are measured on.

Each usable lead is searched on its own (qrs.detect_r_peaks); with three or more usable leads a
beat is kept when at least half of them saw it within 100 ms, so noise in one or two leads neither
adds beats nor hides them. With one or two leads the rhythm lead (II) is used unless it is the
noisy one. All beats are then given one fiducial point from the combined leads, so that beats
line up sample-true for averaging."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from carebridge.diagnostics.ecg import qrs

AGREE_S = 0.100
MEDIAN_PRE_S = 0.45
MEDIAN_POST_S = 0.75
RHYTHM_LEADS = frozenset({"II", "MLII"})
SAME_SHAPE = 0.9           # correlation of a beat's QRS with the median QRS


@dataclass(frozen=True)
class MedianBeat:
    """(samples, leads) median of the dominant beats, fiducial at index `zero`, in mV."""

    signal: np.ndarray
    zero: int
    fs: float
    beats_used: int


def detect(signal: np.ndarray, fs: float, usable: list[int], noisy: list[bool],
           names: tuple[str, ...] = ()) -> np.ndarray:
    if not usable:
        return np.zeros(0, dtype=np.int64)
    if len(usable) >= 3:
        per_lead = {k: qrs.detect_r_peaks(signal[:, k].astype(np.float64), fs) for k in usable}
        found = _vote(per_lead, fs, needed=(len(usable) + 1) // 2)
    else:
        # The rhythm lead (II, or the Holter's modified II) unless it is the noisy one.
        best = min(usable, key=lambda k: (noisy[k], (names[k] if k < len(names) else "") not in RHYTHM_LEADS, k))
        found = qrs.detect_r_peaks(signal[:, best].astype(np.float64), fs)
    return _refine(signal[:, usable], fs, found)


def _vote(per_lead: dict[int, np.ndarray], fs: float, needed: int) -> np.ndarray:
    events = np.sort(np.concatenate(list(per_lead.values())))
    if events.size == 0:
        return events
    window = AGREE_S * fs
    kept, start = [], 0
    for i in range(1, events.size + 1):
        if i == events.size or events[i] - events[start] > window:
            if i - start >= needed:
                kept.append(int(np.median(events[start:i])))
            start = i
    return np.asarray(kept, dtype=np.int64)


def _refine(signal: np.ndarray, fs: float, peaks: np.ndarray) -> np.ndarray:
    if peaks.size == 0:
        return peaks
    feat = qrs.feature(signal, fs)
    return qrs.locate(feat, list(peaks))


def band_limited(signal: np.ndarray, fs: float) -> np.ndarray:
    """0.5-100 Hz (zero-phase): baseline wander out, the QRS's corners kept."""
    high = min(100.0, 0.45 * fs)
    sos = butter(2, (0.5, high), btype="bandpass", fs=fs, output="sos")
    return sosfiltfilt(sos, signal.astype(np.float64), axis=0)


def dominant(signal: np.ndarray, fs: float, peaks: np.ndarray) -> np.ndarray:
    """Per beat, whether it looks like most beats (its QRS correlates with the median QRS): the
    normal beats, as opposed to ventricular ectopics and artefacts. Used so that a median beat is
    not a blend of complexes and so that rhythm is judged on normal-to-normal intervals."""
    half = int(0.06 * fs)
    inside = (peaks >= half) & (peaks + half < signal.shape[0])
    mask = np.zeros(peaks.size, dtype=bool)
    if inside.sum() < 3:
        mask[inside] = True
        return mask
    windows = np.stack([signal[p - half:p + half + 1].ravel() for p in peaks[inside]])
    template = np.median(windows, axis=0)
    centred = windows - windows.mean(axis=1, keepdims=True)
    t = template - template.mean()
    corr = centred @ t / (np.linalg.norm(centred, axis=1) * np.linalg.norm(t) + 1e-12)
    alike = corr >= SAME_SHAPE
    mask[np.flatnonzero(inside)] = alike if alike.sum() >= max(3, alike.size // 3) else True
    return mask


def median_beat(signal: np.ndarray, fs: float, peaks: np.ndarray) -> MedianBeat | None:
    pre, post = int(MEDIAN_PRE_S * fs), int(MEDIAN_POST_S * fs)
    chosen = peaks[dominant(signal, fs, peaks)]
    chosen = chosen[(chosen - pre >= 0) & (chosen + post < signal.shape[0])]
    if chosen.size < 2:
        return None
    stack = np.stack([signal[p - pre:p + post] for p in chosen])
    return MedianBeat(signal=np.median(stack, axis=0), zero=pre, fs=fs, beats_used=int(chosen.size))
