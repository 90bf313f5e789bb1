"""The diagnosis order's lifecycle as a transition table.

- *awaiting_study*: ordered, nothing complete has arrived yet;
- *ready*: the study is complete and the turnaround clock runs; it is on the hub's worklist;
- *preliminary*: a resident signed a preliminary report; an attending must sign the final one;
- *reported*: a final report is signed (immutable; later changes are addenda);
- *cancelled*: the sender withdrew the order before it was reported.

Parties: the *sender* (clinicians and technicians of the requesting facility), the *reader* (a
doctor at the reading hub), *system* (study completion, timers)."""

from __future__ import annotations

from enum import StrEnum

from carebridge.kit.i18n import N_
from carebridge.kit.lifecycle import Move, TransitionTable
from carebridge.kit.lifecycle import move as _m


class State(StrEnum):
    awaiting_study = "awaiting_study"
    ready = "ready"
    preliminary = "preliminary"
    reported = "reported"
    cancelled = "cancelled"


class Action(StrEnum):
    complete_study = "complete_study"
    sign_preliminary = "sign_preliminary"
    sign_final = "sign_final"
    cancel = "cancel"


class Party(StrEnum):
    sender = "sender"
    reader = "reader"
    system = "system"


OPEN = frozenset({State.awaiting_study, State.ready, State.preliminary})
ON_WORKLIST = frozenset({State.ready, State.preliminary})

S, R, Y = Party.sender, Party.reader, Party.system

TABLE: dict[tuple[State, Action], Move[State, Party]] = {
    (State.awaiting_study, Action.complete_study): _m(State.ready, Y, S),
    (State.awaiting_study, Action.cancel): _m(State.cancelled, S),
    (State.ready, Action.sign_preliminary): _m(State.preliminary, R),
    (State.ready, Action.sign_final): _m(State.reported, R),
    (State.ready, Action.cancel): _m(State.cancelled, S),
    (State.preliminary, Action.sign_final): _m(State.reported, R),
}

LIFECYCLE: TransitionTable[State, Action, Party] = TransitionTable(
    TABLE, states=State, actions=Action, parties=Party,
    invalid_message=N_("this step is not possible for the order in its current state"),
    forbidden_message=N_("you cannot take this step on this order"))

next_state = LIFECYCLE.next_state
actions_for = LIFECYCLE.actions_for
