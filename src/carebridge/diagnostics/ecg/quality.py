"""Signal quality per lead: what a technician would fix before sending (a lead that fell off, an
amplifier at its limit, muscle tremor or mains hum, a wandering baseline) and what the pre-read
leaves out of its measurements. Thresholds are in mV as they appear on paper at 10 mm/mV."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import butter, sosfiltfilt

FLAT_PEAK_TO_PEAK_MV = 0.05    # half a millimetre over the whole recording: no ECG there
SATURATED_SHARE = 0.02         # share of samples pinned at the lead's extreme value in runs of >= 20 ms
NOISE_RMS_MV = 0.05            # high-frequency (> 35 Hz) RMS outside the QRS: half a millimetre of fuzz
WANDER_PEAK_TO_PEAK_MV = 1.0   # the baseline (< 0.7 Hz) moves a whole centimetre


@dataclass
class LeadQuality:
    name: str
    flat: bool = False
    saturated: bool = False
    noisy: bool = False
    wander: bool = False
    noise_rms_mv: float = 0.0

    @property
    def usable(self) -> bool:
        """Good enough to measure from: noise and wander are filtered or averaged out, a flat or
        clipped lead is not."""
        return not (self.flat or self.saturated)


@dataclass
class Quality:
    leads: list[LeadQuality]
    warnings: list[dict] = field(default_factory=list)

    @property
    def usable(self) -> list[int]:
        return [k for k, lead in enumerate(self.leads) if lead.usable]

    @property
    def clean(self) -> list[int]:
        return [k for k, lead in enumerate(self.leads) if lead.usable and not lead.noisy]


def assess(signal: np.ndarray, fs: float, names: tuple[str, ...]) -> Quality:
    leads = [LeadQuality(name) for name in names]
    x = signal.astype(np.float64)
    peak_to_peak = np.ptp(x, axis=0)
    wander = _low_pass(x, fs, 0.7)
    high = _high_pass(x, fs, 35.0) if fs > 80 else np.zeros_like(x)
    outside = _outside_qrs_mask(x, fs)
    for k, lead in enumerate(leads):
        lead.flat = bool(peak_to_peak[k] < FLAT_PEAK_TO_PEAK_MV)
        lead.saturated = not lead.flat and _saturated(x[:, k], fs)
        lead.noise_rms_mv = float(np.sqrt(np.mean(high[outside, k] ** 2))) if outside.any() else 0.0
        lead.noisy = not lead.flat and lead.noise_rms_mv > NOISE_RMS_MV
        lead.wander = not lead.flat and float(np.ptp(wander[:, k])) > WANDER_PEAK_TO_PEAK_MV
    quality = Quality(leads)
    for code, test in (("flat_lead", "flat"), ("saturation", "saturated"), ("noise", "noisy"),
                       ("baseline_wander", "wander")):
        hit = [lead.name for lead in leads if getattr(lead, test)]
        if hit:
            quality.warnings.append({"code": code, "leads": hit})
    return quality


def _low_pass(x: np.ndarray, fs: float, hz: float) -> np.ndarray:
    return sosfiltfilt(butter(2, hz, btype="lowpass", fs=fs, output="sos"), x, axis=0)


def _high_pass(x: np.ndarray, fs: float, hz: float) -> np.ndarray:
    return sosfiltfilt(butter(4, hz, btype="highpass", fs=fs, output="sos"), x, axis=0)


def _saturated(lead: np.ndarray, fs: float) -> bool:
    """Clipping shows as runs of identical samples at the lead's minimum or maximum."""
    run = max(2, int(0.02 * fs))
    pinned = (lead >= lead.max()) | (lead <= lead.min())
    if pinned.mean() < SATURATED_SHARE:
        return False
    # count only samples inside runs of at least `run` (a sharp R peak touches the maximum once)
    edges = np.diff(np.concatenate(([0], pinned.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    in_runs = sum(int(e - s) for s, e in zip(starts, ends, strict=True) if e - s >= run)
    return in_runs / lead.size >= SATURATED_SHARE


def _outside_qrs_mask(x: np.ndarray, fs: float) -> np.ndarray:
    """Samples away from the steepest parts of the signal (the QRS complexes), where anything fast
    is noise. Found below 25 Hz, where the QRS is and tremor mostly is not."""
    smooth = _low_pass(x, fs, min(25.0, 0.45 * fs))
    slope = np.abs(np.diff(smooth, axis=0, prepend=smooth[:1])).sum(axis=1)
    steep = slope > np.percentile(slope, 90)
    width = max(1, int(0.06 * fs))
    grown = np.convolve(steep.astype(np.float64), np.ones(2 * width + 1), mode="same") > 0
    return ~grown
