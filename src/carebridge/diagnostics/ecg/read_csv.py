"""ECG samples as CSV text, for devices and scripts that export nothing better.

The accepted shape (docs/architecture.md, ECG):

    # sample_rate=500          optional comment lines first: sample_rate (Hz) and units (mV or uV)
    # units=uV
    time,I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6
    0.000,12,-40,...
    0.002,15,-38,...

- one header row of lead names (I, II, ..., V6; "avr", "Lead II" and the like are understood);
- then one row per sample, one column per lead, comma-, semicolon- or tab-separated, '.' decimals;
- values in mV unless `# units=uV`;
- the sampling rate from the upload's `sample_rate` field, else the `# sample_rate=` comment, else
  from a leading time column (`time`/`t`/`time_s` in seconds, `time_ms` in ms), which is not a lead.
"""

from __future__ import annotations

import io
import re

import numpy as np

from carebridge.diagnostics.ecg.tracing import Tracing, build
from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_

TIME_COLUMNS = {"time": 1.0, "t": 1.0, "time_s": 1.0, "seconds": 1.0, "time_ms": 1e-3, "ms": 1e-3}
UNITS = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3}
_COMMENT = re.compile(r"^#\s*([A-Za-z_]+)\s*[=:]\s*(\S+)\s*$")


def looks_like(data: bytes) -> bool:
    head = data[:2048]
    return b"\x00" not in head and not head.lstrip().startswith(b"<")


def read(data: bytes, sample_rate: float | None = None) -> Tracing:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(N_("the CSV file is not UTF-8 text"), details={"field": "file"}) from exc
    lines = text.splitlines()
    settings, header_at = _comments(lines)
    if header_at >= len(lines):
        raise InvalidInput(N_("the CSV file has no header row of lead names"), details={"field": "file"})
    delimiter = next((d for d in (",", ";", "\t") if d in lines[header_at]), ",")
    names = [n.strip().strip('"') for n in lines[header_at].split(delimiter)]
    values = _numbers("\n".join(lines[header_at + 1:]), delimiter, len(names))
    unit = UNITS.get(settings.get("units", "mv").lower())
    if unit is None:
        raise InvalidInput(N_("the CSV units must be mV or uV"), details={"field": "file",
                                                                        "units": settings.get("units")})
    time_scale = TIME_COLUMNS.get(names[0].lower())
    rate = sample_rate or _rate_setting(settings) or (_rate_from_time(values[:, 0] * time_scale)
                                                      if time_scale else None)
    if rate is None:
        raise InvalidInput(N_("give the sampling rate (the sample_rate field or a '# sample_rate=' line)"),
                           details={"field": "sample_rate"})
    if time_scale:
        names, values = names[1:], values[:, 1:]
    return build(names, [values[:, k] * unit for k in range(values.shape[1])], rate, "csv")


def _comments(lines: list[str]) -> tuple[dict[str, str], int]:
    settings: dict[str, str] = {}
    index = 0
    while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
        match = _COMMENT.match(lines[index].strip())
        if match:
            settings[match.group(1).lower()] = match.group(2)
        index += 1
    return settings, index


def _numbers(body: str, delimiter: str, columns: int) -> np.ndarray:
    try:
        values = np.loadtxt(io.StringIO(body), delimiter=delimiter, ndmin=2, dtype=np.float64, comments="#")
    except ValueError as exc:
        raise InvalidInput(N_("the CSV file has a value that is not a number"),
                           details={"field": "file", "reason": str(exc)[:200]}) from exc
    if values.shape[0] == 0:
        raise InvalidInput(N_("the CSV file has no samples"), details={"field": "file"})
    if values.shape[1] != columns:
        raise InvalidInput(N_("the CSV rows do not have one value per header column"),
                           details={"field": "file", "header_columns": columns, "row_columns": values.shape[1]})
    return values


def _rate_setting(settings: dict[str, str]) -> float | None:
    raw = settings.get("sample_rate") or settings.get("fs") or settings.get("sampling_rate")
    if raw is None:
        return None
    try:
        return float(raw.lower().removesuffix("hz"))
    except ValueError as exc:
        raise InvalidInput(N_("the sampling rate must be a number in Hz"),
                           details={"field": "sample_rate", "value": raw}) from exc


def _rate_from_time(seconds: np.ndarray) -> float | None:
    steps = np.diff(seconds)
    if steps.size == 0 or not np.all(steps > 0):
        raise InvalidInput(N_("the CSV time column must increase from row to row"), details={"field": "file"})
    return float(1.0 / np.median(steps))
