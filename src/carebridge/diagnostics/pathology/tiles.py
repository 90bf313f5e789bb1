"""Deep Zoom tiles from open slides.

Opening a slide costs milliseconds to a second (OpenSlide parses the TIFF directory or every DICOM
file of the series; a micrograph is decoded whole), and one view asks for hundreds of tiles, so
open slides and their Deep Zoom generators are kept per process in a bounded least-recently-used
cache keyed by the slide's digest. Tiles are rendered in worker threads: OpenSlide handles are
safe to read from several threads at once; a micrograph is decoded before it is shared, so its
threads only crop. A slide dropped from the cache is closed by the garbage collector once the
last request still using it finishes (closing it explicitly could pull it from under a reader).
All open slides share one OpenSlide tile cache, so decoded-tile memory is bounded however many
slides are open."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import openslide
from openslide.deepzoom import DeepZoomGenerator
from PIL import Image

from carebridge.diagnostics.pathology.models import SlideKind
from carebridge.errors import CareBridgeError, NotFound
from carebridge.kit.i18n import N_

TILE_SIZE = 254
OVERLAP = 1
THUMBNAIL_SIDE = 256
DECODED_TILE_CACHE_BYTES = 128 * 1024 * 1024


class SlideUnreadable(CareBridgeError):
    """The stored file cannot be decoded here (damaged after upload, or a codec missing)."""

    status_code = 422
    code = "slide_unreadable"


class OpenSlideView:
    """One open slide with its Deep Zoom generator."""

    def __init__(self, slide: openslide.AbstractSlide) -> None:
        self.slide = slide
        self.dz = DeepZoomGenerator(slide, tile_size=TILE_SIZE, overlap=OVERLAP, limit_bounds=True)

    def dzi(self) -> str:
        return self.dz.get_dzi("jpeg")

    def tile(self, level: int, col: int, row: int, quality: int) -> bytes:
        if not 0 <= level < self.dz.level_count:
            raise NotFound(N_("no such zoom level"))
        cols, rows = self.dz.level_tiles[level]
        if not (0 <= col < cols and 0 <= row < rows):
            raise NotFound(N_("no such tile"))
        return _jpeg(self.dz.get_tile(level, (col, row)), quality)

    def thumbnail(self, quality: int) -> bytes:
        return _jpeg(self.slide.get_thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE)), quality)

    def associated(self, name: str, quality: int) -> bytes:
        image = self.slide.associated_images.get(name)
        if image is None:
            raise NotFound(N_("this slide has no such image"))
        return _jpeg(image, quality)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    if image.mode != "RGB":
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A") if "A" in image.getbands() else None)
        image = background
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


class SlideCache:
    """Thread-safe LRU of open slides. Two requests for a slide not yet open open it once: the
    second waits on the first's per-slide gate, then finds it in the cache."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._items: OrderedDict[str, OpenSlideView] = OrderedDict()
        self._gates: dict[str, threading.Lock] = {}
        self._tile_cache = openslide.OpenSlideCache(DECODED_TILE_CACHE_BYTES)
        self.opened = 0  # how many times a slide was actually opened (for tests and the bench)

    def get(self, key: str, path: Path, kind: str) -> OpenSlideView:
        with self._lock:
            if (hit := self._hit(key)) is not None:
                return hit
            gate = self._gates.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if (hit := self._hit(key)) is not None:
                    return hit
            try:
                view = OpenSlideView(self._open(path, kind))
            finally:
                with self._lock:
                    self._gates.pop(key, None)
            with self._lock:
                self._items[key] = view
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
                self.opened += 1
            return view

    def _hit(self, key: str) -> OpenSlideView | None:
        view = self._items.get(key)
        if view is not None:
            self._items.move_to_end(key)
        return view

    def _open(self, path: Path, kind: str) -> openslide.AbstractSlide:
        try:
            if kind == SlideKind.micrograph:
                with Image.open(path) as image:
                    image.load()
                    return openslide.ImageSlide(image.copy())
            slide = openslide.OpenSlide(str(path))
            slide.set_cache(self._tile_cache)
            return slide
        except (openslide.OpenSlideError, OSError, ValueError) as exc:
            raise SlideUnreadable(N_("the slide file cannot be opened"), details={"reason": str(exc)[:200]}) from exc

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


def render(cache: SlideCache, key: str, path: Path, kind: str, draw: Callable[[OpenSlideView], bytes]) -> bytes:
    """Runs `draw` on the open slide (blocking; call in a thread). A read error leaves an OpenSlide
    handle unusable for good, so the slide is dropped from the cache and reopened next time."""
    view = cache.get(key, path, kind)
    try:
        return draw(view)
    except openslide.OpenSlideError as exc:
        cache.drop(key)
        raise SlideUnreadable(N_("this part of the slide cannot be decoded"),
                              details={"reason": str(exc)[:200]}) from exc
