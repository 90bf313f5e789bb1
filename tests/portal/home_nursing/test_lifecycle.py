"""The order's transition table and the versioned move."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from carebridge.errors import Conflict, Forbidden
from carebridge.portal.home_nursing import lifecycle, service
from carebridge.portal.home_nursing.lifecycle import Action, Party, State
from carebridge.portal.home_nursing.models import NursingOrder
from tests.portal.home_nursing import helpers


def test_the_usual_path_and_who_takes_each_step() -> None:
    path = [(State.requested, Action.assess, Party.assessor), (State.assessed, Action.dispatch, Party.coordinator),
            (State.dispatched, Action.accept, Party.offered), (State.accepted, Action.depart, Party.nurse),
            (State.en_route, Action.check_in, Party.nurse), (State.checked_in, Action.check_out, Party.nurse),
            (State.checked_out, Action.rate, Party.patient)]
    state = State.requested
    for expected, action, party in path:
        assert state == expected
        state = lifecycle.next_state(state, action, [party])
    assert state == State.completed


def test_moves_out_of_turn_are_refused() -> None:
    with pytest.raises(Conflict):
        lifecycle.next_state(State.requested, Action.check_in, [Party.nurse])
    with pytest.raises(Conflict):  # after check-in nobody cancels
        lifecycle.next_state(State.checked_in, Action.cancel, [Party.patient, Party.coordinator])
    with pytest.raises(Forbidden):
        lifecycle.next_state(State.dispatched, Action.accept, [Party.coordinator])
    with pytest.raises(Forbidden):
        lifecycle.next_state(State.requested, Action.assess, [Party.patient])


def test_buttons_follow_the_table() -> None:
    assert lifecycle.actions_for(State.accepted, [Party.nurse]) == [Action.depart, Action.check_in]
    assert set(lifecycle.actions_for(State.accepted, [Party.patient])) == {Action.cancel}
    assert lifecycle.actions_for(State.completed, list(Party)) == []


async def test_a_move_on_an_order_someone_changed_meanwhile_is_a_409(scene, db) -> None:  # noqa: ANN001
    order = await helpers.book(scene)
    await db.execute(update(NursingOrder).where(NursingOrder.id == order.id)
                     .values(version=NursingOrder.version + 1).execution_options(synchronize_session=False))
    with pytest.raises(Conflict) as stale:
        await service.move(db, await scene.p(scene.patient_user), order, Action.cancel, {Party.patient},
                           note="改天再约")
    assert stale.value.code == "stale_order"
