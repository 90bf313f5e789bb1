"""WFDB records (PhysioNet): a .hea header and the signal files it names (.dat, or .mat as the
PhysioNet/CinC challenges ship them), uploaded as separate files or in one zip, read with wfdb.

wfdb reads from a directory, so the files are written to a fresh temporary one. The header names
its signal files; each name must be a plain file name that was uploaded (a header cannot make
wfdb read anything else on this machine). A zip may hold only a few small files (no zip bombs)."""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import wfdb

from carebridge.diagnostics.ecg.tracing import Tracing, build
from carebridge.diagnostics.ecg.when import device_time
from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_

MAX_FILES = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "v": 1e3}


@dataclass(frozen=True)
class NamedFile:
    name: str
    data: bytes


def looks_like(files: list[NamedFile]) -> bool:
    return any(f.name.lower().endswith(".hea") for f in files) or any(zipfile.is_zipfile(io.BytesIO(f.data))
                                                                      for f in files if f.data[:2] == b"PK")


def unzip(files: list[NamedFile], max_bytes: int) -> list[NamedFile]:
    """Uploaded files with any zip among them opened: plain names only, few and small."""
    out: list[NamedFile] = []
    for upload in files:
        if upload.data[:2] != b"PK" or not zipfile.is_zipfile(io.BytesIO(upload.data)):
            out.append(upload)
            continue
        with zipfile.ZipFile(io.BytesIO(upload.data)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > MAX_FILES or sum(m.file_size for m in members) > max_bytes:
                raise InvalidInput(N_("the zip holds too many or too large files for one ECG record"),
                                   details={"field": "file", "max_files": MAX_FILES, "max_bytes": max_bytes})
            for member in members:
                out.append(NamedFile(PurePosixPath(member.filename).name, archive.read(member)))
    return out


def read(files: list[NamedFile], max_bytes: int) -> Tracing:
    files = unzip(files, max_bytes)
    by_name = _check_names(files)
    headers = [name for name in by_name if name.lower().endswith(".hea")]
    if len(headers) != 1:
        raise InvalidInput(N_("a WFDB record needs exactly one .hea header file"),
                           details={"field": "file", "headers": headers})
    record_name = headers[0][:-4]
    with tempfile.TemporaryDirectory(prefix="cb-wfdb-") as folder:
        for name, data in by_name.items():
            (Path(folder) / name).write_bytes(data)
        record = _read_record(Path(folder), record_name, set(by_name))
    return _to_tracing(record)


def _check_names(files: list[NamedFile]) -> dict[str, bytes]:
    if len(files) > MAX_FILES:
        raise InvalidInput(N_("too many files for one ECG record"), details={"field": "file", "max": MAX_FILES})
    by_name: dict[str, bytes] = {}
    for upload in files:
        name = PurePosixPath(upload.name.replace("\\", "/")).name
        if not _NAME.match(name) or ".." in name:
            raise InvalidInput(N_("a file name in the WFDB record is not acceptable"),
                               details={"field": "file", "name": name[:100]})
        if name in by_name:
            raise InvalidInput(N_("two uploaded files have the same name"), details={"field": "file", "name": name})
        by_name[name] = upload.data
    return by_name


def _read_record(folder: Path, record_name: str, uploaded: set[str]) -> wfdb.Record:
    path = str(folder / record_name)
    try:
        header = wfdb.rdheader(path)
    except Exception as exc:  # wfdb raises bare ValueErrors, IndexErrors, ... on a bad header
        raise InvalidInput(N_("the WFDB header cannot be read"), details={"field": "file",
                                                                        "reason": str(exc)[:200]}) from exc
    if getattr(header, "n_seg", None):
        raise InvalidInput(N_("multi-segment WFDB records are not accepted"), details={"field": "file"})
    missing = sorted({n for n in (header.file_name or []) if n not in uploaded})
    if missing or not header.file_name:
        raise InvalidInput(N_("the WFDB header names signal files that were not uploaded"),
                           details={"field": "file", "missing": missing})
    try:
        return wfdb.rdrecord(path, physical=True, return_res=64)
    except Exception as exc:  # a truncated .dat, a format wfdb does not know
        raise InvalidInput(N_("the WFDB signal files cannot be read"), details={"field": "file",
                                                                              "reason": str(exc)[:200]}) from exc


def _to_tracing(record: wfdb.Record) -> Tracing:
    signal = record.p_signal
    if signal is None or signal.ndim != 2:
        raise InvalidInput(N_("the WFDB signal files cannot be read"), details={"field": "file"})
    columns = []
    for k, unit in enumerate(record.units or ["mV"] * signal.shape[1]):
        factor = TO_MV.get((unit or "mV").strip().lower())
        if factor is None:
            raise InvalidInput(N_("an ECG channel is not in volts"), details={"field": "file", "unit": unit})
        columns.append(signal[:, k] * factor)
    start = None
    if record.base_date is not None:
        base = dt.datetime.combine(record.base_date, record.base_time or dt.time())
        start = device_time(base.strftime("%Y%m%d%H%M%S"))
    return build(list(record.sig_name), columns, float(record.fs), "wfdb", start=start,
                 patient_key="", study_uid="")
