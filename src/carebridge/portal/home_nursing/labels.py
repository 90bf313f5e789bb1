"""What pages and notifications call states, moves and timeline events (msgids; translated on display)."""

from __future__ import annotations

from carebridge.kit.i18n import N_

STATES = {
    "requested": N_("Waiting for assessment"), "assessed": N_("Accepted, finding a nurse"),
    "dispatched": N_("Offered to a nurse"), "accepted": N_("Nurse assigned"), "en_route": N_("Nurse on the way"),
    "checked_in": N_("Nurse at your home"), "checked_out": N_("Visit finished, please rate"),
    "completed": N_("Completed"), "refused": N_("Refused"), "cancelled": N_("Cancelled"),
}
STAFF_STATES = {**STATES, "requested": N_("To assess"), "assessed": N_("To dispatch"),
                "accepted": N_("Accepted by a nurse"), "checked_in": N_("Nurse checked in"),
                "checked_out": N_("Checked out, waiting for rating")}
EVENTS = {
    "book": N_("Booked"), "assess": N_("Risk assessment: accepted"), "refuse": N_("Refused"),
    "dispatch": N_("Offered to a nurse"), "recall": N_("Taken back from the nurses"),
    "accept": N_("Nurse accepted"), "decline": N_("A nurse declined"), "depart": N_("Nurse on the way"),
    "check_in": N_("Nurse checked in"), "reassign": N_("Nurse released, finding another"),
    "check_out": N_("Nurse checked out"), "rate": N_("Rated"), "close": N_("Closed"), "cancel": N_("Cancelled"),
    "photo": N_("Photo added to the record"), "sos": N_("SOS raised"), "complain": N_("Complaint sent"),
    "complaint_answered": N_("Complaint answered"), "paid": N_("Paid"),
}
ACTIONS = {
    "dispatch": N_("Offer to nurses"), "recall": N_("Take back"), "reassign": N_("Release the nurse"),
    "refuse": N_("Refuse"), "close": N_("Close"), "cancel": N_("Cancel the visit"), "accept": N_("Accept"),
    "depart": N_("On my way"), "check_in": N_("Check in"), "check_out": N_("Check out"), "rate": N_("Rate"),
}
# The patient's progress bar: the usual path of a visit.
PATIENT_STEPS = ("requested", "assessed", "accepted", "checked_in", "checked_out", "completed")
STEP_LABELS = {"requested": N_("Booked"), "assessed": N_("Assessed"), "accepted": N_("Nurse assigned"),
               "checked_in": N_("Nurse arrived"), "checked_out": N_("Visit done"), "completed": N_("Rated")}
STEP_OF = {"requested": 0, "assessed": 1, "dispatched": 1, "accepted": 2, "en_route": 2, "checked_in": 3,
           "checked_out": 4, "completed": 5}
OFFER_STATES = {"open": N_("Offered"), "declined": N_("Declined"), "expired": N_("Did not answer"),
                "withdrawn": N_("Offer withdrawn"), "accepted": N_("Accepted")}
POSITIONS = {"current": N_("from current position"), "base": N_("from base"), "facility": N_("from the facility"),
             "": ""}
