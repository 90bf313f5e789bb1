"""After the opinion: the requester acknowledges it, the outcome follow-up falls due
(`opinion_follow_up_days` later, default 30), the requester is reminded once, and records the
outcome, optionally closing the case.

`send_due_follow_up_reminders` is meant for the periodic timers loop: it claims due rows with
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two server processes never remind the same doctor twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.consultations import opinion_content as content
from carebridge.consultations import service
from carebridge.consultations.lifecycle import Action, Actor, State
from carebridge.consultations.models import CaseEvent, ConsultationCase
from carebridge.consultations.opinion import opinion_of
from carebridge.consultations.opinion_models import ConsultationOpinion
from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.notifications.service import notify

OUTCOME_STATES = frozenset({State.acknowledged, State.closed})
REMINDER_BATCH = 200


async def start_follow_up(session: AsyncSession, case: ConsultationCase) -> None:
    opinion = await opinion_of(session, case.id)
    if opinion is not None and opinion.follow_up_due_at is None:
        opinion.follow_up_due_at = utcnow() + dt.timedelta(days=get_settings().opinion_follow_up_days)
        await session.flush()


async def send_due_follow_up_reminders(session: AsyncSession, now: dt.datetime) -> int:
    """Remind each requester whose outcome follow-up is due and not yet recorded; once per opinion.
    Returns how many were reminded. Commits nothing: the caller's transaction carries the reminders."""
    due = (await session.execute(
        select(ConsultationOpinion, ConsultationCase)
        .join(ConsultationCase, ConsultationCase.id == ConsultationOpinion.case_id)
        .where(ConsultationOpinion.follow_up_due_at <= now, ConsultationOpinion.follow_up_reminded_at.is_(None),
               ConsultationOpinion.outcome_recorded_at.is_(None))
        .order_by(ConsultationOpinion.follow_up_due_at, ConsultationOpinion.id).limit(REMINDER_BATCH)
        .with_for_update(of=ConsultationOpinion, skip_locked=True))).all()
    for opinion, case in due:
        opinion.follow_up_reminded_at = now
        await notify(session, [case.requesting_doctor_id], kind="consultation_follow_up",
                     title=f"consultation #{case.id}: outcome follow-up due",
                     body=N_("Record how the patient did after the specialist's opinion."),
                     link=f"/consultations/{case.id}#opinion-outcome")
    await session.flush()
    return len(due)


async def record_outcome(session: AsyncSession, principal: Principal, case_id: int, outcome: str,
                         close: bool = False) -> ConsultationOpinion:
    """The requester says how the patient did; closing the case is the lifecycle's `close` move."""
    case, parts = await service._load(session, principal, case_id)
    if Actor.requester not in parts:
        raise Forbidden(N_("the requesting doctor records the outcome"), code="not_your_move")
    opinion = await opinion_of(session, case.id)
    if opinion is None or opinion.signed_at is None or case.state not in OUTCOME_STATES:
        raise Conflict(N_("the outcome is recorded after the opinion is acknowledged"), code="invalid_transition")
    outcome = outcome.strip()
    if not content.ADDENDUM_MIN <= len(outcome) <= content.NOTE_MAX:
        raise InvalidInput(N_("describe the outcome (3 to 2000 characters)"), details={"field": "outcome"})
    opinion.outcome, opinion.outcome_recorded_at, opinion.outcome_by_id = outcome, utcnow(), principal.user_id
    session.add(CaseEvent(case_id=case.id, actor_user_id=principal.user_id, actor_part=Actor.requester.value,
                          action="outcome", from_state=case.state, to_state=case.state, note=outcome))
    await session.flush()
    await service._audit(session, principal, case, "outcome", case.state, case.state, Actor.requester)
    if close and case.state == State.acknowledged:
        await service.take_action(session, principal, case.id, Action.close.value, outcome)
    return opinion
