"""Lifecycles as tables (house rule 4): (state, action) -> next state, plus which parties may act.
A move not in the table is a 409 with the feature's message; a party not listed is a 403."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from carebridge.errors import Conflict, Forbidden

S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)
P = TypeVar("P", bound=StrEnum)


@dataclass(frozen=True)
class Move(Generic[S, P]):
    to: S
    by: frozenset[P]


def move(to: S, *by: P) -> Move[S, P]:
    return Move(to, frozenset(by))


class TransitionTable(Generic[S, A, P]):
    def __init__(self, moves: dict[tuple[S, A], Move[S, P]], *, states: type[S], actions: type[A],
                 parties: type[P], invalid_message: str, forbidden_message: str) -> None:
        self.moves = moves
        self._types = (states, actions, parties)
        self._invalid, self._forbidden = invalid_message, forbidden_message

    def lookup(self, state: S | str, action: A | str) -> Move[S, P]:
        states, actions, _ = self._types
        state, action = states(state), actions(action)
        found = self.moves.get((state, action))
        if found is None:
            raise Conflict(self._invalid, code="invalid_transition",
                           details={"state": state.value, "action": action.value})
        return found

    def next_state(self, state: S | str, action: A | str, parties: Iterable[P | str]) -> S:
        """`parties`: every part the caller plays (someone may work on both sides)."""
        found = self.lookup(state, action)
        held = {self._types[2](p) for p in parties}
        if not held & found.by:
            raise Forbidden(self._forbidden, code="not_your_move",
                            details={"action": str(action), "parties": sorted(p.value for p in held)})
        return found.to

    def actions_for(self, state: S | str, parties: Iterable[P | str]) -> list[A]:
        """What the caller can do now: drives the buttons a page shows."""
        state = self._types[0](state)
        held = {self._types[2](p) for p in parties}
        return [action for (s, action), found in self.moves.items() if s == state and held & found.by]
