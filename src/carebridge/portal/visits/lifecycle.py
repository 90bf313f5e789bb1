"""The online visit's lifecycle as a transition table: (state, action) -> next state, and which
party may take that action. Anything not in the table is a 409, a party not listed a 403.

Parties: the *patient* (or a family member acting for them), the *doctor* who published the slot,
and the *system* (payments confirming, the timers: an unpaid hold running out, a patient who never
came, a visit the doctor never started). Rules that depend on the clock (the patient's
cancellation cut-off, the check-in window, no-show only after the start) are the service's."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from carebridge.kit.i18n import N_
from carebridge.kit.lifecycle import Move, TransitionTable
from carebridge.kit.lifecycle import move as _m


class State(StrEnum):
    awaiting_payment = "awaiting_payment"  # the slot is held while the patient pays
    booked = "booked"
    checked_in = "checked_in"  # the patient is in the waiting room
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"
    no_show = "no_show"


class Action(StrEnum):
    pay = "pay"
    check_in = "check_in"
    start = "start"
    complete = "complete"
    cancel = "cancel"
    no_show = "no_show"


class Party(StrEnum):
    patient = "patient"
    doctor = "doctor"
    system = "system"


TERMINAL = frozenset({State.completed, State.cancelled, State.no_show})
# States that hold the slot (and count against the day's maximum).
HOLDING = frozenset({State.awaiting_payment, State.booked, State.checked_in, State.in_progress})
ROOM_OPEN = frozenset({State.checked_in, State.in_progress})

P, D, SYS = Party.patient, Party.doctor, Party.system

TABLE: dict[tuple[State, Action], Move[State, Party]] = {
    (State.awaiting_payment, Action.pay): _m(State.booked, SYS),
    (State.awaiting_payment, Action.cancel): _m(State.cancelled, P, D, SYS),

    (State.booked, Action.check_in): _m(State.checked_in, P),
    (State.booked, Action.cancel): _m(State.cancelled, P, D, SYS),
    (State.booked, Action.no_show): _m(State.no_show, D, SYS),

    (State.checked_in, Action.start): _m(State.in_progress, D),
    (State.checked_in, Action.cancel): _m(State.cancelled, D, SYS),

    (State.in_progress, Action.complete): _m(State.completed, D),
}

LIFECYCLE = TransitionTable(
    TABLE, states=State, actions=Action, parties=Party,
    invalid_message=N_("this is not possible in the visit's current state"),
    forbidden_message=N_("your part in this visit does not allow this"),
)


def next_state(state: State | str, action: Action | str, parties: Iterable[Party | str]) -> State:
    return LIFECYCLE.next_state(state, action, parties)


def actions_for(state: State | str, parties: Iterable[Party | str]) -> list[Action]:
    return LIFECYCLE.actions_for(state, parties)
