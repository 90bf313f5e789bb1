"""Per-address throttle for credential guessing: a sliding window of failures kept in this process.

The per-account lockout stops guessing one account's password; this stops one address trying a
few passwords against many accounts. It lives in memory, so each server process counts on its own
and a restart forgets; that is enough to make spraying slow, which is all it is for.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from fastapi import FastAPI, Request

MAX_FAILURES = 20
WINDOW_SECONDS = 300.0
_MAX_TRACKED = 50_000


class FailureWindow:
    def __init__(self, limit: int = MAX_FAILURES, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, key: str) -> int:
        """Seconds until this key may try again; 0 when it may try now."""
        now = self.clock()
        times = self._recent(key, now)
        if len(times) < self.limit:
            return 0
        return max(1, math.ceil(times[len(times) - self.limit] + self.window - now))

    def record_failure(self, key: str) -> None:
        now = self.clock()
        if len(self._failures) >= _MAX_TRACKED:
            self._forget_idle(now)
        times = self._failures.setdefault(key, deque())
        times.append(now)
        # Only the newest `limit` failures decide anything; older ones need not be kept.
        while len(times) > self.limit:
            times.popleft()

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, t in self._failures.items() if not t or t[-1] <= now - self.window]:
            del self._failures[key]


def for_app(app: FastAPI) -> FailureWindow:
    window = getattr(app.state, "sign_in_throttle", None)
    if window is None:
        window = app.state.sign_in_throttle = FailureWindow()
    return window


def for_request(request: Request) -> FailureWindow:
    return for_app(request.app)
