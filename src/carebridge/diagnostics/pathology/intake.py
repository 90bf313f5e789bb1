"""What an upload holds: each slide in it found, read and checked before anything is stored.

Runs in a worker thread (blocking file and OpenSlide calls). An upload is a set of files already
on disk in a staging folder; a zip is unpacked into it first. Then:
- DICOM files (PS3.10 "DICM" magic) must be VL Whole Slide Microscopy images; each series becomes
  one slide, its files side by side in one folder, as OpenSlide reads a DICOM WSI.
- A file OpenSlide recognises is a whole-slide image.
- Anything else must be a JPEG, PNG or TIFF picture: a micrograph.
Every slide is then opened and a little of it decoded (the smallest level and a piece of the
largest), so a damaged file is refused now, with its name, and not found by the reader later.
A TIFF's strips and tiles must all lie inside the file: a truncated slide fails here even when
its first levels still decode."""

from __future__ import annotations

import hashlib
import shutil
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import openslide
import pydicom
import tifffile
from PIL import Image, UnidentifiedImageError
from pydicom.errors import InvalidDicomError

from carebridge.diagnostics.dicom_guard import is_deflated
from carebridge.diagnostics.pathology.models import SlideKind
from carebridge.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from carebridge.kit.i18n import N_

WSI_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"  # DICOM PS3.4 B.5: VL Whole Slide Microscopy Image Storage
MICROGRAPH_FORMATS = {"JPEG": "jpeg", "PNG": "png", "TIFF": "tiff"}
MICROGRAPH_MODES = {"RGB", "RGBA", "L", "LA", "P", "CMYK", "YCbCr"}
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
ZIP_MAX_MEMBERS = 5000
PYRAMID_TOP_MAX = 16384
CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_side: int
    micrograph_max_pixels: int


@dataclass
class Member:
    name: str  # the file's name in the working copy (digest + extension)
    path: Path
    digest: str
    size: int


@dataclass
class Found:
    """One slide of the upload, read and checked."""

    kind: SlideKind
    format: str
    original_name: str
    members: list[Member]
    width: int
    height: int
    level_count: int
    mpp_x: float | None = None
    mpp_y: float | None = None
    objective_power: float | None = None
    associated: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        if len(self.members) == 1:
            return self.members[0].digest
        return hashlib.sha256("".join(sorted(m.digest for m in self.members)).encode()).hexdigest()

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)


def _refuse(kind: type, message: str, name: str, **details) -> Exception:  # noqa: ANN003
    return kind(message, details={"file": name, **details})


def digest_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def safe_name(filename: str) -> str:
    name = PurePath((filename or "").replace("\\", "/")).name.strip()
    return "".join(ch for ch in name if ch.isprintable())[:200] or "slide"


def _suffix(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    return suffix if 1 < len(suffix) <= 8 and suffix[1:].isalnum() else ""


def inspect_upload(parts: list[tuple[str, Path]], staging: Path, limits: Limits) -> list[Found]:
    """`parts` are (client file name, path in `staging`). Raises the 4xx naming the first bad file."""
    files = _unpacked(parts, staging, limits)
    if not files:
        raise InvalidInput(N_("choose at least one slide or image file"), details={"field": "files"})
    dicom = [(n, p) for n, p in files if _is_dicom(p)]
    others = [(n, p) for n, p in files if not _is_dicom(p)]
    found = [_dicom_series(group, staging / f"series-{i}", limits) for i, group in enumerate(_by_series(dicom))]
    return found + [_single(name, path, limits) for name, path in others]


def _unpacked(parts: list[tuple[str, Path]], staging: Path, limits: Limits) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for name, path in parts:
        if path.stat().st_size == 0:
            raise _refuse(InvalidInput, N_("the file is empty"), name)
        if _starts_with(path, b"PK\x03\x04") and zipfile.is_zipfile(path):
            out += _unzip(name, path, staging, limits)
            path.unlink()
        else:
            out.append((name, path))
    return out


def _unzip(name: str, path: Path, staging: Path, limits: Limits) -> list[tuple[str, Path]]:
    """The zip's files (folders flattened); declared and actual sizes both count against the limit,
    so a zip bomb stops at the limit rather than filling the disk."""
    target = staging / f"zip-{path.name}"
    target.mkdir()
    out: list[tuple[str, Path]] = []
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [e for e in archive.infolist() if not e.is_dir() and not _hidden(e.filename)]
            if len(entries) > ZIP_MAX_MEMBERS:
                raise _refuse(InvalidInput, N_("the zip holds too many files"), name, max_files=ZIP_MAX_MEMBERS)
            budget = limits.max_bytes
            for i, entry in enumerate(entries):
                if entry.file_size > budget:
                    raise _refuse(PayloadTooLarge, N_("the zip unpacks to more than the upload limit"), name)
                dest = target / f"{i:05d}{_suffix(entry.filename)}"
                budget -= _copy_capped(archive, entry, dest, budget, name)
                if dest.stat().st_size == 0:
                    raise _refuse(InvalidInput, N_("the file is empty"), f"{name}/{entry.filename}")
                out.append((f"{name}/{PurePath(entry.filename).name}", dest))
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise _refuse(InvalidInput, N_("the zip file is damaged"), name, reason=str(exc)[:200]) from exc
    return out


def _hidden(filename: str) -> bool:
    parts = PurePath(filename).parts
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _copy_capped(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, dest: Path, budget: int, name: str) -> int:
    written = 0
    with archive.open(entry) as src, dest.open("wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > budget:
                raise _refuse(PayloadTooLarge, N_("the zip unpacks to more than the upload limit"), name)
            out.write(chunk)
    return written


def _starts_with(path: Path, magic: bytes, at: int = 0) -> bool:
    with path.open("rb") as handle:
        return handle.read(at + len(magic))[at:] == magic


def _is_dicom(path: Path) -> bool:
    return _starts_with(path, b"DICM", at=128)  # DICOM PS3.10 7.1: 128-byte preamble, then "DICM"


def _by_series(files: list[tuple[str, Path]]) -> list[list[tuple[str, Path]]]:
    groups: dict[str, list[tuple[str, Path]]] = {}
    for name, path in files:
        if is_deflated(path):
            raise _refuse(UnsupportedMediaType, N_("deflated DICOM is not accepted; send the file uncompressed"), name)
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True)
            sop_class, series = str(header.SOPClassUID), str(header.SeriesInstanceUID)
        except (InvalidDicomError, AttributeError, ValueError, OSError, EOFError, KeyError) as exc:
            raise _refuse(UnsupportedMediaType, N_("the DICOM file cannot be read"), name) from exc
        if sop_class != WSI_SOP_CLASS:
            raise _refuse(UnsupportedMediaType, N_("this DICOM file is not a whole-slide microscopy image"), name,
                          sop_class=sop_class)
        groups.setdefault(series, []).append((name, path))
    return list(groups.values())


def _dicom_series(group: list[tuple[str, Path]], folder: Path, limits: Limits) -> Found:
    folder.mkdir()
    members = []
    for _name, path in group:
        digest = digest_of(path)
        if any(m.digest == digest for m in members):
            continue  # the same file twice in one upload
        dest = folder / f"{digest}.dcm"
        shutil.move(path, dest)
        members.append(Member(dest.name, dest, digest, dest.stat().st_size))
    label = group[0][0]
    return _read_slide(members, label, SlideKind.dicom, limits)


def _single(name: str, path: Path, limits: Limits) -> Found:
    digest = digest_of(path)
    if any(_starts_with(path, magic) for magic in TIFF_MAGIC):
        _check_tiff_extent(name, path)
    vendor = openslide.OpenSlide.detect_format(str(path))
    if vendor is not None:
        dest = path.with_name(digest + (_suffix(name) or ".tif"))
        path.rename(dest)
        return _read_slide([Member(dest.name, dest, digest, dest.stat().st_size)], name, SlideKind.wsi, limits)
    return _micrograph(name, path, digest, limits)


def _check_tiff_extent(name: str, path: Path) -> None:
    size = path.stat().st_size
    if not _ifd_chain_inside(path, size):
        raise _refuse(InvalidInput, N_("the file is truncated: image data is missing from its end"), name)
    try:
        with tifffile.TiffFile(path) as tiff:
            for page in tiff.pages:
                ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False) if c]
                if ends and max(ends) > size:
                    raise _refuse(InvalidInput, N_("the file is truncated: image data is missing from its end"), name)
    except (tifffile.TiffFileError, ValueError, OSError, EOFError, IndexError, KeyError) as exc:
        raise _refuse(InvalidInput, N_("the TIFF structure of the file is damaged"), name) from exc


def _ifd_chain_inside(path: Path, size: int) -> bool:
    """Every image directory the chain names lies inside the file (TIFF 6.0 section 2; BigTIFF uses
    8-byte counts and offsets). A truncated scan loses its last directories (label, macro) first."""
    with path.open("rb") as handle:
        head = handle.read(16)
        order = "<" if head[:2] == b"II" else ">"
        big = head[2:4] in (b"+\x00", b"\x00+")
        offset_fmt, count_fmt, entry = (order + "Q", order + "Q", 20) if big else (order + "I", order + "H", 12)
        offset = struct.unpack_from(offset_fmt, head, 8 if big else 4)[0]
        seen: set[int] = set()
        while offset:
            if offset in seen or offset + struct.calcsize(count_fmt) > size:
                return False
            seen.add(offset)
            handle.seek(offset)
            count = struct.unpack(count_fmt, handle.read(struct.calcsize(count_fmt)))[0]
            handle.seek(offset + struct.calcsize(count_fmt) + count * entry)
            raw = handle.read(struct.calcsize(offset_fmt))
            if len(raw) != struct.calcsize(offset_fmt):
                return False
            offset = struct.unpack(offset_fmt, raw)[0]
    return True


def _read_slide(members: list[Member], name: str, kind: SlideKind, limits: Limits) -> Found:
    try:
        slide = openslide.OpenSlide(str(members[0].path))
    except (openslide.OpenSlideError, ValueError) as exc:
        raise _refuse(InvalidInput, N_("the slide cannot be opened"), name, reason=str(exc)[:200]) from exc
    try:
        width, height = slide.dimensions
        _check_sides(name, width, height, limits)
        _check_pyramid(name, slide)
        low = slide.level_count - 1
        low_w, low_h = slide.level_dimensions[low]
        slide.read_region((0, 0), low, (min(64, low_w), min(64, low_h)))
        slide.read_region((width // 2, height // 2), 0, (min(64, width), min(64, height)))
        props = slide.properties
        return Found(kind=kind, format=props.get(openslide.PROPERTY_NAME_VENDOR, "dicom"), original_name=name,
                     members=members, width=width, height=height, level_count=slide.level_count,
                     mpp_x=_number(props.get(openslide.PROPERTY_NAME_MPP_X)),
                     mpp_y=_number(props.get(openslide.PROPERTY_NAME_MPP_Y)),
                     objective_power=_number(props.get(openslide.PROPERTY_NAME_OBJECTIVE_POWER)),
                     associated=sorted(set(slide.associated_images) & {"label", "macro"}))
    except openslide.OpenSlideError as exc:
        raise _refuse(InvalidInput, N_("the slide's image data cannot be decoded"), name,
                      reason=str(exc)[:200]) from exc
    finally:
        slide.close()


def _check_sides(name: str, width: int, height: int, limits: Limits) -> None:
    if width <= 0 or height <= 0:
        raise _refuse(InvalidInput, N_("the slide has no image"), name)
    if max(width, height) > limits.max_side:
        raise _refuse(PayloadTooLarge, N_("the image is larger than this server accepts"), name,
                      width=width, height=height, max_side=limits.max_side)


def _check_pyramid(name: str, slide: openslide.OpenSlide) -> None:
    """Zoomed out, the viewer reads the smallest level whole: without reduced levels that would be
    the full-resolution image for every overview tile."""
    if max(slide.level_dimensions[-1]) > PYRAMID_TOP_MAX:
        raise _refuse(InvalidInput, N_("the slide has no reduced-resolution levels (not pyramidal)"), name,
                      smallest_level=list(slide.level_dimensions[-1]))


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number and number > 0 else None


def _micrograph(name: str, path: Path, digest: str, limits: Limits) -> Found:
    """A picture is decoded whole to be tiled, so its pixel count is checked from the header first:
    a small file declaring a huge image (a decompression bomb) is refused before any decoding."""
    try:
        with Image.open(path) as image:
            fmt = MICROGRAPH_FORMATS.get(image.format or "")
            if fmt is None or image.mode not in MICROGRAPH_MODES:
                raise _refuse(UnsupportedMediaType, N_("not a slide or picture format this server reads"), name)
            if image.width * image.height > limits.micrograph_max_pixels:
                raise _too_many_pixels(name, image.width, image.height, limits)
            _check_sides(name, image.width, image.height, limits)
            image.load()
            openslide.ImageSlide(image).read_region((0, 0), 0, (8, 8))
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(name, 0, 0, limits) from exc
    except UnidentifiedImageError as exc:
        raise _refuse(UnsupportedMediaType, N_("not a slide or picture format this server reads"), name) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise _refuse(InvalidInput, N_("the picture is damaged or truncated"), name) from exc
    dest = path.with_name(f"{digest}.{fmt}")
    path.rename(dest)
    return Found(kind=SlideKind.micrograph, format=fmt, original_name=name,
                 members=[Member(dest.name, dest, digest, dest.stat().st_size)],
                 width=width, height=height, level_count=1)


def _too_many_pixels(name: str, width: int, height: int, limits: Limits) -> Exception:
    return _refuse(PayloadTooLarge, N_("the picture has more pixels than this server decodes"), name,
                   width=width, height=height, max_pixels=limits.micrograph_max_pixels)
