"""Server-side rendering of one frame to JPEG or PNG (WADO-RS /rendered and /thumbnail).

The display pipeline of PS3.4 N.2.1 for grayscale: stored values → Modality LUT (rescale slope and
intercept, per frame for enhanced multi-frame objects) → VOI window (the request's, else the
object's first WindowCenter/Width, else the frame's min/max) → 8 bits → MONOCHROME1 inverted.
Colour images (RGB, YBR decoded by pydicom to RGB, PALETTE COLOR through its LUT) pass through,
scaled to 8 bits when stored deeper.

16-bit and narrower integer frames go through a lookup table built over the frame's value range
(at most 65,536 entries) instead of float arithmetic on every pixel: that is most of the speed
(docs/benchmarks.md). Everything here is CPU-bound and synchronous; callers run it in a thread."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, pixel_array

from carebridge.errors import CareBridgeError
from carebridge.kit.i18n import N_

JPEG, PNG = "image/jpeg", "image/png"
FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")
MAX_VIEWPORT = 4096
THUMBNAIL_SIZE = 128


class BadParameter(CareBridgeError):
    """A malformed query parameter: 400, as PS3.18 8.2 has it for DICOMweb requests."""

    status_code = 400
    code = "bad_parameter"


class NotRenderable(CareBridgeError):
    """The object has no pixel data we can decode (an SR, a waveform, an unsupported codec)."""

    status_code = 406
    code = "not_renderable"


@dataclass(frozen=True)
class Window:
    center: float
    width: float
    function: str = "LINEAR"


@dataclass(frozen=True)
class RenderOptions:
    frame: int = 0  # zero-based
    window: Window | None = None
    viewport: tuple[int, int] | None = None
    media_type: str = JPEG
    quality: int = 90


def parse_window(value: str | None) -> Window | None:
    """`window=center,width[,function]` (PS3.18 8.3.5.1.4); function LINEAR, LINEAR_EXACT or SIGMOID."""
    if not value:
        return None
    parts = [p.strip() for p in value.split(",")]
    try:
        center, width = float(parts[0]), float(parts[1])
    except (ValueError, IndexError) as exc:
        raise BadParameter(N_("window must be center,width[,function] with numbers"),
                           details={"window": value}) from exc
    function = (parts[2] if len(parts) > 2 else "LINEAR").upper()
    if function not in FUNCTIONS or len(parts) > 3 or not (math.isfinite(center) and math.isfinite(width)):
        raise BadParameter(N_("window must be center,width[,function] with numbers"), details={"window": value})
    if width <= 0 or (function == "LINEAR" and width < 1):
        raise BadParameter(N_("window width must be positive (at least 1 for LINEAR)"), details={"window": value})
    return Window(center, width, function)


def parse_viewport(value: str | None) -> tuple[int, int] | None:
    """`viewport=vw,vh`: the image is scaled to fit inside, keeping its aspect ratio."""
    if not value:
        return None
    parts = value.split(",")
    try:
        width, height = int(parts[0]), int(parts[1]) if len(parts) > 1 and parts[1] else int(parts[0])
    except (ValueError, IndexError) as exc:
        raise BadParameter(N_("viewport must be width,height in pixels"), details={"viewport": value}) from exc
    if not (1 <= width <= MAX_VIEWPORT and 1 <= height <= MAX_VIEWPORT):
        raise BadParameter(N_("viewport must be between 1 and 4096 pixels"), details={"viewport": value})
    return width, height


def parse_quality(value: str | None) -> int:
    if not value:
        return 90
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise BadParameter(N_("quality must be a whole number from 1 to 100"), details={"quality": value})
    return int(value)


def read_dataset(data: bytes) -> Dataset:
    try:
        return pydicom.dcmread(io.BytesIO(data), force=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure of stored bytes means "cannot render"
        raise NotRenderable(N_("the stored object cannot be read as DICOM")) from exc


def frame_count(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def decode_frame(ds: Dataset, index: int) -> np.ndarray:
    """One frame as pydicom decodes it (colour converted to RGB)."""
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise NotRenderable(N_("this object has no pixel data"))
    if not 0 <= index < frame_count(ds):
        raise BadParameter(N_("there is no such frame in this instance"), details={"frame": index + 1})
    try:
        return pixel_array(ds, index=index)
    except Exception as exc:  # noqa: BLE001 - codec missing, truncated data: the client gets a clear 406
        raise NotRenderable(N_("the pixel data of this object cannot be decoded here"),
                            details={"reason": str(exc)[:200]}) from exc


def _functional(ds: Dataset, index: int, sequence: str) -> Dataset | None:
    """The frame's item of a functional group (per-frame first, then shared), PS3.3 C.7.6.16."""
    for groups, item_index in (("PerFrameFunctionalGroupsSequence", index), ("SharedFunctionalGroupsSequence", 0)):
        items = ds.get(groups)
        if items and len(items) > item_index and sequence in items[item_index]:
            inner = items[item_index][sequence]
            if inner:
                return inner[0]
    return None


def _first(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value[0] if isinstance(value, pydicom.multival.MultiValue) else value)
    except (TypeError, ValueError, IndexError):
        return None


def rescale_of(ds: Dataset, index: int) -> tuple[float, float]:
    source = ds if "RescaleSlope" in ds or "RescaleIntercept" in ds else \
        _functional(ds, index, "PixelValueTransformationSequence") or ds
    slope, intercept = _first(source.get("RescaleSlope")), _first(source.get("RescaleIntercept"))
    return (1.0 if slope is None or slope == 0 else slope), (intercept or 0.0)


def stored_window(ds: Dataset, index: int) -> Window | None:
    source = ds if "WindowCenter" in ds else _functional(ds, index, "FrameVOILUTSequence") or ds
    center, width = _first(source.get("WindowCenter")), _first(source.get("WindowWidth"))
    if center is None or width is None or width <= 0:
        return None
    function = str(source.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    return Window(center, max(width, 1.0), function if function in FUNCTIONS else "LINEAR")


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Modality values → display 0..255 as float (PS3.3 C.11.2.1.2 and C.11.2.1.3)."""
    c, w = window.center, window.width
    if window.function == "SIGMOID":
        return 255.0 / (1.0 + np.exp(-4.0 * (values - c) / w))
    if window.function == "LINEAR_EXACT":
        scaled = (values - c) / w + 0.5
    elif w <= 1:
        return np.where(values > c - 0.5, 255.0, 0.0)
    else:
        scaled = (values - (c - 0.5)) / (w - 1) + 0.5
    return np.clip(scaled * 255.0, 0.0, 255.0)


def _auto_window(low: float, high: float) -> Window:
    return Window((low + high) / 2.0, max(high - low, 1.0), "LINEAR_EXACT")


def grayscale_to_8bit(stored: np.ndarray, slope: float, intercept: float, window: Window | None,
                      invert: bool) -> np.ndarray:
    if stored.dtype.kind in "iu" and stored.dtype.itemsize <= 2:
        low, high = int(stored.min()), int(stored.max())
        table_in = np.arange(low, high + 1, dtype=np.float64) * slope + intercept
        chosen = window or _auto_window(float(table_in.min()), float(table_in.max()))
        table = apply_window(table_in, chosen).round().astype(np.uint8)
        if invert:
            table = 255 - table
        return table[(stored.astype(np.int32) - low)] if low else table[stored]
    values = stored.astype(np.float64) * slope + intercept
    finite = values[np.isfinite(values)]
    chosen = window or _auto_window(float(finite.min()) if finite.size else 0.0,
                                    float(finite.max()) if finite.size else 1.0)
    out = apply_window(np.nan_to_num(values), chosen).round().astype(np.uint8)
    return 255 - out if invert else out


def colour_to_8bit(pixels: np.ndarray, ds: Dataset) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    bits = int(ds.get("BitsStored", pixels.dtype.itemsize * 8) or 8)
    return (pixels.astype(np.uint32) >> max(bits - 8, 0)).clip(0, 255).astype(np.uint8)


def to_display(ds: Dataset, index: int, window: Window | None) -> np.ndarray:
    """The frame as 8-bit grayscale (H×W) or RGB (H×W×3), ready for encoding."""
    pixels = decode_frame(ds, index)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(pixels, ds)
        return (rgb.astype(np.uint32) >> 8).astype(np.uint8) if rgb.dtype != np.uint8 else rgb
    if pixels.ndim == 3:
        return colour_to_8bit(pixels, ds)
    slope, intercept = rescale_of(ds, index)
    return grayscale_to_8bit(pixels, slope, intercept, window or stored_window(ds, index),
                             invert=photometric == "MONOCHROME1")


def encode(pixels: np.ndarray, viewport: tuple[int, int] | None, media_type: str, quality: int) -> bytes:
    image = Image.fromarray(np.ascontiguousarray(pixels))
    if viewport is not None:
        scale = min(viewport[0] / image.width, viewport[1] / image.height)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        if size != image.size:
            # reducing_gap makes large downscales (thumbnails) cheap without visible aliasing.
            image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    if media_type == PNG:
        image.save(out, format="PNG", compress_level=3)
    else:
        image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def render(data: bytes, options: RenderOptions) -> bytes:
    """Stored Part 10 bytes → encoded image. Synchronous: call through asyncio.to_thread."""
    ds = read_dataset(data)
    return encode(to_display(ds, options.frame, options.window), options.viewport, options.media_type,
                  options.quality)
