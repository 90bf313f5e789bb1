"""JSON routes for consultation cases under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from carebridge.consultations import service, team
from carebridge.consultations.schemas import (
    ActionIn,
    CaseDetail,
    CaseIn,
    CaseList,
    CaseOut,
    EventOut,
    InviteIn,
    SharedEntryOut,
    TeamSeatOut,
)
from carebridge.kit.pagination import MAX_PAGE_SIZE
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["consultations"])


def _detail(view: service.CaseView) -> CaseDetail:
    base = CaseOut.model_validate(view.case).model_dump()
    return CaseDetail(**base, my_parts=sorted(p.value for p in view.parts), actions=[a.value for a in view.actions],
                      events=[EventOut.model_validate(e) for e in view.events],
                      shared_entries=[SharedEntryOut.model_validate(e) for e in view.shared],
                      team=[TeamSeatOut.model_validate(s) for s in view.team])


@router.post("/consultations", response_model=CaseDetail, status_code=201)
async def request_consultation(body: CaseIn, db: Db, principal: CurrentPrincipal) -> CaseDetail:
    """A draft case; `submit` it with POST /consultations/{id}/actions/submit."""
    data = body.model_dump()
    data["shared_entry_ids"] = tuple(data["shared_entry_ids"])
    data["team_specialties"] = tuple(data["team_specialties"])
    case = await service.request_consultation(db, principal, service.CaseRequest(**data))
    return _detail(await service.access_case(db, principal, case.id))


@router.get("/consultations", response_model=CaseList)
async def list_consultations(db: Db, principal: CurrentPrincipal, cursor: str | None = None,
                             limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50) -> CaseList:
    """Cases I requested, cases for my facilities (once submitted) and cases assigned to me, newest first."""
    page = await service.list_cases(db, principal, cursor=cursor, limit=limit)
    return CaseList(items=[CaseOut.model_validate(c) for c in page.items], next_cursor=page.next_cursor)


@router.get("/consultations/{case_id}", response_model=CaseDetail)
async def get_consultation(case_id: int, db: Db, principal: CurrentPrincipal) -> CaseDetail:
    """The case with its timeline, the shared record items and the actions the caller can take now."""
    return _detail(await service.access_case(db, principal, case_id))


@router.post("/consultations/{case_id}/actions/{action}", response_model=CaseDetail)
async def act_on_consultation(case_id: int, action: str, body: ActionIn, db: Db,
                              principal: CurrentPrincipal) -> CaseDetail:
    """One lifecycle move. 409 when the move is not possible now or someone else moved the case first;
    decline, return_for_information, cancel and reassign need a reason in `note`."""
    await service.take_plain_action(db, principal, case_id, action, body.note)
    return _detail(await service.access_case(db, principal, case_id))


@router.post("/consultations/{case_id}/team", response_model=CaseDetail)
async def invite_team_member(case_id: int, body: InviteIn, db: Db, principal: CurrentPrincipal) -> CaseDetail:
    """The lead expert or coordinator invites a doctor onto a seat (or a new seat) of the team."""
    await team.invite_member(db, principal, case_id, body.user_id, seat_id=body.seat_id, department=body.specialty)
    return _detail(await service.access_case(db, principal, case_id))


@router.post("/consultations/{case_id}/team/{seat_id}/free", response_model=CaseDetail)
async def free_team_seat(case_id: int, seat_id: int, body: ActionIn, db: Db, principal: CurrentPrincipal) -> CaseDetail:
    """The lead or coordinator frees a seat (a reason in `note`); the member's own access ends now."""
    await team.free_seat(db, principal, case_id, seat_id, body.note)
    return _detail(await service.access_case(db, principal, case_id))
