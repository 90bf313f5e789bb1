"""The lifecycle table, exhaustively: every state x action x side against the spec restated here."""

from __future__ import annotations

import itertools

import pytest

from carebridge.errors import Conflict, Forbidden
from carebridge.referrals.lifecycle import TERMINAL, Action, Actor, State, actions_for, next_state

# The spec, written out independently of the table: (state, action) -> (next state, sides allowed).
SPEC = {
    ("requested", "accept"): ("accepted", {"receiver"}),
    ("requested", "decline"): ("declined", {"receiver"}),
    ("requested", "cancel"): ("cancelled", {"sender"}),
    ("accepted", "arrive"): ("arrived", {"receiver"}),
    ("accepted", "cancel"): ("cancelled", {"sender"}),
    ("arrived", "complete"): ("completed", {"receiver"}),
}
CASES = list(itertools.product(State, Action, Actor))


@pytest.mark.parametrize("state, action, actor", CASES, ids=[f"{s}-{a}-{p}" for s, a, p in CASES])
def test_every_state_action_and_side(state, action, actor):
    expected = SPEC.get((state.value, action.value))
    if expected is None:
        with pytest.raises(Conflict) as problem:
            next_state(state, action, {actor})
        assert problem.value.code == "invalid_transition"
    elif actor.value not in expected[1]:
        with pytest.raises(Forbidden):
            next_state(state, action, {actor})
    else:
        assert next_state(state, action, {actor}).value == expected[0]


@pytest.mark.parametrize("state", list(State))
def test_buttons_match_the_spec(state):
    for actor in Actor:
        shown = {a.value for a in actions_for(state, {actor})}
        assert shown == {a for (s, a), (_, by) in SPEC.items() if s == state.value and actor.value in by}


def test_someone_on_both_sides_may_do_either_and_nobody_may_do_nothing():
    assert next_state("requested", "accept", {Actor.sender, Actor.receiver}) is State.accepted
    assert next_state("requested", "cancel", {Actor.sender, Actor.receiver}) is State.cancelled
    with pytest.raises(Forbidden):
        next_state("requested", "accept", set())


def test_terminal_states_have_no_way_out():
    assert {s.value for s in TERMINAL} == {"completed", "declined", "cancelled"}
    for state in TERMINAL:
        assert actions_for(state, set(Actor)) == []
