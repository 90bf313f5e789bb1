"""Rhythm from the beat times and the atrial activity before each beat.

Atrial fibrillation is irregularly irregular ventricular response without organised atrial
activity. Both parts are measured:
- irregularity: the median absolute change between successive RR intervals, relative to the mean
  RR. A median ignores the two long-short changes an isolated premature beat adds, and sinus
  arrhythmia changes the RR gradually, a few per cent a beat;
- atrial activity: how alike the 230 ms before each QRS look from beat to beat (median correlation
  with their median). Sinus P waves repeat; fibrillatory waves do not.
RR intervals that fall into two tight groups (bigeminy, 3:2 conduction) are regularly irregular
and not called fibrillation. The thresholds are physiological round numbers, not fitted to
records: see docs/benchmarks.md for how the flag does on reference data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IRREGULAR = 0.08           # median successive RR change above 8 % of the RR
VERY_IRREGULAR = 0.15      # so irregular that atrial activity is not needed to suspect AF
P_CONSISTENT = 0.5
P_WINDOW_S = 0.20          # a P wave and the PR segment fit in the 200 ms before the QRS
MIN_RR_FOR_RHYTHM = 6
BRADYCARDIA_BPM = 60
TACHYCARDIA_BPM = 100


@dataclass(frozen=True)
class RR:
    intervals_s: np.ndarray
    normal: np.ndarray | None = None  # per beat (one more than intervals): a normal-shaped QRS

    @property
    def mean_ms(self) -> float:
        return float(self.intervals_s.mean() * 1000)

    @property
    def sd_ms(self) -> float:
        return float(self.intervals_s.std(ddof=1) * 1000) if self.intervals_s.size > 1 else 0.0

    @property
    def heart_rate(self) -> float:
        return 60.0 / float(self.intervals_s.mean())

    def _normal_to_normal(self) -> tuple[np.ndarray, np.ndarray]:
        """The NN intervals, and the successive changes between NN intervals that follow each
        other: intervals next to a ventricular ectopic say nothing about the atrial rhythm."""
        rr = self.intervals_s
        normal = self.normal if self.normal is not None else np.ones(rr.size + 1, dtype=bool)
        nn = normal[:-1] & normal[1:]
        changes = np.diff(rr)[nn[:-1] & nn[1:]]
        return rr[nn], changes

    @property
    def irregularity(self) -> float | None:
        nn, changes = self._normal_to_normal()
        if changes.size < MIN_RR_FOR_RHYTHM - 1:
            return None
        return float(np.median(np.abs(changes)) / nn.mean())

    @property
    def grouped(self) -> bool:
        """Two tight clusters of RR (long and short) with a clear gap between them."""
        rr = np.sort(self._normal_to_normal()[0])
        if rr.size < MIN_RR_FOR_RHYTHM:
            return False
        gaps = np.diff(rr)
        cut = int(np.argmax(gaps)) + 1
        short, long_ = rr[:cut], rr[cut:]
        if short.size < 2 or long_.size < 2:
            return False
        tight = all(np.ptp(g) / g.mean() < 0.08 for g in (short, long_))
        return bool(tight and gaps[cut - 1] / rr.mean() > 0.15)


def p_consistency(signal: np.ndarray, fs: float, peaks: np.ndarray, onset_offset: int,
                  t_end_offset: int | None) -> float | None:
    """Median correlation of each beat's pre-QRS segment (all given leads, detrended) with their
    median; None when fewer than three beats leave room for a P wave after the previous T wave."""
    length, gap = int(P_WINDOW_S * fs), int(0.02 * fs)
    after_t = t_end_offset if t_end_offset is not None else int(0.40 * fs)
    segments = []
    for k in range(1, peaks.size):
        end = peaks[k] + onset_offset - gap
        start = end - length
        if start < 0 or start < peaks[k - 1] + after_t:
            continue  # the previous beat's T wave would be in the window, and T waves repeat
        segments.append(_detrended(signal[start:end]).ravel())
    if len(segments) < 3:
        return None
    stack = np.stack(segments)
    template = np.median(stack, axis=0)
    template = template - template.mean()
    centred = stack - stack.mean(axis=1, keepdims=True)
    corr = centred @ template / (np.linalg.norm(centred, axis=1) * np.linalg.norm(template) + 1e-12)
    return float(np.median(corr))


def _detrended(part: np.ndarray) -> np.ndarray:
    t = np.linspace(-1.0, 1.0, part.shape[0])[:, None]
    slope = (part * t).sum(axis=0) / (t * t).sum()
    return part - part.mean(axis=0) - t * slope


@dataclass(frozen=True)
class Rhythm:
    sinus: bool
    bradycardia: bool
    tachycardia: bool
    irregular: bool
    suspected_af: bool


def classify(rr: RR, p_similarity: float | None, p_upright: bool | None, has_p_wave: bool) -> Rhythm:
    irregularity = rr.irregularity
    irregular = irregularity is not None and irregularity > IRREGULAR
    p_absent = p_similarity is not None and p_similarity < P_CONSISTENT
    suspected_af = bool(irregular and not rr.grouped and (p_absent or irregularity >= VERY_IRREGULAR))
    sinus = bool(has_p_wave and p_similarity is not None and not p_absent and p_upright is not False
                 and not suspected_af)
    rate = rr.heart_rate
    return Rhythm(sinus=sinus, bradycardia=rate < BRADYCARDIA_BPM, tachycardia=rate > TACHYCARDIA_BPM,
                  irregular=irregular, suspected_af=suspected_af)
