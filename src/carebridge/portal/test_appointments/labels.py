"""Words for the machine values of this feature, marked for translation."""

from __future__ import annotations

from carebridge.kit.i18n import N_
from carebridge.payments.labels import RULE  # noqa: F401 - the pricing rules, named where prices are shown

STATE = {
    "pending_payment": N_("Awaiting payment"),
    "booked": N_("Booked"),
    "checked_in": N_("Checked in"),
    "performed": N_("Done, awaiting results"),
    "resulted": N_("Results ready"),
    "cancelled": N_("Cancelled"),
    "no_show": N_("Missed the test"),
}
CATEGORY = {
    "lab": N_("Lab tests"),
    "ultrasound": N_("Ultrasound"),
    "x_ray": N_("X-ray"),
    "ct": N_("CT"),
    "mri": N_("MRI"),
    "ecg": N_("ECG"),
}
ACTION = {
    "check_in": N_("Check in"),
    "perform": N_("Mark done"),
    "no_show": N_("Did not come"),
    "cancel": N_("Cancel booking"),
}
TIER = {
    "village_clinic": N_("Village clinic"),
    "township_center": N_("Township health centre"),
    "community_center": N_("Community health centre"),
    "county_hospital": N_("County hospital"),
    "city_hospital": N_("City hospital"),
    "provincial_hospital": N_("Provincial hospital"),
    "national_center": N_("National centre"),
    "international_partner": N_("International partner"),
}
WEEKDAY = [N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun")]
INTERPRETATION = {"H": N_("Above range"), "HH": N_("Far above range"), "L": N_("Below range"),
                  "LL": N_("Far below range")}
