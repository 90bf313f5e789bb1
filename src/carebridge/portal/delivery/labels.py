"""Words for the states and timeline rows, marked for translation and translated when shown."""

from __future__ import annotations

from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _

STATES = {
    "awaiting_payment": N_("Awaiting payment"), "paid": N_("Paid, being prepared"), "packed": N_("Packed"),
    "shipped": N_("On the way"), "delivered": N_("Delivered"), "failed": N_("Delivery failed"),
    "returned": N_("Returned to the pharmacy"), "ready_for_pickup": N_("Ready for pickup"),
    "picked_up": N_("Collected"), "cancelled": N_("Cancelled"),
}
METHODS = {"pickup": N_("Pickup at the pharmacy"), "delivery": N_("Delivery to an address")}
PARTIES = {"patient": N_("Patient"), "pharmacy": N_("Pharmacy"), "courier": N_("Courier"), "system": N_("System")}
ACTIONS = {  # buttons
    "cancel": N_("Cancel order"), "pack": N_("Mark packed"), "ship": N_("Hand to courier"),
    "prepare": N_("Ready for pickup"), "hand_over": N_("Hand over"),
}
TIMELINE = {  # what a row says happened
    "place": N_("Order placed"), "pay": N_("Paid"), "cancel": N_("Cancelled"), "refund": N_("Refunded"),
    "pack": N_("Packed at the pharmacy"), "ship": N_("Handed to the courier"), "deliver": N_("Delivered"),
    "fail": N_("Delivery failed"), "return": N_("Returned to the pharmacy"),
    "prepare": N_("Ready for pickup at the pharmacy"), "hand_over": N_("Collected at the pharmacy"),
}
COURIER_EVENTS = {"picked_up": N_("Picked up by the courier"), "in_transit": N_("In transit"),
                  "delivered": N_("Delivered"), "failed": N_("Delivery attempt failed"),
                  "returned": N_("Returned to the pharmacy")}
OPEN_FOR_PATIENT = frozenset({"awaiting_payment", "ready_for_pickup"})  # the patient has something to do


def state(value: str) -> str:
    return _(STATES.get(value, value))


def timeline_row(action: str, courier_event: str = "") -> str:
    if courier_event:
        return _(COURIER_EVENTS.get(courier_event, courier_event))
    return _(TIMELINE.get(action, action))


def fen(value: int) -> str:
    return f"¥{value // 100}.{value % 100:02d}"
