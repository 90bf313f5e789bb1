"""The two lifecycles of the pharmacy as transition tables.

Prescription: written and submitted (*pending_review*), a pharmacist of the dispensing facility
*approves* it or *returns* it to the doctor with a reason; the doctor edits and *resubmits* (a new
version, back to *pending_review*) or cancels; an approved prescription is *dispensed* by the
pickup/delivery side; a prescription not dispensed within its validity *expires*.

Refill request: the patient asks (*requested*); a doctor of the prescribing facility *approves*
(a new prescription goes to pharmacist review) or *declines* with a reason; the patient may
withdraw it while it waits.
"""

from __future__ import annotations

from enum import StrEnum

from carebridge.kit.i18n import N_
from carebridge.kit.lifecycle import Move, TransitionTable
from carebridge.kit.lifecycle import move as _m


class State(StrEnum):
    pending_review = "pending_review"
    returned = "returned"
    approved = "approved"
    dispensed = "dispensed"
    cancelled = "cancelled"
    expired = "expired"


class Action(StrEnum):
    approve = "approve"
    return_ = "return"
    resubmit = "resubmit"
    cancel = "cancel"
    dispense = "dispense"
    expire = "expire"


class Party(StrEnum):
    doctor = "doctor"  # doctors of the prescribing facility (the prescriber among them)
    pharmacist = "pharmacist"  # pharmacists of the dispensing facility
    patient = "patient"
    system = "system"  # dispensing hand-off, expiry


D, P, Y = Party.doctor, Party.pharmacist, Party.system

TABLE: dict[tuple[State, Action], Move[State, Party]] = {
    (State.pending_review, Action.approve): _m(State.approved, P),
    (State.pending_review, Action.return_): _m(State.returned, P),
    (State.pending_review, Action.cancel): _m(State.cancelled, D),
    (State.pending_review, Action.expire): _m(State.expired, Y),
    (State.returned, Action.resubmit): _m(State.pending_review, D),
    (State.returned, Action.cancel): _m(State.cancelled, D),
    (State.returned, Action.expire): _m(State.expired, Y),
    (State.approved, Action.dispense): _m(State.dispensed, Y),
    (State.approved, Action.cancel): _m(State.cancelled, D),
    (State.approved, Action.expire): _m(State.expired, Y),
}

OPEN = frozenset({State.pending_review, State.returned, State.approved})
# A cancellation and a return must say why: the other side acts on it.
NEEDS_REASON = frozenset({Action.return_, Action.cancel})

LIFECYCLE: TransitionTable[State, Action, Party] = TransitionTable(
    TABLE, states=State, actions=Action, parties=Party,
    invalid_message=N_("this step is not possible for the prescription in its current state"),
    forbidden_message=N_("you cannot take this step on this prescription"))

next_state = LIFECYCLE.next_state
actions_for = LIFECYCLE.actions_for


class RefillState(StrEnum):
    requested = "requested"
    approved = "approved"
    declined = "declined"
    cancelled = "cancelled"


class RefillAction(StrEnum):
    approve = "approve"
    decline = "decline"
    cancel = "cancel"


REFILL_TABLE: dict[tuple[RefillState, RefillAction], Move[RefillState, Party]] = {
    (RefillState.requested, RefillAction.approve): _m(RefillState.approved, D),
    (RefillState.requested, RefillAction.decline): _m(RefillState.declined, D),
    (RefillState.requested, RefillAction.cancel): _m(RefillState.cancelled, Party.patient),
}

REFILLS: TransitionTable[RefillState, RefillAction, Party] = TransitionTable(
    REFILL_TABLE, states=RefillState, actions=RefillAction, parties=Party,
    invalid_message=N_("this refill request has already been decided"),
    forbidden_message=N_("you cannot decide this refill request"))
