"""JSON routes for referrals under /api/v1."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from carebridge.kit.pagination import MAX_PAGE_SIZE
from carebridge.referrals import lifecycle, service
from carebridge.referrals.models import Referral
from carebridge.referrals.schemas import ActionIn, ReferralIn, ReferralList, ReferralOut
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["referrals"])


def _out(referral: Referral, principal) -> ReferralOut:  # noqa: ANN001
    actions = lifecycle.actions_for(referral.state, service.sides_of(principal, referral))
    return ReferralOut.model_validate(referral).model_copy(update={"allowed_actions": [a.value for a in actions]})


@router.post("/referrals", response_model=ReferralOut, status_code=201)
async def refer_patient(body: ReferralIn, db: Db, principal: CurrentPrincipal) -> ReferralOut:
    """Refer a patient registered at your facility; the receiving facility is granted access to the record."""
    referral = await service.refer_patient(db, principal, service.ReferralInput(**body.model_dump()))
    return _out(referral, principal)


@router.get("/referrals", response_model=ReferralList)
async def list_referrals(db: Db, principal: CurrentPrincipal,
                         box: Literal["incoming", "outgoing", "all"] = "all", cursor: str | None = None,
                         limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50) -> ReferralList:
    """Referrals into and out of your facilities, newest first."""
    page = await service.list_referrals(db, principal, box=box, cursor=cursor, limit=limit)
    return ReferralList(items=[_out(r, principal) for r in page.items], next_cursor=page.next_cursor)


@router.get("/referrals/{referral_id}", response_model=ReferralOut)
async def get_referral(referral_id: int, db: Db, principal: CurrentPrincipal) -> ReferralOut:
    """One referral, with the actions the caller may take now."""
    return _out(await service.view_referral(db, principal, referral_id), principal)


@router.post("/referrals/{referral_id}/actions/{action}", response_model=ReferralOut)
async def act(referral_id: int, action: str, db: Db, principal: CurrentPrincipal,
              body: ActionIn | None = None) -> ReferralOut:
    """accept, decline (reason), arrive, complete (receiving side); cancel (reason, sending side)."""
    referral = await service.act(db, principal, referral_id, action, body.reason if body else "")
    return _out(referral, principal)
