"""The consultation timers: one loop, started by the app lifespan, that runs every sweep each
`consult_timer_seconds`. A sweep is `async def (session, now) -> int` (how many things it did); it
must be idempotent and claim its work with a conditional UPDATE, because several server processes
run this loop at once. Other features append their sweeps to SWEEPS.

`sweep(session, now)` is one pass in the caller's transaction (tests pass an explicit `now`);
`run_timers` gives each sweep its own transaction, so one failing sweep does not undo the others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.consultations.escalation import sweep_escalations
from carebridge.consultations.opinion_followup import send_due_follow_up_reminders
from carebridge.consultations.scheduling import send_session_reminders
from carebridge.db import unit_of_work
from carebridge.kit.clock import utcnow

log = logging.getLogger(__name__)

Sweep = Callable[[AsyncSession, dt.datetime], Awaitable[int]]
SWEEPS: list[Sweep] = [sweep_escalations, send_session_reminders, send_due_follow_up_reminders]


async def sweep(session: AsyncSession, now: dt.datetime, sweeps: list[Sweep] | None = None) -> int:
    total = 0
    for one in SWEEPS if sweeps is None else sweeps:
        total += await one(session, now)
    return total


async def run_once(app_state: Any, now: dt.datetime | None = None) -> int:
    total = 0
    for one in list(SWEEPS):
        try:
            async with unit_of_work(app_state.sessionmaker) as session:
                total += await one(session, now or utcnow())
        except Exception:  # a database hiccup or one bad row must not stop the other sweeps for good
            log.exception("consultation timer sweep %s failed", getattr(one, "__name__", one))
    return total


async def run_timers(app_state: Any) -> None:
    """Runs until cancelled; returns at once when the timers are off in this process."""
    if app_state.settings.consult_timer_seconds <= 0:
        log.info("consultation timers are off in this process (CAREBRIDGE_CONSULT_TIMER_SECONDS=0)")
        return
    while True:
        await run_once(app_state)
        await asyncio.sleep(app_state.settings.consult_timer_seconds)
