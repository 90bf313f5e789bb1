"""Distances on the earth and the visit windows patients choose from."""

from __future__ import annotations

import datetime as dt
import math

from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import N_

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius

# Visit windows in local time (start hour, end hour). A nurse arrives some time inside the window.
WINDOWS: dict[str, tuple[int, int]] = {"morning": (8, 12), "afternoon": (14, 18), "evening": (18, 21)}
WINDOW_LABELS = {"morning": N_("Morning 8:00-12:00"), "afternoon": N_("Afternoon 14:00-18:00"),
                 "evening": N_("Evening 18:00-21:00")}


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (good to ~0.5 % on the scale of a county)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def window_bounds(day: dt.date, window: str) -> tuple[dt.datetime, dt.datetime]:
    start_hour, end_hour = WINDOWS[window]
    local = dt.datetime(day.year, day.month, day.day, tzinfo=local_zone())
    return ((local + dt.timedelta(hours=start_hour)).astimezone(dt.UTC),
            (local + dt.timedelta(hours=end_hour)).astimezone(dt.UTC))


def window_of(start: dt.datetime) -> tuple[dt.date, str]:
    """The (local day, window name) a stored window start belongs to."""
    local = start.astimezone(local_zone())
    name = next((n for n, (h, _e) in WINDOWS.items() if h == local.hour), "")
    return local.date(), name


def overlap_minutes(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime) -> int:
    seconds = (min(a_end, b_end) - max(a_start, b_start)).total_seconds()
    return max(0, int(seconds // 60))
