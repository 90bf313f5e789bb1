"""What DICOMweb puts on the wire: Accept negotiation, multipart/related bodies, uncompressed frames
and the DICOM JSON model (PS3.18 8.7 and F). No database, no HTTP framework: pure functions that
the routes in dicomweb.py call (the CPU-bound ones through a thread)."""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import pack_bits, pixel_array
from pydicom.uid import UID, ExplicitVRLittleEndian

from carebridge.diagnostics.imaging.rendering import JPEG, PNG, NotRenderable, decode_frame, frame_count
from carebridge.errors import CareBridgeError
from carebridge.kit.i18n import N_

DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
OCTETS = "application/octet-stream"
EXPLICIT_LE = str(ExplicitVRLittleEndian)
PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
PIXEL_KEYS = {"7FE00010", "7FE00008", "7FE00009"}


class NotAcceptable(CareBridgeError):
    status_code = 406
    code = "not_acceptable"


@dataclass(frozen=True)
class MediaRange:
    media_type: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    @property
    def part_type(self) -> str:
        """For multipart/related: the type parameter, the media type of each part."""
        return self.params.get("type", "").lower()

    @property
    def transfer_syntax(self) -> str:
        return self.params.get("transfer-syntax", "")


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_accept(header: str | None) -> list[MediaRange]:
    """Media ranges best first (by q, then as written). An absent header accepts anything."""
    if not header or not header.strip():
        return [MediaRange("*/*")]
    ranges = []
    for position, item in enumerate(_split_outside_quotes(header, ",")):
        pieces = _split_outside_quotes(item, ";")
        media_type = pieces[0].strip().lower()
        if not media_type:
            continue
        params = {}
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        if q > 0:
            ranges.append((-q, position, MediaRange(media_type, params, q)))
    return [r for _, _, r in sorted(ranges, key=lambda t: (t[0], t[1]))]


def _multipart_of(accepted: MediaRange, part_types: tuple[str, ...]) -> bool:
    if accepted.media_type in ("*/*", "multipart/*"):
        return accepted.part_type in ("", "*/*", *part_types)
    return accepted.media_type == "multipart/related" and accepted.part_type in ("", "*/*", *part_types)


def choose_dicom_syntax(header: str | None, stored_syntax: str) -> str:
    """For retrieving instances (multipart/related; type="application/dicom"). Returns the transfer
    syntax to send: the stored one unless the client names another; we can transcode to Explicit VR
    Little Endian only."""
    for accepted in parse_accept(header):
        if not _multipart_of(accepted, (DICOM,)):
            continue
        wanted = accepted.transfer_syntax
        if wanted in ("", "*", stored_syntax):
            return stored_syntax
        if wanted == EXPLICIT_LE:
            return EXPLICIT_LE
    raise NotAcceptable(N_('instances are sent as multipart/related; type="application/dicom" in the stored '
                           'transfer syntax or Explicit VR Little Endian'))


def require_frames_acceptable(header: str | None) -> None:
    """Frames and bulk data go out uncompressed (Explicit VR Little Endian byte order)."""
    for accepted in parse_accept(header):
        if _multipart_of(accepted, (OCTETS,)) and accepted.transfer_syntax in ("", "*", EXPLICIT_LE):
            return
    raise NotAcceptable(N_('frames are sent as multipart/related; type="application/octet-stream" '
                           '(uncompressed, little endian)'))


def require_json_acceptable(header: str | None) -> None:
    for accepted in parse_accept(header):
        if accepted.media_type in (DICOM_JSON, "application/json", "application/*", "*/*"):
            return
    raise NotAcceptable(N_("search results and metadata are sent as application/dicom+json"))


def choose_image_type(header: str | None) -> str:
    for accepted in parse_accept(header):
        if accepted.media_type in (JPEG, PNG):
            return accepted.media_type
        if accepted.media_type in ("image/*", "*/*"):
            return JPEG
    raise NotAcceptable(N_("rendered images are sent as image/jpeg or image/png"))


def multipart_content_type(boundary: str, part_type: str) -> str:
    """The message's type; each part's own Content-Type names its transfer syntax."""
    return f'multipart/related; type="{part_type}"; boundary={boundary}'


def new_boundary() -> str:
    return "cb-" + secrets.token_hex(16)


def part_head(boundary: str, content_type: str, location: str | None = None) -> bytes:
    lines = [f"--{boundary}", f"Content-Type: {content_type}"]
    if location:
        lines.append(f"Content-Location: {location}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def multipart_body(boundary: str, parts: Iterable[tuple[str, bytes, str | None]]) -> bytes:
    """(content type, payload, location) parts → one body (RFC 2046 5.1.1)."""
    out = bytearray()
    for content_type, payload, location in parts:
        out += part_head(boundary, content_type, location) + payload + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


async def multipart_stream(boundary: str, parts: AsyncIterator[tuple[str, bytes]]) -> AsyncIterator[bytes]:
    """The same, streamed one (content type, payload) part at a time so a study is never held in
    memory whole."""
    async for content_type, payload in parts:
        yield part_head(boundary, content_type) + payload + b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def parse_frame_numbers(text: str, available: int) -> list[int]:
    """`1,3,5` → [1, 3, 5]; PS3.18 8.3.3.1: frame numbers are one-based and must exist."""
    numbers = []
    for piece in text.split(","):
        piece = piece.strip()
        if not piece.isdigit():
            raise CareBridgeError(N_("frame numbers must be positive whole numbers separated by commas"),
                                  details={"frames": text})
        numbers.append(int(piece))
    missing = [n for n in numbers if not 1 <= n <= available]
    if missing:
        raise NotFoundFrame(N_("there is no such frame in this instance"),
                            details={"frames": missing, "number_of_frames": available})
    return numbers


class NotFoundFrame(CareBridgeError):
    status_code = 404
    code = "no_such_frame"


def _native_little_endian(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    syntax = UID(meta.get("TransferSyntaxUID", EXPLICIT_LE) if meta is not None else EXPLICIT_LE)
    return not syntax.is_compressed and syntax.is_little_endian and not syntax.is_deflated


def frame_bytes(ds: Dataset, index: int) -> bytes:
    """One frame uncompressed, little endian, samples interleaved as stored (PS3.18 8.7.3.3.2).
    Native little-endian data is sliced straight from the stored bytes; anything compressed or big
    endian is decoded by pydicom's pixel handlers (colour from JPEG arrives as RGB)."""
    if "PixelData" in ds and _native_little_endian(ds):
        bits = int(ds.BitsAllocated)
        if bits % 8 == 0:
            length = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1)) * bits // 8
            data = ds.PixelData
            if len(data) >= (index + 1) * length:
                return bytes(data[index * length:(index + 1) * length])
    if "PixelData" in ds and int(ds.get("BitsAllocated", 8)) == 1:
        return pack_bits(pixel_array(ds, index=index))
    pixels = decode_frame(ds, index)
    return np.ascontiguousarray(pixels.astype(pixels.dtype.newbyteorder("<"), copy=False)).tobytes()


def frames_of(ds: Dataset, numbers: list[int]) -> list[bytes]:
    return [frame_bytes(ds, n - 1) for n in numbers]


def all_frames(ds: Dataset) -> bytes:
    if not any(tag in ds for tag in PIXEL_TAGS):
        raise NotRenderable(N_("this object has no pixel data"))
    return b"".join(frame_bytes(ds, i) for i in range(frame_count(ds)))


def transcode_to_explicit_le(ds: Dataset) -> bytes:
    """Re-encodes a stored object as Explicit VR Little Endian (decompressing if needed)."""
    try:
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            ds.decompress()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        out = io.BytesIO()
        ds.save_as(out, implicit_vr=False, little_endian=True, enforce_file_format=True)
    except Exception as exc:  # noqa: BLE001 - a codec we lack: tell the client to take the stored syntax
        raise NotAcceptable(N_("this instance cannot be transcoded; ask for the stored transfer syntax"),
                            details={"reason": str(exc)[:200]}) from exc
    return out.getvalue()


def to_dicom_json(ds: Dataset, bulk_uri: str) -> dict:
    """The DICOM JSON model of one instance (PS3.18 F.2) with the file meta group, pixel data as a
    BulkDataURI (retrieved uncompressed), and other binary values inline."""
    # Bulk data is served uncompressed, so pixel data is OW when deeper than 8 bits, whatever it was stored as.
    pixel_vr = {tag: "OW" if tag == "PixelData" and int(ds.get("BitsAllocated", 8)) > 8 else str(ds[tag].VR)
                for tag in PIXEL_TAGS if tag in ds}
    for tag in pixel_vr:
        del ds[tag]
    body = ds.to_json_dict(suppress_invalid_tags=True)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        body.update(meta.to_json_dict(suppress_invalid_tags=True))
    for tag, vr in pixel_vr.items():
        key = {"PixelData": "7FE00010", "FloatPixelData": "7FE00008", "DoubleFloatPixelData": "7FE00009"}[tag]
        body[key] = {"vr": vr, "BulkDataURI": bulk_uri}
    return dict(sorted(body.items()))
