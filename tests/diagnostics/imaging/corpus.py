"""The bad-file corpus: each entry is a file a sender might really produce (or an attacker craft),
with the reason CareBridge must give for refusing it. Built from real pydicom data sets."""

from __future__ import annotations

import functools
import struct
import warnings

from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.uid import RLELossless, generate_uid

from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_dataset, part10_bytes

MODALITY_WORKLIST_FIND = "1.2.840.10008.5.1.4.31"


def good(spec: SeriesSpec | None = None, index: int = 0) -> bytes:
    return part10_bytes(ct_dataset(spec or SeriesSpec(size=64), index))


def _without(keyword: str) -> bytes:
    ds = ct_dataset(SeriesSpec(size=64), 0)
    delattr(ds, keyword)
    return part10_bytes(ds)


def _huge_length() -> bytes:
    """A small element (Study Description) declaring 0xFFFFFFF0 bytes, far beyond the file."""
    ds = ct_dataset(SeriesSpec(size=64), 0)
    ds.StudyDescription = "HUGE"
    data = bytearray(part10_bytes(ds))
    at = data.index(b"\x08\x00\x30\x10LO")  # (0008,1030) LO, explicit VR: 2-byte length follows
    # Re-declare it as UN with a 4-byte length (PS3.5 7.1.2) so the length can be that large.
    data[at + 4:at + 8] = b"UN\x00\x00"
    return bytes(data[:at + 8]) + struct.pack("<I", 0xFFFFFFF0) + bytes(data[at + 10:])


def _wrong_pixel_length() -> bytes:
    ds = ct_dataset(SeriesSpec(size=64), 0)
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]  # half an image: garbage by the header's account
    return part10_bytes(ds)


def _garbage_encapsulated() -> bytes:
    """RLE-declared pixel data whose item sequence is random bytes (then a proper delimiter)."""
    ds = ct_dataset(SeriesSpec(size=64), 0)
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.PixelData = encapsulate([b"\x00" * 64])
    ds["PixelData"].VR = "OB"
    data = part10_bytes(ds)
    header = b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff"
    start = data.index(header) + len(header)
    end = len(data) - 8  # keep the sequence delimiter
    return data[:start] + bytes((i * 37 + 11) % 251 for i in range(end - start)) + data[end:]


def _non_storage_class() -> bytes:
    ds = ct_dataset(SeriesSpec(size=64), 0)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MODALITY_WORKLIST_FIND
    return part10_bytes(ds)


def _wrong_preamble() -> bytes:
    data = bytearray(good())
    data[128:132] = b"DICN"
    return bytes(data)


def _bad_uid() -> bytes:
    ds = ct_dataset(SeriesSpec(size=64), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about exactly what this file is for
        ds.SeriesInstanceUID = "1.2.3.abc"
    return part10_bytes(ds)


@functools.cache
def corpus() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, reason code CareBridge must give)."""
    whole = good()
    return {
        "truncated": (whole[: len(whole) - 1000], "truncated"),
        "truncated_in_header": (whole[:400], "truncated"),
        "not_dicom": (b"%PDF-1.4 this is not an image\n" * 20, "not_dicom"),
        "empty": (b"", "not_dicom"),
        "wrong_preamble": (_wrong_preamble(), "not_dicom"),
        "missing_sop_instance_uid": (_without("SOPInstanceUID"), "missing_attribute"),
        "missing_study_uid": (_without("StudyInstanceUID"), "missing_attribute"),
        "missing_series_uid": (_without("SeriesInstanceUID"), "missing_attribute"),
        "invalid_uid": (_bad_uid(), "invalid_uid"),
        "huge_declared_length": (_huge_length(), "truncated"),
        "pixel_length_mismatch": (_wrong_pixel_length(), "bad_pixel_data"),
        "garbage_encapsulated_pixels": (_garbage_encapsulated(), "bad_pixel_data"),
        "non_storage_sop_class": (_non_storage_class(), "not_storage_class"),
    }


def fresh_uid() -> str:
    return generate_uid()


def bundled_file(name: str) -> str:
    """A file pydicom ships; never downloaded (nothing may contact an outside address)."""
    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} is not among pydicom's bundled test files"
    return path
