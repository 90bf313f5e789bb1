"""Real ECG files for the tests, in every accepted format, from public reference data copied into
tests/diagnostics/ecg/data (see its README for sources, licences and the trimming of the MIT-BIH
records) and pydicom's test files (never generated waveforms standing in for real ones)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import wfdb
from pydicom.data import get_testdata_file

DATA = Path(__file__).parent / "data"
AECG = DATA / "aecg" / "example-aecg.xml"
CINC = DATA / "cinc2017"
MITDB = DATA / "mitdb"


def dicom_ecg() -> bytes:
    return Path(get_testdata_file("waveform_ecg.dcm")).read_bytes()


def dicom_ct() -> bytes:
    return Path(get_testdata_file("CT_small.dcm")).read_bytes()


def aecg() -> bytes:
    return AECG.read_bytes()


def cinc_parts(record: str) -> list[tuple[str, bytes]]:
    return [(f"{record}{ext}", (CINC / f"{record}{ext}").read_bytes()) for ext in (".hea", ".mat")]


def zipped(parts: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts:
            archive.writestr(name, data)
    return out.getvalue()


def mitdb_excerpt(record: str, start_s: float, seconds: float) -> list[tuple[str, bytes]]:
    """A stretch of an MIT-BIH record written back as a WFDB record (.hea + format-212 .dat)."""
    source = wfdb.rdrecord(str(MITDB / record), sampfrom=int(start_s * 360), sampto=int((start_s + seconds) * 360),
                           physical=False)
    with tempfile.TemporaryDirectory() as folder:
        name = f"m{record}"
        wfdb.wrsamp(name, fs=source.fs, units=source.units, sig_name=source.sig_name, d_signal=source.d_signal,
                    fmt=source.fmt, adc_gain=source.adc_gain, baseline=source.baseline, write_dir=folder)
        return [(f"{name}.hea", (Path(folder) / f"{name}.hea").read_bytes()),
                (f"{name}.dat", (Path(folder) / f"{name}.dat").read_bytes())]


def mitdb_beats(record: str, start_s: float, seconds: float) -> np.ndarray:
    ann = wfdb.rdann(str(MITDB / record), "atr", sampfrom=int(start_s * 360), sampto=int((start_s + seconds) * 360))
    beats = set("NLRBAaJSVrFejnE/fQ?")
    return np.array([s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in beats]) - int(start_s * 360)


def csv_from_dicom(*, rate_line: bool = False, microvolts: bool = True) -> bytes:
    """The DICOM ECG's twelve leads as CSV, as an export from a cart or a script would give them."""
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(dicom_ecg()))
    values = ds.waveform_array(0)  # microvolts
    names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    lines = []
    if rate_line:
        lines.append("# sample_rate=1000")
    if microvolts:
        lines.append("# units=uV")
    lines.append(",".join(names))
    scale = 1.0 if microvolts else 1e-3
    lines += [",".join(f"{v * scale:.4f}" for v in row) for row in values]
    return ("\n".join(lines) + "\n").encode()


def cart_measurements() -> dict[str, float]:
    """What the ECG cart itself measured, stored in the DICOM file's waveform annotations."""
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(dicom_ecg()))
    out = {}
    for item in ds.WaveformAnnotationSequence:
        names = item.get("ConceptNameCodeSequence")
        if names and item.get("NumericValue") is not None:
            out[names[0].CodeMeaning] = float(item.NumericValue)
    return out


def aecg_measurements() -> dict[str, float]:
    """The first annotated beat's global measurements in the aECG example (PR, QRS, QT, axis)."""
    from defusedxml.ElementTree import parse

    ns = {"h": "urn:hl7-org:v3"}
    root = parse(str(AECG)).getroot()
    beat = next(a for a in root.iter("{urn:hl7-org:v3}annotation")
                if a.find("h:code", ns) is not None and a.find("h:code", ns).get("code") == "MDC_ECG_BEAT")
    out = {}
    for part in beat.findall("h:component/h:annotation", ns):
        code, value = part.find("h:code", ns).get("code"), part.find("h:value", ns)
        if value is not None and value.get("value") is not None:
            out[code.removeprefix("MDC_ECG_")] = float(value.get("value"))
    return out
