"""An upload (one file, several WFDB files, or a zip) into a Tracing, whatever the format.

The format is the one the uploader names, else recognised from the bytes: DICOM by its "DICM"
magic, aECG by its AnnotatedECG root, WFDB by a .hea header (or a zip), CSV otherwise. Whatever
goes wrong reading it is a 422 that says why; nothing is stored before a file has been read."""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass

from carebridge.diagnostics.ecg import read_aecg, read_csv, read_dicom, read_wfdb
from carebridge.diagnostics.ecg.read_wfdb import NamedFile
from carebridge.diagnostics.ecg.tracing import Tracing
from carebridge.errors import CareBridgeError, InvalidInput, PayloadTooLarge
from carebridge.kit.i18n import N_

log = logging.getLogger(__name__)
FORMATS = ("dicom", "aecg", "wfdb", "csv")


@dataclass(frozen=True)
class Upload:
    tracing: Tracing
    original: bytes        # what is kept: the file as sent (the WFDB files zipped together)
    original_name: str


def read_upload(files: list[NamedFile], *, declared_format: str = "", sample_rate: float | None = None,
                max_bytes: int, max_seconds: float) -> Upload:
    files = [f for f in files if f.data or f.name]
    if not files or not any(f.data for f in files):
        raise InvalidInput(N_("the file is empty"), details={"field": "file"})
    if sum(len(f.data) for f in files) > max_bytes:
        raise PayloadTooLarge(N_("the file is larger than the upload limit"), details={"max_bytes": max_bytes})
    fmt = declared_format.strip().lower() or recognise(files)
    if fmt not in FORMATS:
        raise InvalidInput(N_("unknown ECG format"), details={"field": "format", "accepted": list(FORMATS)})
    if fmt != "wfdb" and len(files) != 1:
        raise InvalidInput(N_("upload one file (only a WFDB record has several)"), details={"field": "file"})
    tracing = _read(fmt, files, sample_rate, max_bytes)
    check_duration(tracing, max_seconds)
    original, name = (_zipped(files), _record_name(files) + ".zip") if fmt == "wfdb" and len(files) > 1 \
        else (files[0].data, files[0].name)
    return Upload(tracing=tracing, original=original, original_name=name[:200])


def check_duration(tracing: Tracing, max_seconds: float) -> None:
    if tracing.duration > max_seconds:
        raise InvalidInput(N_("the recording is longer than this service accepts"),
                           details={"field": "file", "seconds": round(tracing.duration, 1), "max_seconds": max_seconds})


def recognise(files: list[NamedFile]) -> str:
    if len(files) > 1 or read_wfdb.looks_like(files):
        return "wfdb"
    data = files[0].data
    if read_dicom.looks_like(data):
        return "dicom"
    if read_aecg.looks_like(data):
        return "aecg"
    if read_csv.looks_like(data):
        return "csv"
    raise InvalidInput(N_("the file is not an ECG this service can read (DICOM, HL7 aECG, WFDB or CSV)"),
                       details={"field": "file", "accepted": list(FORMATS)})


def _read(fmt: str, files: list[NamedFile], sample_rate: float | None, max_bytes: int) -> Tracing:
    try:
        if fmt == "dicom":
            return read_dicom.read(files[0].data)
        if fmt == "aecg":
            return read_aecg.read(files[0].data)
        if fmt == "wfdb":
            return read_wfdb.read(files, max_bytes)
        return read_csv.read(files[0].data, sample_rate)
    except CareBridgeError:
        raise
    except Exception as exc:  # a library tripping over a hostile file: a bad file, never a 500
        log.info("ECG upload could not be read as %s: %r", fmt, exc)
        raise InvalidInput(N_("the file cannot be read as the ECG format it claims to be"),
                           details={"field": "file", "format": fmt}) from exc


def _zipped(files: list[NamedFile]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for upload in sorted(files, key=lambda f: f.name):
            archive.writestr(zipfile.ZipInfo(upload.name, date_time=(1980, 1, 1, 0, 0, 0)), upload.data)
    return out.getvalue()


def _record_name(files: list[NamedFile]) -> str:
    header = next((f.name for f in files if f.name.lower().endswith(".hea")), "record.hea")
    return header.rsplit("/", 1)[-1][:-4] or "record"
