"""The referral's lifecycle as a transition table: (state, action) -> next state, and which side
may take that action. The service looks up every move here; anything not in the table is a 409
with a message, and a side not listed is a 403.

Sides, not system roles: the *sender* (clinicians of the referring facility) and the *receiver*
(clinicians or administrators of the receiving facility, who manage their intake).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from carebridge.kit.i18n import N_
from carebridge.kit.lifecycle import Move, TransitionTable
from carebridge.kit.lifecycle import move as _m


class State(StrEnum):
    requested = "requested"
    accepted = "accepted"
    arrived = "arrived"  # the patient arrived at the receiving facility
    completed = "completed"
    declined = "declined"
    cancelled = "cancelled"


class Action(StrEnum):
    accept = "accept"
    decline = "decline"
    arrive = "arrive"
    complete = "complete"
    cancel = "cancel"


class Actor(StrEnum):
    sender = "sender"
    receiver = "receiver"


TERMINAL = frozenset({State.completed, State.declined, State.cancelled})
# A refusal or a withdrawal must say why: the other side plans around it.
NEEDS_REASON = frozenset({Action.decline, Action.cancel})


S, R = Actor.sender, Actor.receiver

TABLE: dict[tuple[State, Action], Move[State, Actor]] = {
    (State.requested, Action.accept): _m(State.accepted, R),
    (State.requested, Action.decline): _m(State.declined, R),
    (State.requested, Action.cancel): _m(State.cancelled, S),

    (State.accepted, Action.arrive): _m(State.arrived, R),
    (State.accepted, Action.cancel): _m(State.cancelled, S),

    (State.arrived, Action.complete): _m(State.completed, R),
}


LIFECYCLE = TransitionTable(
    TABLE, states=State, actions=Action, parties=Actor,
    invalid_message=N_("this action is not possible in the referral's current state"),
    forbidden_message=N_("your side of this referral does not allow this action"),
)


def next_state(state: State | str, action: Action | str, actors: Iterable[Actor | str]) -> State:
    """`actors`: every side the caller is on (someone may work at both facilities)."""
    return LIFECYCLE.next_state(state, action, actors)


def actions_for(state: State | str, actors: Iterable[Actor | str]) -> list[Action]:
    """What this caller can do now: drives the buttons a page shows."""
    return LIFECYCLE.actions_for(state, actors)
