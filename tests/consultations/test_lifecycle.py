"""Every state x action x actor of the consultation lifecycle, against the issue's description
restated here independently of the table, plus properties of the graph as a whole."""

import itertools

import pytest

from carebridge.consultations.lifecycle import TERMINAL, Action, Actor, State, actions_for, next_state
from carebridge.errors import Conflict, Forbidden

# state, action, who may act, next state: the lifecycle as issue 3 describes it.
SPEC = """
draft          submit                 requester                      submitted
draft          cancel                 requester                      cancelled
submitted      triage                 coordinator                    triaged
submitted      return_for_information coordinator                    returned
submitted      decline                coordinator                    declined
submitted      cancel                 requester                      cancelled
submitted      expire                 system                         expired
submitted      escalate               system                         triaged
returned       resubmit               requester                      submitted
returned       cancel                 requester                      cancelled
returned       expire                 system                         expired
triaged        accept                 expert                         accepted
triaged        decline                expert,coordinator             declined
triaged        reassign               coordinator,system             triaged
triaged        return_for_information coordinator,expert             returned
triaged        cancel                 requester                      cancelled
triaged        expire                 system                         expired
triaged        escalate               system                         triaged
accepted       schedule               expert,coordinator,requester   scheduled
accepted       sign_opinion           expert                         opinion_signed
accepted       return_for_information expert                         returned
accepted       cancel                 requester                      cancelled
scheduled      reschedule             requester,coordinator,expert   scheduled
scheduled      start_session          requester,expert               in_session
scheduled      cancel                 requester,expert               cancelled
in_session     sign_opinion           expert                         opinion_signed
in_session     reschedule             requester,expert               scheduled
opinion_signed acknowledge            requester                      acknowledged
acknowledged   close                  requester,coordinator,system   closed
"""


def _spec() -> dict[tuple[State, Action], tuple[set[Actor], State]]:
    rows = {}
    for line in SPEC.strip().splitlines():
        state, action, actors, to = line.split()
        rows[(State(state), Action(action))] = ({Actor(a) for a in actors.split(",")}, State(to))
    return rows


EXPECTED = _spec()
EVERY_CASE = list(itertools.product(State, Action, Actor))


@pytest.mark.parametrize(("state", "action", "actor"), EVERY_CASE, ids=lambda v: v.value)
def test_every_state_action_and_actor(state, action, actor):
    expected = EXPECTED.get((state, action))
    if expected is None:
        with pytest.raises(Conflict) as refused:
            next_state(state, action, actor)
        assert refused.value.status_code == 409 and refused.value.details["state"] == state.value
    elif actor not in expected[0]:
        with pytest.raises(Forbidden):
            next_state(state, action, actor)
    else:
        assert next_state(state, action, actor) == expected[1]


def test_terminal_states_have_no_way_out():
    for state, actor in itertools.product(TERMINAL, Actor):
        assert actions_for(state, actor) == []


def test_every_state_is_reachable_from_a_draft_and_every_live_state_can_end():
    reachable, frontier = {State.draft}, [State.draft]
    while frontier:
        state = frontier.pop()
        for actor in Actor:
            for action in actions_for(state, actor):
                target = next_state(state, action, actor)
                if target not in reachable:
                    reachable.add(target)
                    frontier.append(target)
    assert reachable == set(State)
    for state in set(State) - TERMINAL:
        assert any(actions_for(state, actor) for actor in Actor), state


def test_live_video_happy_path():
    steps = [(Action.submit, Actor.requester), (Action.triage, Actor.coordinator), (Action.accept, Actor.expert),
             (Action.schedule, Actor.expert), (Action.start_session, Actor.requester),
             (Action.sign_opinion, Actor.expert), (Action.acknowledge, Actor.requester),
             (Action.close, Actor.requester)]
    state = State.draft
    for action, actor in steps:
        state = next_state(state, action, actor)
    assert state == State.closed


def test_returned_case_comes_back_and_an_expert_cannot_accept_their_own_request_path():
    state = next_state(State.submitted, Action.return_for_information, Actor.coordinator)
    assert next_state(state, Action.resubmit, Actor.requester) == State.submitted
    with pytest.raises(Forbidden):
        next_state(State.triaged, Action.accept, Actor.requester)
    with pytest.raises(Conflict):
        next_state(State.closed, Action.cancel, Actor.requester)


def test_the_page_offers_exactly_the_moves_the_table_allows():
    assert set(actions_for(State.scheduled, Actor.expert)) == {Action.reschedule, Action.start_session, Action.cancel}
    assert actions_for(State.opinion_signed, Actor.expert) == []
