"""The one in-memory form every ECG format is read into, and how it is kept in the blob store.

A `Tracing` holds the leads by their standard names (I, II, III, aVR, aVL, aVF, V1-V6 where
present; other leads keep the name the device gave them), the sampling rate, the signal in mV as
float32 with one column per lead, and when the recording started. Devices that store only I, II
and V1-V6 (the four other limb leads are linear combinations) get III, aVR, aVL and aVF derived
by Einthoven's and Goldberger's equations, so the standard 12-lead grid is always complete."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field, replace

import numpy as np

from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_

STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LIMB_LEADS = STANDARD_LEADS[:6]
_ALIASES = {name.lower(): name for name in STANDARD_LEADS}
_ALIASES |= {"lead i": "I", "lead ii": "II", "lead iii": "III", "avr": "aVR", "avl": "aVL", "avf": "aVF",
             "lead avr": "aVR", "lead avl": "aVL", "lead avf": "aVF"}
MIN_SECONDS = 2.0        # too short to hold two beats at 40 bpm: nothing to read
MIN_RATE_HZ = 100.0      # below this a QRS is under-sampled (AHA: >= 500 Hz recommended, 150 Hz bandwidth)
MAX_RATE_HZ = 20000.0
MAX_LEADS = 16


@dataclass(frozen=True)
class Tracing:
    leads: tuple[str, ...]
    sample_rate: float
    signal: np.ndarray                    # (samples, leads) float32, mV
    source_format: str                    # dicom | aecg | wfdb | csv
    start: dt.datetime | None = None      # timezone-aware when the file said when
    # As the sending device labelled it (DICOM header, aECG subject); used to match an order.
    patient_key: str = ""
    patient_name: str = ""
    accession_number: str = ""
    study_uid: str = ""
    derived_leads: tuple[str, ...] = field(default=())

    @property
    def duration(self) -> float:
        return self.signal.shape[0] / self.sample_rate

    def lead(self, name: str) -> np.ndarray | None:
        return self.signal[:, self.leads.index(name)] if name in self.leads else None


def standard_name(raw: str) -> str:
    """'Lead I (Einthoven)', 'MDC_ECG_LEAD_AVR', 'avl', 'v1' -> I, aVR, aVL, V1; others unchanged."""
    name = raw.strip()
    name = re.sub(r"^(MDC_ECG_LEAD_)", "", name, flags=re.IGNORECASE)
    name = re.sub(r"\s*\(.*\)\s*$", "", name)
    return _ALIASES.get(name.lower(), name)[:16]


def build(leads: list[str], columns: list[np.ndarray], sample_rate: float, source_format: str,
          **meta: object) -> Tracing:
    """Checks and normalises what a reader found: names, equal lengths, finite values, rate, limits."""
    if not columns:
        raise InvalidInput(N_("the file holds no ECG leads"), details={"field": "file"})
    if len(columns) > MAX_LEADS:
        raise InvalidInput(N_("the file holds more leads than a resting ECG has"),
                           details={"field": "file", "leads": len(columns), "max": MAX_LEADS})
    if not (np.isfinite(sample_rate) and MIN_RATE_HZ <= sample_rate <= MAX_RATE_HZ):
        raise InvalidInput(N_("the sampling rate must be between 100 and 20000 Hz"),
                           details={"field": "sample_rate", "value": float(sample_rate)})
    names = [standard_name(n) or f"lead{i + 1}" for i, n in enumerate(leads)]
    if len(set(names)) != len(names):
        raise InvalidInput(N_("two leads in the file have the same name"), details={"field": "file", "leads": names})
    length = min(len(c) for c in columns)
    signal = np.column_stack([np.asarray(c[:length], dtype=np.float64) for c in columns])
    if length / sample_rate < MIN_SECONDS:
        raise InvalidInput(N_("the recording is too short to read (at least 2 seconds)"),
                           details={"field": "file", "seconds": round(length / sample_rate, 3)})
    if not np.isfinite(signal).all():
        # WFDB marks missing samples as NaN: a gap is zero volts to the eye, and flagged as flat.
        signal = np.nan_to_num(signal, nan=0.0, posinf=0.0, neginf=0.0)
    tracing = Tracing(leads=tuple(names), sample_rate=float(sample_rate), signal=signal.astype(np.float32),
                      source_format=source_format, **meta)  # type: ignore[arg-type]
    return with_derived_limb_leads(in_standard_order(tracing))


def with_derived_limb_leads(tracing: Tracing) -> Tracing:
    if "I" not in tracing.leads or "II" not in tracing.leads:
        return tracing
    i, ii = tracing.lead("I").astype(np.float64), tracing.lead("II").astype(np.float64)
    formulas = {"III": ii - i, "aVR": -(i + ii) / 2, "aVL": i - ii / 2, "aVF": ii - i / 2}
    missing = [name for name in LIMB_LEADS if name not in tracing.leads]
    if not missing:
        return tracing
    columns = [tracing.signal] + [formulas[name][:, None].astype(np.float32) for name in missing]
    return in_standard_order(replace(tracing, leads=tracing.leads + tuple(missing),
                                     signal=np.concatenate(columns, axis=1),
                                     derived_leads=tracing.derived_leads + tuple(missing)))


def in_standard_order(tracing: Tracing) -> Tracing:
    """Standard leads in the usual order, others after them; a one- or two-lead recording (a Holter's
    MLII and V5, say) keeps the device's order."""
    if sum(name in STANDARD_LEADS for name in tracing.leads) < 3:
        return tracing
    order = sorted(range(len(tracing.leads)), key=lambda k: _lead_rank(tracing.leads[k]))
    return replace(tracing, leads=tuple(tracing.leads[k] for k in order),
                   signal=np.ascontiguousarray(tracing.signal[:, order]))


def _lead_rank(name: str) -> tuple[int, str]:
    return (STANDARD_LEADS.index(name), "") if name in STANDARD_LEADS else (len(STANDARD_LEADS), name)


def to_npz(tracing: Tracing) -> bytes:
    """The normalised signal as it is kept: float32 samples, lead names and rate (no pickles)."""
    out = io.BytesIO()
    np.savez_compressed(out, signal=tracing.signal.astype(np.float32),
                        leads=np.array(tracing.leads, dtype="U16"),
                        sample_rate=np.array([tracing.sample_rate], dtype=np.float64))
    return out.getvalue()


def from_npz(data: bytes) -> tuple[tuple[str, ...], float, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return tuple(str(n) for n in npz["leads"]), float(npz["sample_rate"][0]), npz["signal"]
