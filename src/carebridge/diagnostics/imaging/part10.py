"""The Part 10 file of a received C-STORE request: its data set, as received, behind the File Meta
Information pynetdicom's `Event.encoded_dataset(include_meta=True)` writes (PS3.10 7.1), encoded
here without pydicom's writer, which took ~0.4 ms of CPU per object."""

from __future__ import annotations

import struct
from typing import Any

from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION


def part10_file(request: Any, transfer_syntax: str) -> bytes:
    return b"".join((file_prefix(request.AffectedSOPClassUID, request.AffectedSOPInstanceUID, transfer_syntax),
                     request.DataSet.getvalue()))


def file_prefix(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str) -> bytes:
    """The preamble, "DICM" and the File Meta Information: all of the file before its data set."""
    elements = b"".join((
        _element(0x0001, b"OB", b"\x00\x01"),
        _element(0x0002, b"UI", _uid(sop_class_uid)),
        _element(0x0003, b"UI", _uid(sop_instance_uid)),
        _element(0x0010, b"UI", _uid(transfer_syntax)),
        _element(0x0012, b"UI", _uid(PYNETDICOM_IMPLEMENTATION_UID)),
        _element(0x0013, b"SH", _padded(PYNETDICOM_IMPLEMENTATION_VERSION.encode("ascii"), b" "))))
    group_length = _element(0x0000, b"UL", struct.pack("<I", len(elements)))
    return b"".join((bytes(128), b"DICM", group_length, elements))


def _uid(value: Any) -> bytes:
    return _padded(str(value).encode("ascii"), b"\0")


def _padded(value: bytes, pad: bytes) -> bytes:
    return value + pad if len(value) % 2 else value


def _element(element: int, vr: bytes, value: bytes) -> bytes:
    """Group 0002, explicit VR little endian (PS3.5 7.1.2): OB has a reserved field and 4-byte length."""
    if vr == b"OB":
        return struct.pack("<HH", 2, element) + vr + struct.pack("<HI", 0, len(value)) + value
    if len(value) > 0xFFFF:
        raise ValueError("file meta value too long")
    return struct.pack("<HH", 2, element) + vr + struct.pack("<H", len(value)) + value
