"""A delivery order's lifecycle as a transition table.

Delivery to an address:  awaiting_payment → paid → packed → shipped → delivered | failed | returned
                         (failed → delivered on a later attempt, or → returned to the pharmacy)
Pickup at the pharmacy:  awaiting_payment → paid → ready_for_pickup → picked_up
Either, before packing:  awaiting_payment | paid → cancelled (a paid order is refunded)

Parties: the *patient* (or whoever acts for them), the *pharmacy* (pharmacists of the dispensing
facility), the *courier* (its signed webhook) and the *system* (payment callbacks). `track` is the
courier's progress report (picked up, in transit): it adds to the timeline without changing the
state, and only while the parcel is on its way, so a delivered parcel never goes back in transit.
"""

from __future__ import annotations

from enum import StrEnum

from carebridge.errors import Conflict
from carebridge.kit.i18n import N_
from carebridge.kit.lifecycle import Move, TransitionTable
from carebridge.kit.lifecycle import move as _m


class State(StrEnum):
    awaiting_payment = "awaiting_payment"
    paid = "paid"
    packed = "packed"
    shipped = "shipped"
    delivered = "delivered"
    failed = "failed"
    returned = "returned"
    ready_for_pickup = "ready_for_pickup"
    picked_up = "picked_up"
    cancelled = "cancelled"


class Action(StrEnum):
    pay = "pay"
    cancel = "cancel"
    pack = "pack"
    ship = "ship"
    track = "track"
    deliver = "deliver"
    fail = "fail"
    return_ = "return"
    prepare = "prepare"  # pickup: put aside at the counter
    hand_over = "hand_over"  # pickup: the patient showed their code


class Party(StrEnum):
    patient = "patient"
    pharmacy = "pharmacy"
    courier = "courier"
    system = "system"


class Method(StrEnum):
    pickup = "pickup"
    delivery = "delivery"


P, F, C, Y = Party.patient, Party.pharmacy, Party.courier, Party.system

TABLE: dict[tuple[State, Action], Move[State, Party]] = {
    (State.awaiting_payment, Action.pay): _m(State.paid, Y),
    (State.awaiting_payment, Action.cancel): _m(State.cancelled, P, F),
    (State.paid, Action.cancel): _m(State.cancelled, P, F),
    (State.paid, Action.pack): _m(State.packed, F),
    (State.packed, Action.ship): _m(State.shipped, F),
    (State.shipped, Action.track): _m(State.shipped, C),
    (State.shipped, Action.deliver): _m(State.delivered, C),
    (State.shipped, Action.fail): _m(State.failed, C),
    (State.shipped, Action.return_): _m(State.returned, C),
    (State.failed, Action.track): _m(State.failed, C),
    (State.failed, Action.deliver): _m(State.delivered, C),
    (State.failed, Action.return_): _m(State.returned, C),
    (State.paid, Action.prepare): _m(State.ready_for_pickup, F),
    (State.ready_for_pickup, Action.hand_over): _m(State.picked_up, F),
}

# Which actions make sense for which way of getting the medicine; the table is shared.
ONLY_FOR = {Action.pack: Method.delivery, Action.ship: Method.delivery, Action.track: Method.delivery,
            Action.deliver: Method.delivery, Action.fail: Method.delivery, Action.return_: Method.delivery,
            Action.prepare: Method.pickup, Action.hand_over: Method.pickup}

TERMINAL = frozenset({State.delivered, State.returned, State.picked_up, State.cancelled})
# The pharmacist has dispensed it (packed for the courier, or put aside for pickup): the source is told
# (`sources.dispensed`). Dispensing is the pharmacy's act, judged against the prescription's validity at
# the counter; a parcel delivered after a short prescription's last valid day must still count as delivered.
DISPENSED = frozenset({State.packed, State.ready_for_pickup})
# The pharmacy has work to do on these.
TO_DISPENSE = frozenset({State.paid, State.packed, State.ready_for_pickup})

LIFECYCLE: TransitionTable[State, Action, Party] = TransitionTable(
    TABLE, states=State, actions=Action, parties=Party,
    invalid_message=N_("this step is not possible for the order in its current state"),
    forbidden_message=N_("you cannot take this step on this order"))


def next_state(state: State | str, action: Action | str, parties: set[Party], method: Method | str) -> State:
    action = Action(action)
    if ONLY_FOR.get(action, Method(method)) != Method(method):
        raise Conflict(N_("this step does not apply to this way of receiving the medicine"),
                       code="invalid_transition", details={"action": action.value, "method": str(method)})
    return LIFECYCLE.next_state(state, action, parties)


def actions_for(state: State | str, parties: set[Party], method: Method | str) -> list[Action]:
    return [a for a in LIFECYCLE.actions_for(state, parties) if ONLY_FOR.get(a, Method(method)) == Method(method)]
