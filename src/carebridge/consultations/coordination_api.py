"""JSON routes for expert suggestions and assignment, response-time breaches and session scheduling.

Included by app.py before consultations.api, so `/consultations/breaches` is not read as a case id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from carebridge.consultations import escalation, invitation, scheduling, suggestions
from carebridge.consultations.api import _detail
from carebridge.consultations.schedule_schemas import (
    AssignIn,
    BreachList,
    BreachOut,
    ProposalIn,
    ScheduleOut,
    SlotOut,
    SuggestionList,
    SuggestionOut,
)
from carebridge.consultations.schemas import CaseDetail
from carebridge.consultations.service import access_case
from carebridge.kit.pagination import MAX_PAGE_SIZE
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["consultations"])


def breach_out(view: escalation.BreachView) -> BreachOut:
    b = view.breach
    return BreachOut(id=b.id, case_id=b.case_id, case_state=view.case_state, urgency=b.urgency,
                     target_facility_id=b.target_facility_id, target_facility_name=view.target_name, due_at=b.due_at,
                     detected_at=b.detected_at, escalated_to_facility_id=b.escalated_to_facility_id,
                     escalated_to_user_id=b.escalated_to_user_id, escalated_to_name=view.escalated_to)


@router.get("/consultations/breaches", response_model=BreachList)
async def list_breaches(db: Db, principal: CurrentPrincipal, case_id: int | None = None,
                        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100) -> BreachList:
    """Missed response targets of the cases the caller coordinates (newest first)."""
    return BreachList(items=[breach_out(v) for v in await escalation.list_breaches(db, principal, case_id, limit)])


@router.get("/consultations/{case_id}/suggestions", response_model=SuggestionList)
async def suggest_experts(case_id: int, db: Db, principal: CurrentPrincipal, seat_id: int | None = None
                          ) -> SuggestionList:
    """Doctors ranked for the case (or for one team seat): specialty, on duty now, open cases, language."""
    found = await suggestions.suggest_experts(db, principal, case_id, seat_id)
    return SuggestionList(case_id=case_id, seat_id=seat_id, department_id=found.department_id,
                          can_assign=found.can_assign, items=[SuggestionOut.model_validate(s) for s in found.items])


@router.post("/consultations/{case_id}/assign", response_model=CaseDetail)
async def assign_expert(case_id: int, body: AssignIn, db: Db, principal: CurrentPrincipal) -> CaseDetail:
    """The hub coordinator gives a triaged case to a doctor of the hub, who alone may then accept it."""
    await suggestions.assign_expert(db, principal, case_id, body.user_id, body.note)
    return _detail(await access_case(db, principal, case_id))


def schedule_out(view: scheduling.ScheduleView) -> ScheduleOut:
    a = view.appointment
    return ScheduleOut(
        case_id=view.case.id, state=view.case.state, starts_at=a.starts_at if a else None,
        ends_at=a.ends_at if a else None, cancelled=bool(a and a.cancelled_at), sequence=a.sequence if a else 0,
        proposed_starts_at=a.proposed_starts_at if a else None, proposed_ends_at=a.proposed_ends_at if a else None,
        proposed_side=(a.proposed_side or None) if a else None, proposal_note=a.proposal_note if a else "",
        my_side=view.side, can_propose=view.can_propose, can_confirm=view.can_confirm,
        reason_required=view.needs_reason, slots=[SlotOut(starts_at=s.starts_at, ends_at=s.ends_at)
                                                  for s in view.slots])


@router.get("/consultations/{case_id}/schedule", response_model=ScheduleOut)
async def get_schedule(case_id: int, db: Db, principal: CurrentPrincipal) -> ScheduleOut:
    """The booked session, a pending proposal, and for the two sides the free slots to propose."""
    return schedule_out(await scheduling.schedule_view(db, principal, case_id))


@router.post("/consultations/{case_id}/schedule/proposals", response_model=ScheduleOut)
async def propose_slot(case_id: int, body: ProposalIn, db: Db, principal: CurrentPrincipal) -> ScheduleOut:
    """Propose one of the free slots; moving a booked session needs a reason in `note`."""
    await scheduling.propose_slot(db, principal, case_id, body.starts_at, body.note)
    return schedule_out(await scheduling.schedule_view(db, principal, case_id))


@router.post("/consultations/{case_id}/schedule/confirm", response_model=ScheduleOut)
async def confirm_slot(case_id: int, db: Db, principal: CurrentPrincipal) -> ScheduleOut:
    """The other side confirms the proposed slot (the case's `schedule` or `reschedule` move)."""
    await scheduling.confirm_slot(db, principal, case_id)
    return schedule_out(await scheduling.schedule_view(db, principal, case_id))


@router.get("/consultations/{case_id}/invitation.ics", response_class=Response)
async def session_invitation(case_id: int, request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    """The session's calendar invitation (text/calendar; METHOD:CANCEL once cancelled)."""
    return await invitation.invitation_response(db, principal, case_id, str(request.base_url))
