"""The home-nursing order's lifecycle as a transition table: (state, action) -> next state, and which
parties may take that action. A move not in the table is a 409, a party not listed a 403.

Parties: the *patient* (or a family proxy), the *assessor* (a nurse of the facility who holds the
home-care assessor credential), the *offered* nurse (holds an open offer), the assigned *nurse*, the
*coordinator* (the facility's administrators) and the *system* (automatic offers, expired offers).

A nurse declining an offer is not a move of the order: the offer ends, and when no offer is left
the coordinator or the system recalls the order (back to assessed) or offers it to the next nurse.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from carebridge.kit.i18n import N_
from carebridge.kit.lifecycle import Move, TransitionTable
from carebridge.kit.lifecycle import move as _m


class State(StrEnum):
    requested = "requested"
    assessed = "assessed"
    dispatched = "dispatched"
    accepted = "accepted"
    en_route = "en_route"
    checked_in = "checked_in"
    checked_out = "checked_out"
    completed = "completed"
    refused = "refused"
    cancelled = "cancelled"


class Action(StrEnum):
    assess = "assess"
    refuse = "refuse"
    dispatch = "dispatch"
    recall = "recall"
    accept = "accept"
    depart = "depart"
    check_in = "check_in"
    reassign = "reassign"
    check_out = "check_out"
    rate = "rate"
    close = "close"
    cancel = "cancel"


class Party(StrEnum):
    patient = "patient"
    assessor = "assessor"
    offered = "offered"
    nurse = "nurse"
    coordinator = "coordinator"
    system = "system"


TERMINAL = frozenset({State.completed, State.refused, State.cancelled})
# Before check-in the visit can still be called off; after it the nurse is in the home.
CANCELLABLE = (State.requested, State.assessed, State.dispatched, State.accepted, State.en_route)
NEEDS_REASON = frozenset({Action.refuse, Action.cancel, Action.reassign})

P, A, OF, N, C, Y = Party.patient, Party.assessor, Party.offered, Party.nurse, Party.coordinator, Party.system

TABLE: dict[tuple[State, Action], Move[State, Party]] = {
    (State.requested, Action.assess): _m(State.assessed, A),
    (State.requested, Action.refuse): _m(State.refused, A, C),
    (State.assessed, Action.refuse): _m(State.refused, C),
    (State.assessed, Action.dispatch): _m(State.dispatched, C, Y),
    (State.dispatched, Action.dispatch): _m(State.dispatched, C, Y),  # offered to more nurses
    (State.dispatched, Action.recall): _m(State.assessed, C, Y),
    (State.dispatched, Action.accept): _m(State.accepted, OF),
    (State.accepted, Action.depart): _m(State.en_route, N),
    (State.accepted, Action.check_in): _m(State.checked_in, N),
    (State.en_route, Action.check_in): _m(State.checked_in, N),
    (State.accepted, Action.reassign): _m(State.assessed, C),
    (State.en_route, Action.reassign): _m(State.assessed, C),
    (State.checked_in, Action.check_out): _m(State.checked_out, N),
    (State.checked_out, Action.rate): _m(State.completed, P),
    (State.checked_out, Action.close): _m(State.completed, C, Y),
    **{(state, Action.cancel): _m(State.cancelled, P, C) for state in CANCELLABLE},
}

LIFECYCLE = TransitionTable(
    TABLE, states=State, actions=Action, parties=Party,
    invalid_message=N_("this is not possible in the home-nursing order's current state"),
    forbidden_message=N_("your part in this home-nursing order does not allow this"),
)


def next_state(state: State | str, action: Action | str, parties: Iterable[Party | str]) -> State:
    return LIFECYCLE.next_state(state, action, parties)


def actions_for(state: State | str, parties: Iterable[Party | str]) -> list[Action]:
    return LIFECYCLE.actions_for(state, parties)
