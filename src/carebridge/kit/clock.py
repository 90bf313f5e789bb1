"""One source of 'now', always timezone-aware UTC, so tests and jobs can reason about time."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today_local() -> dt.date:
    """The calendar day where the network is (settings.display_timezone): dates people type and read
    (a licence's expiry, the start of practice, a visit's day) are local days, and the UTC day is
    the previous one for the first eight hours of a day in China."""
    from zoneinfo import ZoneInfo

    from carebridge.config import get_settings

    return utcnow().astimezone(ZoneInfo(get_settings().display_timezone)).date()
