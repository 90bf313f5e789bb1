"""One source of 'now', always timezone-aware UTC, so tests and jobs can reason about time."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
