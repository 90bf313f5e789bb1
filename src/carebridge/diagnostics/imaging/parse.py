"""Reading and checking one received DICOM Part 10 file before anything is stored.

Every way in (C-STORE, STOW-RS, the upload page) hands over the same bytes: the 128-byte preamble,
"DICM", the file meta information and the data set. A file is refused with a `InvalidDicom` that
names the problem (a `Reason`) and carries the status the protocol reports for it: the DIMSE
C-STORE status (PS3.4 Table B.2-1) and the STOW-RS Failure Reason (PS3.18 Table 10.5.3-3).

pydicom reads a truncated file without complaint (the last value is simply short), so the checks
here compare declared lengths with what is there; pixel data must have the size its Rows, Columns,
Samples, Bits Allocated and Number of Frames promise (native) or be a valid item sequence
(encapsulated). Garbage pixel values of the right length are indistinguishable from an image and
are accepted; nothing downstream trusts them (the viewer decodes defensively)."""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

import pydicom
from pydicom import encaps
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.tag import BaseTag
from pydicom.uid import UID
from pynetdicom.service_class import StorageServiceClass
from pynetdicom.sop_class import uid_to_service_class

from carebridge.diagnostics.imaging import raw_values
from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_

PREAMBLE = 128
MAGIC = b"DICM"
UNDEFINED = 0xFFFFFFFF
SEQUENCE_DELIMITER_LE = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
UID_PATTERN = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
MAX_FRAMES = 100_000
# One frame's decoded size, checked before storing: rendering decodes a frame whole, so a header
# claiming a 20,000 x 20,000 frame in a small compressed file would ask for gigabytes later.
MAX_SIDE = 16_384
MAX_FRAME_BYTES = 256 * 1024 * 1024

# PS3.5 A.4 / 10: the syntaxes the listener accepts and STOW stores (stored as received, never transcoded).
# Not Deflated Explicit VR Little Endian: pydicom inflates it whole, without a limit (dicom_guard.py).
NATIVE_SYNTAXES = (
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2.2",  # Explicit VR Big Endian (retired, still sent by old modalities)
)
ENCAPSULATED_SYNTAXES = (
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
    "1.2.840.10008.1.2.4.202",  # HTJ2K Lossless RPCL
    "1.2.840.10008.1.2.4.203",  # HTJ2K
    "1.2.840.10008.1.2.5",  # RLE Lossless
)
TRANSFER_SYNTAXES = NATIVE_SYNTAXES + ENCAPSULATED_SYNTAXES
IMPLICIT_VR_LE, EXPLICIT_VR_BE = NATIVE_SYNTAXES[0], NATIVE_SYNTAXES[2]
# Values larger than this are not copied out of the file while reading (pixel data, mostly): the
# checks need only their lengths, and nothing reads them from the parsed data set afterwards.
DEFER_BYTES = 64 * 1024
PIXEL_DATA = 0x7FE00010


class Reason(StrEnum):
    not_dicom = "not_dicom"
    truncated = "truncated"
    malformed = "malformed"
    too_large = "too_large"
    missing_attribute = "missing_attribute"
    invalid_uid = "invalid_uid"
    not_storage_class = "not_storage_class"
    sop_class_mismatch = "sop_class_mismatch"
    unsupported_transfer_syntax = "unsupported_transfer_syntax"
    bad_pixel_data = "bad_pixel_data"
    study_mismatch = "study_mismatch"
    study_of_another_sender = "study_of_another_sender"
    bad_waveform = "bad_waveform"


# What a person reads for each reason (the upload page, the API's `message`); `detail` stays technical.
LABELS = {
    Reason.not_dicom: N_("not a DICOM file"),
    Reason.truncated: N_("the file is incomplete (cut off or damaged)"),
    Reason.malformed: N_("the DICOM data cannot be read"),
    Reason.too_large: N_("the file is too large"),
    Reason.missing_attribute: N_("a required DICOM attribute is missing"),
    Reason.invalid_uid: N_("a DICOM UID is not valid"),
    Reason.not_storage_class: N_("this kind of DICOM object is not an image CareBridge stores"),
    Reason.sop_class_mismatch: N_("the file's header contradicts its content"),
    Reason.unsupported_transfer_syntax: N_("this DICOM encoding is not accepted"),
    Reason.bad_pixel_data: N_("the image data does not match its description"),
    Reason.study_mismatch: N_("the image belongs to another study"),
    Reason.study_of_another_sender: N_("this study was sent by another facility"),
    Reason.bad_waveform: N_("the ECG in this file cannot be read or is not accepted"),
}

# reason -> (DIMSE C-STORE status, STOW-RS Failure Reason)
STATUS = {
    Reason.not_dicom: (0xC000, 0xC000),
    Reason.truncated: (0xC000, 0xC000),
    Reason.malformed: (0xC000, 0xC000),
    Reason.too_large: (0xA700, 0xA700),
    Reason.missing_attribute: (0xA900, 0xA900),
    Reason.invalid_uid: (0xA900, 0xA900),
    Reason.not_storage_class: (0x0122, 0x0122),
    Reason.sop_class_mismatch: (0xA900, 0xA900),
    Reason.unsupported_transfer_syntax: (0xC000, 0xC122),
    Reason.bad_pixel_data: (0xA900, 0xA900),
    Reason.study_mismatch: (0xA900, 0xA900),
    Reason.study_of_another_sender: (0xC000, 0xC000),
    Reason.bad_waveform: (0xA900, 0xA900),  # like pixel data that does not match its description
}


class InvalidDicom(InvalidInput):
    """A refused object; `message` is English for logs and the DICOM Error Comment (64 chars max)."""

    code = "invalid_dicom"

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message, details={"reason": reason.value})
        self.reason = reason

    @property
    def dimse_status(self) -> int:
        return STATUS[self.reason][0]

    @property
    def stow_failure_reason(self) -> int:
        return STATUS[self.reason][1]


@dataclass(frozen=True)
class ParsedInstance:
    """What the index and study matching need from one object, read from its own header. Values
    longer than DEFER_BYTES are not in `dataset` (their value is None); they are in the file."""

    dataset: Dataset
    transfer_syntax_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str
    series_uid: str


def with_preamble(data: bytes) -> bytes:
    """A file that starts with its meta group but lacks the preamble and "DICM" (pydicom and so
    dicomweb-client write such files unless asked otherwise) gets them; nothing else changes."""
    if data[:2] == b"\x02\x00" and data[4:6].isalpha() and data[PREAMBLE:PREAMBLE + 4] != MAGIC:
        return bytes(PREAMBLE) + MAGIC + data
    return data


def read_part10(data: bytes, max_bytes: int) -> ParsedInstance:
    if len(data) > max_bytes:
        raise InvalidDicom(Reason.too_large, f"object larger than the {max_bytes} byte limit")
    if len(data) < PREAMBLE + len(MAGIC) or data[PREAMBLE:PREAMBLE + 4] != MAGIC:
        raise InvalidDicom(Reason.not_dicom, "not a DICOM Part 10 file (no DICM after the preamble)")
    file = io.BytesIO(data)
    file.seek(PREAMBLE + len(MAGIC))
    meta = _parsed(lambda: read_dataset(file, False, True, stop_when=_after_meta))
    syntax = _uid(meta, "TransferSyntaxUID")
    if syntax not in TRANSFER_SYNTAXES:  # refused before its body is read (a deflated one would be inflated)
        raise InvalidDicom(Reason.unsupported_transfer_syntax, f"transfer syntax {syntax} is not accepted")
    dataset = _parsed(lambda: read_dataset(file, syntax == IMPLICIT_VR_LE, syntax != EXPLICIT_VR_BE,
                                           defer_size=DEFER_BYTES))
    _check_complete(dataset, data, syntax)
    parsed = ParsedInstance(dataset=dataset, transfer_syntax_uid=syntax, sop_class_uid=_uid(dataset, "SOPClassUID"),
                            sop_instance_uid=_uid(dataset, "SOPInstanceUID"),
                            study_uid=_uid(dataset, "StudyInstanceUID"), series_uid=_uid(dataset, "SeriesInstanceUID"))
    _check_classes(meta, parsed)
    _check_pixels(dataset, data, syntax in ENCAPSULATED_SYNTAXES)
    return parsed


def _after_meta(tag: BaseTag, _vr: str | None, _length: int) -> bool:
    return tag >> 16 != 2


def _parsed(read: Callable[[], Dataset]) -> Dataset:
    """pydicom's `read_dataset`, as `dcmread` calls it for the file meta and then the data set,
    without the FileDataset `dcmread` builds around them (a third of its time per object)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read()
    except (EOFError, MemoryError, OverflowError) as exc:
        raise InvalidDicom(Reason.truncated, f"the file ends early: {_short(exc)}") from None
    except (Exception, RecursionError) as exc:  # noqa: BLE001 - hostile input may raise anything pydicom can
        raise InvalidDicom(Reason.malformed, f"cannot be parsed: {_short(exc)}") from None


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:120]


def _value(dataset: Dataset, keyword: str):  # noqa: ANN202 - whatever pydicom makes of the element
    found = raw_values.value(dataset, keyword)
    if found is not raw_values.CONVERT:
        return found
    try:
        return dataset.get(keyword)
    except Exception as exc:  # noqa: BLE001 - a value that does not decode is the sender's error
        raise InvalidDicom(Reason.malformed, f"{keyword} cannot be decoded: {_short(exc)}") from None


def _get(dataset: Dataset, keyword: str):  # noqa: ANN202
    """The element's value, raw where that is the same (raw_values.py); raises what pydicom raises."""
    found = raw_values.value(dataset, keyword)
    return dataset.get(keyword) if found is raw_values.CONVERT else found


def _uid(dataset: Dataset, keyword: str) -> str:
    value = _value(dataset, keyword)
    if value is None or str(value).strip("\0 ") == "":
        raise InvalidDicom(Reason.missing_attribute, f"{keyword} is missing")
    text = str(value).strip("\0 ")
    if len(text) > 64 or not UID_PATTERN.match(text):
        raise InvalidDicom(Reason.invalid_uid, f"{keyword} is not a valid UID")
    return text


def _check_classes(meta: Dataset, parsed: ParsedInstance) -> None:
    stated = _value(meta, "MediaStorageSOPClassUID")
    if stated is not None and str(stated).strip("\0 ") != parsed.sop_class_uid:
        raise InvalidDicom(Reason.sop_class_mismatch, "file meta and data set name different SOP classes")
    stated_instance = _value(meta, "MediaStorageSOPInstanceUID")
    if stated_instance is not None and str(stated_instance).strip("\0 ") != parsed.sop_instance_uid:
        raise InvalidDicom(Reason.sop_class_mismatch, "file meta and data set name different SOP instances")
    if not is_storage_class(parsed.sop_class_uid):
        raise InvalidDicom(Reason.not_storage_class, f"{parsed.sop_class_uid} is not a storage SOP class")


def is_storage_class(uid: str) -> bool:
    return uid_to_service_class(UID(uid)) is StorageServiceClass


def _check_complete(dataset: Dataset, data: bytes, syntax: str) -> None:
    """The last element's declared length must end exactly at the end of the file: pydicom reads a
    short value silently, and a declared length beyond the file (hostile or truncated) shows here."""
    if not len(dataset):
        raise InvalidDicom(Reason.truncated, "the file holds no data set")
    last = raw_values.element(dataset, next(reversed(dataset.keys())))
    length, start = getattr(last, "length", None), getattr(last, "value_tell", None)
    if length is None or start is None:
        return
    if length == UNDEFINED:
        if syntax != "1.2.840.10008.1.2.2" and not data.endswith(SEQUENCE_DELIMITER_LE):
            raise InvalidDicom(Reason.truncated, "the file ends inside an undefined-length element")
    elif start + length != len(data):
        raise InvalidDicom(Reason.truncated, f"element {last.tag} declares {length} bytes; the file ends before")


def _count(dataset: Dataset, keyword: str, default: int | None = None) -> int | None:
    value = _value(dataset, keyword)
    if value is None or value == "":
        return default
    try:
        return _as_int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidDicom(Reason.malformed, f"{keyword} is not a number") from None


def _check_pixels(dataset: Dataset, data: bytes, encapsulated: bool) -> None:
    if "PixelData" not in dataset:
        return
    rows, columns = _count(dataset, "Rows"), _count(dataset, "Columns")
    bits, samples = _count(dataset, "BitsAllocated"), _count(dataset, "SamplesPerPixel", 1)
    frames = _count(dataset, "NumberOfFrames", 1) or 1
    if not rows or not columns or not bits or not samples:
        raise InvalidDicom(Reason.missing_attribute, "pixel data without Rows, Columns, Bits Allocated")
    if bits not in (1, 8, 16, 32, 64) or samples not in (1, 3, 4) or not 0 < frames <= MAX_FRAMES:
        raise InvalidDicom(Reason.bad_pixel_data, "implausible pixel description")
    if rows > MAX_SIDE or columns > MAX_SIDE or rows * columns * samples * max(bits // 8, 1) > MAX_FRAME_BYTES:
        raise InvalidDicom(Reason.bad_pixel_data, "a frame this large is not accepted")
    element = raw_values.element(dataset, PIXEL_DATA)
    value = element.value
    if value is None and element.length:  # deferred (DEFER_BYTES): where it lies in the file
        value = memoryview(data)[element.value_tell:element.value_tell + element.length]
    value = value or b""
    if encapsulated:
        _check_fragments(bytes(value), frames)
        return
    pixels = rows * columns * samples * frames
    expected = (pixels + 7) // 8 if bits == 1 else pixels * bits // 8
    if len(value) not in (expected, expected + 1):  # PS3.5 8.1.1: odd lengths are padded by one byte
        raise InvalidDicom(Reason.bad_pixel_data, f"pixel data has {len(value)} bytes; the header implies {expected}")


def _check_fragments(value: bytes, frames: int) -> None:
    try:
        fragments = sum(1 for _ in encaps.generate_fragments(value))
    except Exception as exc:  # noqa: BLE001
        raise InvalidDicom(Reason.bad_pixel_data, f"encapsulated pixel data is not an item sequence: {_short(exc)}") \
            from None
    if fragments < 2:  # the Basic Offset Table item, then at least one fragment
        raise InvalidDicom(Reason.bad_pixel_data, "encapsulated pixel data holds no fragments")


def text_of(dataset: Dataset, keyword: str, limit: int) -> str:
    """A display string, never an exception: optional attributes never refuse an object."""
    try:
        value = _get(dataset, keyword)
    except Exception:  # noqa: BLE001
        return ""
    if value is None:
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        value = "\\".join(str(v) for v in value)
    return str(value).strip("\0 ")[:limit]


def int_of(dataset: Dataset, keyword: str) -> int | None:
    try:
        value = _get(dataset, keyword)
        return _as_int(value) if value not in (None, "") and str(value).strip() else None
    except Exception:  # noqa: BLE001
        return None


def _as_int(value: object) -> int:
    """An integer element's value: IS text as sent ("12", " 12", and "12.0", which pydicom reads as 12
    too), a binary integer, or pydicom's conversion."""
    if not isinstance(value, str):
        return int(value)
    text = value.strip()
    if text.lstrip("+-").isdigit():
        return int(text)
    number = float(text)
    if not number.is_integer():
        raise ValueError("not an integer")
    return int(number)


def float_of(dataset: Dataset, keyword: str) -> float | None:
    try:
        value = _get(dataset, keyword)
        if isinstance(value, str):  # DS as sent, maybe several values: the first
            value = value.split("\\", 1)[0].strip()
        elif isinstance(value, pydicom.multival.MultiValue):
            value = value[0] if len(value) else None
        return float(value) if value not in (None, "") else None
    except Exception:  # noqa: BLE001
        return None


def acquired_at(dataset: Dataset, default_zone: str) -> dt.datetime | None:
    """Study Date and Time as UTC. DICOM times are local: Timezone Offset From UTC (0008,0201)
    when the sender gives it, else the network's display zone."""
    date, time = text_of(dataset, "StudyDate", 8), text_of(dataset, "StudyTime", 16)
    try:
        day = dt.datetime.strptime(date, "%Y%m%d")
    except ValueError:
        return None
    digits = time.split(".")[0]
    if len(digits) >= 2 and digits.isdigit():
        digits = digits.ljust(6, "0")
        day = day.replace(hour=min(int(digits[:2]), 23), minute=min(int(digits[2:4]), 59),
                          second=min(int(digits[4:6]), 59))
    return day.replace(tzinfo=_zone(text_of(dataset, "TimezoneOffsetFromUTC", 5), default_zone)).astimezone(dt.UTC)


def _zone(offset: str, default_zone: str) -> dt.tzinfo:
    if len(offset) == 5 and offset[0] in "+-" and offset[1:].isdigit():
        minutes = int(offset[1:3]) * 60 + int(offset[3:])
        return dt.timezone(dt.timedelta(minutes=minutes if offset[0] == "+" else -minutes))
    return ZoneInfo(default_zone)
