"""The study-completion loop: started by the app lifespan, it completes quiet studies every
`diagnosis_completion_poll_seconds`, so a study shows on the worklist within about that long after
its quiet period. Each pass is its own transaction; several processes may run it at once
(`complete_quiet_studies` claims each study with a conditional UPDATE).

The same loop runs the reading sweep (reading_escalation.py: at-risk orders escalated, missed
targets written down) every `diagnosis_sweep_seconds`, in a transaction of its own. It lives here,
not in the consultation timers' SWEEPS, because it belongs to the diagnosis service and must run
wherever studies complete (the consultation timers can be off in a process that reads images);
its claims are conditional UPDATEs too, so several processes may sweep at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

from carebridge.db import unit_of_work
from carebridge.diagnostics import reading_escalation
from carebridge.diagnostics.studies import complete_quiet_studies
from carebridge.kit.clock import utcnow

log = logging.getLogger(__name__)


async def complete_once(app_state: Any, now: dt.datetime | None = None) -> int:
    async with unit_of_work(app_state.sessionmaker) as session:
        return await complete_quiet_studies(session, now or utcnow())


async def sweep_once(app_state: Any, now: dt.datetime | None = None) -> int:
    async with unit_of_work(app_state.sessionmaker) as session:
        return await reading_escalation.sweep(session, now or utcnow())


async def run_completion(app_state: Any) -> None:
    """Runs until cancelled; returns at once when the loop is off in this process."""
    period = app_state.settings.diagnosis_completion_poll_seconds
    sweep_every = app_state.settings.diagnosis_sweep_seconds
    if period <= 0:
        log.info("study completion is off in this process (CAREBRIDGE_DIAGNOSIS_COMPLETION_POLL_SECONDS=0)")
        return
    last_sweep = float("-inf")
    while True:
        try:
            await complete_once(app_state)
        except Exception:  # a database hiccup must not stop completion for good
            log.exception("study completion pass failed")
        if sweep_every > 0 and time.monotonic() - last_sweep >= sweep_every:
            last_sweep = time.monotonic()
            try:
                await sweep_once(app_state)
            except Exception:  # nor the escalation of at-risk orders
                log.exception("reading escalation sweep failed")
        await asyncio.sleep(period)
