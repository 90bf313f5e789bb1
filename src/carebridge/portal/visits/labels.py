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

