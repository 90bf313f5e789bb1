"""Words of the dashboard, marked for translation; the definitions are shown on the page, given in
the JSON and repeated in the CSV so a number never travels without its meaning."""

from __future__ import annotations

from carebridge.kit.i18n import N_

URGENCY = {"emergency": N_("Emergency"), "urgent": N_("Urgent"), "routine": N_("Routine"), "all": N_("All")}
STATE = {
    "submitted": N_("Submitted"), "returned": N_("Returned for information"), "triaged": N_("Triaged"),
    "accepted": N_("Accepted"), "scheduled": N_("Scheduled"), "in_session": N_("In session"),
    "opinion_signed": N_("Opinion signed"), "acknowledged": N_("Acknowledged"), "closed": N_("Closed"),
    "declined": N_("Declined"), "cancelled": N_("Cancelled"), "expired": N_("Expired"),
}
REFERRAL_STATE = {
    "requested": N_("Requested"), "accepted": N_("Accepted"), "arrived": N_("Patient arrived"),
    "completed": N_("Completed"), "declined": N_("Declined"), "cancelled": N_("Cancelled"),
}
DIRECTION = {"up": N_("Up-referrals"), "down": N_("Down-referrals")}
NO_SPECIALTY = N_("No specialty named")

DEFINITIONS = {
    "period": N_("Cases are counted in the period in which they were first submitted; drafts are not counted."),
    "response": N_("Response time: from submission to the receiving side's first response (triage, accept, "
                   "decline or return for more information). Completion time: from submission to the signed "
                   "opinion. Median and p90 interpolate between the nearest cases."),
    "breach": N_("Breach: the first response came later than the urgency's target, the answer to a "
                 "resubmission came after its deadline, or the case waited past its deadline without an "
                 "answer. Each case counts once."),
    "county": N_("Handled at county level or below: of the cases asked by village, township, community and "
                 "county facilities, the share whose patient was not referred up to a city, provincial or "
                 "national facility within 30 days of the request (declined or cancelled referrals do not "
                 "count). The network's goal is 90 percent."),
    "answered": N_("Answered within the county tier: the share of those cases answered by a facility at "
                   "county tier or below."),
}
# Named so that callers translate them without a string literal inside `_()` (the extractor would
# take the literal for a message of its own).
UP, DOWN = DIRECTION["up"], DIRECTION["down"]
COUNTY_DEFINITION, ANSWERED_DEFINITION = DEFINITIONS["county"], DEFINITIONS["answered"]
