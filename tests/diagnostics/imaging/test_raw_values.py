"""The header values the index reads straight from the raw elements (raw_values.py) are the ones
pydicom's conversion gives, on every bundled file pydicom ships (little and big endian, implicit
VR, compressed, waveforms, Chinese character sets) and on values written to tempt a difference."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from carebridge.diagnostics.imaging import parse
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_dataset, part10_bytes

TEXT = ("Modality", "AccessionNumber", "PatientID", "PatientName", "StudyDescription", "StudyDate", "StudyTime",
        "StudyID", "ReferringPhysicianName", "PatientBirthDate", "PatientSex", "SeriesDescription",
        "BodyPartExamined", "PhotometricInterpretation", "PixelSpacing", "SOPInstanceUID", "StudyInstanceUID",
        "TimezoneOffsetFromUTC")
INTEGERS = ("InstanceNumber", "Rows", "Columns", "NumberOfFrames", "BitsAllocated", "SeriesNumber", "SamplesPerPixel")
FLOATS = ("SliceLocation", "WindowCenter", "WindowWidth", "RescaleSlope", "RescaleIntercept")


def _pydicom_text(ds, keyword: str, limit: int = 200) -> str:  # noqa: ANN001 - as parse.text_of read before
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001
        return ""
    if value is None:
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        value = "\\".join(str(v) for v in value)
    return str(value).strip("\0 ")[:limit]


def _pydicom_int(ds, keyword: str) -> int | None:  # noqa: ANN001
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else None
    except Exception:  # noqa: BLE001
        return None


def _pydicom_float(ds, keyword: str) -> float | None:  # noqa: ANN001
    try:
        value = ds.get(keyword)
        if isinstance(value, pydicom.multival.MultiValue):
            value = value[0] if len(value) else None
        return float(value) if value not in (None, "") else None
    except Exception:  # noqa: BLE001
        return None


def _read(data: bytes):  # noqa: ANN202
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data), force=True)


def _same(data: bytes) -> None:
    raw, converted = _read(data), _read(data)  # two reads: the raw one must not see converted values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for keyword in TEXT:
            assert parse.text_of(raw, keyword, 200) == _pydicom_text(converted, keyword), keyword
        for keyword in INTEGERS:
            assert parse.int_of(raw, keyword) == _pydicom_int(converted, keyword), keyword
        for keyword in FLOATS:
            assert parse.float_of(raw, keyword) == _pydicom_float(converted, keyword), keyword


# The files installed with pydicom (its test and character set files), never the ones it downloads.
BUNDLED = Path(get_testdata_file("CT_small.dcm")).parents[1]
FILES = sorted([*BUNDLED.glob("test_files/**/*.dcm"), *BUNDLED.glob("charset_files/*.dcm")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_raw_values_equal_pydicom_on_its_bundled_files(path):
    _same(path.read_bytes())


def test_raw_values_equal_pydicom_on_values_that_tempt_a_difference():
    ds = ct_dataset(SeriesSpec(count=1), 0)
    ds.PatientName, ds.StudyDescription = "王^秀英", "胸部 CT  "  # not ASCII: pydicom decodes it
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.InstanceNumber, ds.SliceLocation = "  7 ", " -12.50"
    ds.WindowCenter, ds.WindowWidth = ["40", "400"], ["80", "1500"]
    ds.PixelSpacing = ["0.4883", "0.4883"]
    _same(part10_bytes(ds))
