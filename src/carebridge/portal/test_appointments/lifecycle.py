"""A test booking's lifecycle as a transition table: (state, action) -> next state, and who may act.

    pending_payment --pay--> booked --check_in--> checked_in --perform--> performed --result--> resulted
          |                    |  \\--no_show--> no_show
          +------cancel--------+--cancel--> cancelled

Parties: the *patient* (or whoever acts for them through `access_patient`), the *staff* of the
performing facility (doctor, nurse, technician), and the *system* (the payment callback, the
diagnosis report, the sweeps). The patient's cancel is further bounded by the cut-off (service.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from carebridge.kit.i18n import N_
from carebridge.kit.lifecycle import Move, TransitionTable
from carebridge.kit.lifecycle import move as _m


class State(StrEnum):
    pending_payment = "pending_payment"
    booked = "booked"
    checked_in = "checked_in"
    performed = "performed"
    resulted = "resulted"
    cancelled = "cancelled"
    no_show = "no_show"


class Action(StrEnum):
    pay = "pay"
    cancel = "cancel"
    check_in = "check_in"
    perform = "perform"
    result = "result"
    no_show = "no_show"


class Party(StrEnum):
    patient = "patient"
    staff = "staff"
    system = "system"


P, S, X = Party.patient, Party.staff, Party.system

TABLE: dict[tuple[State, Action], Move[State, Party]] = {
    (State.pending_payment, Action.pay): _m(State.booked, X),
    (State.pending_payment, Action.cancel): _m(State.cancelled, P, S, X),
    (State.booked, Action.cancel): _m(State.cancelled, P, S),
    (State.booked, Action.check_in): _m(State.checked_in, S),
    (State.booked, Action.no_show): _m(State.no_show, S, X),
    (State.checked_in, Action.perform): _m(State.performed, S, X),
    (State.performed, Action.result): _m(State.resulted, S, X),
}

# States that hold a place in a block; leaving them gives the place back.
HOLDS_PLACE = frozenset({State.pending_payment, State.booked})
UPCOMING = frozenset({State.pending_payment, State.booked, State.checked_in})
ENDED = frozenset({State.resulted, State.cancelled, State.no_show})

LIFECYCLE = TransitionTable(
    TABLE, states=State, actions=Action, parties=Party,
    invalid_message=N_("this is not possible in the booking's current state"),
    forbidden_message=N_("you cannot do this to this booking"),
)


def next_state(state: State | str, action: Action | str, parties: Iterable[Party | str]) -> State:
    return LIFECYCLE.next_state(state, action, parties)


def actions_for(state: State | str, parties: Iterable[Party | str]) -> list[Action]:
    return LIFECYCLE.actions_for(state, parties)
