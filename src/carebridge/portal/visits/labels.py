"""Human labels for the visit's states, modes and actions, marked for translation."""

from __future__ import annotations

from carebridge.kit.i18n import N_

STATE_LABELS = {
    "awaiting_payment": N_("Awaiting payment"),
    "booked": N_("Booked"),
    "checked_in": N_("In the waiting room"),
    "in_progress": N_("In progress"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
    "no_show": N_("Missed"),
}
MODE_LABELS = {"video": N_("Video visit"), "text": N_("Text visit")}
WEEKDAY_LABELS = {1: N_("Mon"), 2: N_("Tue"), 3: N_("Wed"), 4: N_("Thu"), 5: N_("Fri"), 6: N_("Sat"), 7: N_("Sun")}


def yuan(fen: int) -> str:
    """Integer fen shown as yuan with two decimals, without ever passing through a float."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole}.{cents:02d}"
