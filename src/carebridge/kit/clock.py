"""One source of 'now', always timezone-aware UTC, so tests and jobs can reason about time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_zone() -> ZoneInfo:
    """Where the network is (settings.display_timezone): the zone of the times people read and type."""
    from carebridge.config import get_settings  # config imports kit modules; not at import time

    return ZoneInfo(get_settings().display_timezone)


def today_local() -> dt.date:
    """The calendar day where the network is: dates people type and read (a licence's expiry, the
    start of practice, a visit's day) are local days, and the UTC day is the previous one for the
    first eight hours of a day in China."""
    return utcnow().astimezone(local_zone()).date()
