"""The consultation case's lifecycle as a transition table: (state, action) -> next state, and
which case participants may take that action. The service looks up every move here; anything not
in the table is a 409 with a message, and an actor not listed is a 403.

Case participants, not system roles: the *requester* (the doctor who asked), the *coordinator*
(triage at the receiving hub), the *expert* (an invited or assigned specialist; for an MDT the
lead), *member* (a specialist invited to a multi-disciplinary team: reads, joins the session and
writes a section, but moves nothing), and *system* (timers: response-time expiry, automatic close).
"""

from __future__ import annotations

from enum import StrEnum

from carebridge.kit.i18n import N_
from carebridge.kit.lifecycle import Move, TransitionTable
from carebridge.kit.lifecycle import move as _m


class State(StrEnum):
    draft = "draft"
    submitted = "submitted"
    returned = "returned"  # sent back for more information
    triaged = "triaged"
    accepted = "accepted"
    scheduled = "scheduled"
    in_session = "in_session"
    opinion_signed = "opinion_signed"
    acknowledged = "acknowledged"
    closed = "closed"
    declined = "declined"
    cancelled = "cancelled"
    expired = "expired"


class Action(StrEnum):
    submit = "submit"
    resubmit = "resubmit"
    return_for_information = "return_for_information"
    triage = "triage"
    reassign = "reassign"
    escalate = "escalate"  # unanswered past due: the system moves the case up a tier or to the on-call expert
    accept = "accept"
    decline = "decline"
    schedule = "schedule"
    reschedule = "reschedule"
    start_session = "start_session"
    sign_opinion = "sign_opinion"
    acknowledge = "acknowledge"
    close = "close"
    cancel = "cancel"
    expire = "expire"


class Actor(StrEnum):
    requester = "requester"
    coordinator = "coordinator"
    expert = "expert"
    member = "member"
    system = "system"


TERMINAL = frozenset({State.closed, State.declined, State.cancelled, State.expired})


R, C, E, S = Actor.requester, Actor.coordinator, Actor.expert, Actor.system

TABLE: dict[tuple[State, Action], Move[State, Actor]] = {
    (State.draft, Action.submit): _m(State.submitted, R),
    (State.draft, Action.cancel): _m(State.cancelled, R),

    (State.submitted, Action.triage): _m(State.triaged, C),
    (State.submitted, Action.return_for_information): _m(State.returned, C),
    (State.submitted, Action.decline): _m(State.declined, C),
    (State.submitted, Action.cancel): _m(State.cancelled, R),
    (State.submitted, Action.expire): _m(State.expired, S),
    # An escalated case skips triage at its new target: it is already late, so any doctor there may accept.
    (State.submitted, Action.escalate): _m(State.triaged, S),

    (State.returned, Action.resubmit): _m(State.submitted, R),
    (State.returned, Action.cancel): _m(State.cancelled, R),
    (State.returned, Action.expire): _m(State.expired, S),

    (State.triaged, Action.accept): _m(State.accepted, E),
    (State.triaged, Action.decline): _m(State.declined, E, C),
    (State.triaged, Action.reassign): _m(State.triaged, C, S),  # S: escalation when unanswered
    (State.triaged, Action.return_for_information): _m(State.returned, C, E),
    (State.triaged, Action.cancel): _m(State.cancelled, R),
    (State.triaged, Action.expire): _m(State.expired, S),
    (State.triaged, Action.escalate): _m(State.triaged, S),

    # Live cases are scheduled; store-and-forward cases go straight to the opinion (the service
    # checks the case's mode, the table only says who may move where).
    # Scheduling confirms a time one side proposed, so either side may be the one confirming.
    (State.accepted, Action.schedule): _m(State.scheduled, E, C, R),
    (State.accepted, Action.sign_opinion): _m(State.opinion_signed, E),
    (State.accepted, Action.return_for_information): _m(State.returned, E),
    (State.accepted, Action.cancel): _m(State.cancelled, R),

    (State.scheduled, Action.reschedule): _m(State.scheduled, R, C, E),
    (State.scheduled, Action.start_session): _m(State.in_session, R, E),
    (State.scheduled, Action.cancel): _m(State.cancelled, R, E),

    (State.in_session, Action.sign_opinion): _m(State.opinion_signed, E),
    (State.in_session, Action.reschedule): _m(State.scheduled, R, E),  # the call failed: another slot

    (State.opinion_signed, Action.acknowledge): _m(State.acknowledged, R),

    (State.acknowledged, Action.close): _m(State.closed, R, C, S),
}


LIFECYCLE = TransitionTable(
    TABLE, states=State, actions=Action, parties=Actor,
    invalid_message=N_("this action is not possible in the case's current state"),
    forbidden_message=N_("your part in this case does not allow this action"),
)


def next_state(state: State | str, action: Action | str, actor: Actor | str) -> State:
    return LIFECYCLE.next_state(state, action, [actor])


def actions_for(state: State | str, actor: Actor | str) -> list[Action]:
    """What this participant can do now: drives the buttons a page shows."""
    return LIFECYCLE.actions_for(state, [actor])
