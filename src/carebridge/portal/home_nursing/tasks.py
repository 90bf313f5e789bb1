"""Home nursing's timer sweeps, run by the shared timers loop (consultations/timers.py SWEEPS):
offers nobody answered in time expire and move on; unacknowledged SOS alerts are sent again.
Both claim their work with conditional UPDATEs, so several server processes may sweep at once."""

from __future__ import annotations

from carebridge.consultations.timers import SWEEPS
from carebridge.portal.home_nursing.dispatch import expire_offers
from carebridge.portal.home_nursing.sos import remind_unacknowledged

NURSING_SWEEPS = (expire_offers, remind_unacknowledged)


def install() -> None:
    for sweep in NURSING_SWEEPS:
        if sweep not in SWEEPS:
            SWEEPS.append(sweep)


install()
