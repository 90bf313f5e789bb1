"""R-peak detection: a Pan–Tompkins style energy detector with adaptive thresholds and search-back.

Pan J, Tompkins WJ. A real-time QRS detection algorithm. IEEE Trans Biomed Eng 1985;32(3):230-6,
with the decision rules of Hamilton PS, Tompkins WJ. Quantitative investigation of QRS detection
rules using the MIT/BIH arrhythmia database. IEEE Trans Biomed Eng 1986;33(12):1157-65.

Written on numpy/scipy so that every step can be read and checked: the filters are zero-phase
(`sosfiltfilt`), so the detection feature peaks at the QRS itself and no group delay has to be
compensated. Detection runs on one lead (beats.py combines leads by vote); `feature` and `locate`
also take several leads, each scaled to its own typical QRS energy, to give every beat one
fiducial point across the leads.

`bench/ecg.py` measures it against the MIT-BIH Arrhythmia annotations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.signal import butter, find_peaks, sosfiltfilt

BAND_HZ = (5.0, 15.0)        # where QRS energy is and P/T waves and baseline wander are not (Pan–Tompkins)
INTEGRATION_S = 0.150        # about the widest normal QRS
REFRACTORY_S = 0.250         # one beat per 250 ms at most (240 bpm): P waves do not count twice
T_WAVE_WINDOW_S = 0.360      # a candidate this soon after a beat may be its T wave
SEARCH_BACK_RR = 1.66        # look again for a missed beat after this many average RR intervals
LOCATE_S = 0.075             # the R peak lies within this of the feature's peak
THRESHOLD_FRACTION = 0.25
IRREGULAR_HALVING = True
P_WAVE_WINDOW_S = 0.30
P_WAVE_RATIO = 3.0


@dataclass(frozen=True)
class Feature:
    """The band-passed leads and the combined integrated energy that the detector thresholds."""

    band: np.ndarray    # (n, leads) band-passed, zero-phase
    energy: np.ndarray  # (n,) combined, moving-window integrated
    fs: float


def band_pass(signal: np.ndarray, fs: float, band: tuple[float, float] = BAND_HZ) -> np.ndarray:
    high = min(band[1], 0.45 * fs)
    sos = butter(2, (band[0], high), btype="bandpass", fs=fs, output="sos")
    return sosfiltfilt(sos, signal, axis=0)


def feature(signal: np.ndarray, fs: float) -> Feature:
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    band = band_pass(x, fs)
    slope = np.gradient(band, axis=0) * fs
    energy = ndimage.uniform_filter1d(slope * slope, size=max(1, int(round(INTEGRATION_S * fs))), axis=0)
    energy /= _typical_peak(energy, fs)[None, :]
    return Feature(band=band, energy=energy.sum(axis=1), fs=fs)


def _typical_peak(energy: np.ndarray, fs: float) -> np.ndarray:
    """Per lead, the median of the largest value in each second: about one QRS a second in any
    rhythm, and a median is not moved by a few seconds of noise."""
    second = max(1, int(fs))
    whole = energy.shape[0] // second
    if whole == 0:
        scale = energy.max(axis=0)
    else:
        scale = np.median(energy[: whole * second].reshape(whole, second, -1).max(axis=1), axis=0)
    return np.where(scale > 0, scale, 1.0)


def detect_r_peaks(signal: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of the R peaks in `signal` ((n,) or (n, leads), mV) sampled at `fs` Hz."""
    if signal.shape[0] < int(fs):
        return np.zeros(0, dtype=np.int64)
    feat = feature(signal, fs)
    candidates, _ = find_peaks(feat.energy, distance=max(1, int(REFRACTORY_S * fs)))
    if candidates.size == 0:
        return np.zeros(0, dtype=np.int64)
    slopes = _max_slopes(feat, candidates)
    keep = ~_p_waves(feat.energy[candidates], candidates, fs)
    beats = _Thresholds(feat.energy, candidates[keep], slopes[keep], fs).run()
    return locate(feat, beats)


def _p_waves(heights: np.ndarray, candidates: np.ndarray, fs: float) -> np.ndarray:
    """A candidate followed within a PR interval by one several times stronger is that beat's P wave
    (or noise before it): no second beat can follow so soon."""
    out = np.zeros(candidates.size, dtype=bool)
    if candidates.size > 1:
        close = np.diff(candidates) <= P_WAVE_WINDOW_S * fs
        out[:-1] = close & (heights[1:] >= P_WAVE_RATIO * heights[:-1])
    return out


def _max_slopes(feat: Feature, candidates: np.ndarray) -> np.ndarray:
    """The steepest combined slope near each candidate; a T wave rises at under half its QRS's."""
    slope = np.abs(np.gradient(feat.band, axis=0)).sum(axis=1)
    half = max(1, int(INTEGRATION_S * feat.fs / 2))
    peak = ndimage.maximum_filter1d(slope, size=2 * half + 1)
    return peak[candidates]


class _Thresholds:
    """The adaptive decision: signal and noise peak levels, one threshold between them, the T-wave
    rule, and search-back at half the threshold when a beat is overdue."""

    def __init__(self, energy: np.ndarray, candidates: np.ndarray, slopes: np.ndarray, fs: float) -> None:
        self.energy, self.candidates, self.slopes, self.fs = energy, candidates, slopes, fs
        self.heights = energy[candidates]
        learn = candidates < int(2 * fs)
        first = self.heights[learn] if learn.any() else self.heights[:1]
        # Learning phase (Pan–Tompkins): the first two seconds set the levels.
        self.spk = float(first.max()) * 0.5
        self.npk = float(np.median(self.heights[: max(1, learn.sum())])) * 0.25
        self.rr: list[int] = []

    @property
    def threshold(self) -> float:
        level = self.npk + THRESHOLD_FRACTION * (self.spk - self.npk)
        return level * 0.5 if IRREGULAR_HALVING and self._irregular() else level

    def _irregular(self) -> bool:
        """Pan–Tompkins: when the recent RR intervals are not within 92-116 % of their average the
        rhythm is irregular, and the threshold is halved so small beats among large ones count."""
        if len(self.rr) < 8:
            return False
        recent = np.asarray(self.rr[-8:], dtype=np.float64)
        mean = recent.mean()
        return bool(((recent < 0.92 * mean) | (recent > 1.16 * mean)).any())

    def rr_average(self) -> float:
        return float(np.median(self.rr[-8:])) if self.rr else self.fs  # assume 60 bpm until known

    def run(self) -> list[int]:
        beats: list[int] = []  # indices into candidates
        searched_from = 0
        for i, height in enumerate(self.heights):
            t = int(self.candidates[i])
            if beats and t - self.candidates[beats[-1]] > SEARCH_BACK_RR * self.rr_average():
                found = self._search_back(beats, searched_from, i)
                if found is not None:
                    self._accept(beats, found, weight=0.25)
                searched_from = i  # each stretch is searched once, so a long pause costs no more
            if height > self.threshold and not self._is_t_wave(beats, i):
                self._accept(beats, i, weight=0.125)
                searched_from = i + 1
            else:
                self.npk = 0.125 * height + 0.875 * self.npk
        return [int(self.candidates[b]) for b in beats]

    def _is_t_wave(self, beats: list[int], i: int) -> bool:
        if not beats:
            return False
        last = beats[-1]
        return (self.candidates[i] - self.candidates[last] < T_WAVE_WINDOW_S * self.fs
                and self.slopes[i] < 0.5 * self.slopes[last])

    def _search_back(self, beats: list[int], start: int, stop: int) -> int | None:
        last = self.candidates[beats[-1]]
        best, best_height = None, 0.5 * self.threshold
        for j in range(max(start, beats[-1] + 1), stop):
            if self.candidates[j] - last < REFRACTORY_S * self.fs or self._is_t_wave(beats, j):
                continue
            if self.heights[j] > best_height:
                best, best_height = j, self.heights[j]
        return best

    def _accept(self, beats: list[int], i: int, weight: float) -> None:
        if beats:
            self.rr.append(int(self.candidates[i] - self.candidates[beats[-1]]))
        beats.append(i)
        self.spk = weight * float(self.heights[i]) + (1 - weight) * self.spk


def locate(feat: Feature, peaks: list[int]) -> np.ndarray:
    """Moves each detection to the largest combined deflection nearby: the R (or the S, or the
    QS of a negative complex), where annotators put the fiducial point."""
    if not peaks:
        return np.zeros(0, dtype=np.int64)
    scale = np.percentile(np.abs(feat.band), 99, axis=0)
    magnitude = (np.abs(feat.band) / np.where(scale > 0, scale, 1.0)[None, :]).sum(axis=1)
    half = max(1, int(LOCATE_S * feat.fs))
    out = np.empty(len(peaks), dtype=np.int64)
    for k, p in enumerate(peaks):
        lo, hi = max(0, p - half), min(magnitude.size, p + half + 1)
        out[k] = lo + int(np.argmax(magnitude[lo:hi]))
    return np.unique(out)
