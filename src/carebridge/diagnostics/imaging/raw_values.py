"""The few header values the index reads, taken from pydicom's raw elements without converting them.

pydicom reads a data set lazily and converts an element on first access (charset, VR class,
validation): ~20 µs each, and the listener reads about thirty per object, a tenth of its work per
C-STORE. `value` decodes the element's bytes directly where that cannot come out different from
pydicom's conversion: text of a text VR that is plain ASCII with no escape sequence (so no Specific
Character Set can change it), and single binary integers. Anything else (other text, a value pydicom
has converted already, an unexpected VR or length) is `CONVERT`: the caller asks pydicom."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

CONVERT = object()  # "ask pydicom"
TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI",
                      "UR", "UT"})
INTEGER_VRS = {"US": (2, False), "UL": (4, False), "SS": (2, True), "SL": (4, True)}


@lru_cache(maxsize=256)
def _tag_and_vr(keyword: str) -> tuple[int, str]:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return tag, dictionary_VR(tag)


def element(dataset: Dataset, tag: int) -> Any:
    """The element as read: a value too long to read at once (`defer_size`) is None here, where
    pydicom's `get_item` would read it again from a file the data set does not know."""
    return dataset._dict[tag]  # noqa: SLF001


def value(dataset: Dataset, keyword: str) -> Any:
    """None when absent; a str for text (multiple values joined by backslashes, as sent); an int
    for a single binary integer; CONVERT when only pydicom can say."""
    tag, known_vr = _tag_and_vr(keyword)
    element = dataset._dict.get(tag)  # noqa: SLF001 - the raw element, not its conversion
    if element is None:
        return None
    if not isinstance(element, RawDataElement) or element.value is None:
        return CONVERT
    vr, raw = element.VR or known_vr, element.value
    if vr != known_vr:
        return CONVERT  # an explicit VR other than the dictionary's (UN, a private use): pydicom decides
    if vr in TEXT_VRS:
        if not raw.isascii() or b"\x1b" in raw:
            return CONVERT
        return raw.decode("ascii")
    size_signed = INTEGER_VRS.get(vr)
    if size_signed is None or len(raw) != size_signed[0]:
        return CONVERT
    return int.from_bytes(raw, "little" if element.is_little_endian else "big", signed=size_signed[1])
