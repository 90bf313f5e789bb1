"""Checks every DICOM entry point makes before pydicom reads a data set's body.

Deflated Explicit VR Little Endian is refused: pydicom inflates the whole body in memory with no
limit, so a few hundred kilobytes can ask for gigabytes (a decompression bomb). Modalities that
offer it also offer an uncompressed syntax, which the listener accepts instead."""

from __future__ import annotations

import io
from pathlib import Path

from pydicom.filereader import read_file_meta_info

DEFLATED = "1.2.840.10008.1.2.1.99"


def transfer_syntax(source: bytes | Path) -> str:
    """The transfer syntax named in the Part 10 file meta; "" when there is no readable meta."""
    try:
        meta = read_file_meta_info(io.BytesIO(source) if isinstance(source, bytes) else source)
    except Exception:  # noqa: BLE001 - unreadable meta: the full read refuses it with its own reason
        return ""
    return str(meta.get("TransferSyntaxUID", ""))


def is_deflated(source: bytes | Path) -> bool:
    return transfer_syntax(source) == DEFLATED
