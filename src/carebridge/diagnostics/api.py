"""JSON routes for diagnosis orders and arriving studies under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from sqlalchemy import select

from carebridge.diagnostics import listing, service, studies
from carebridge.diagnostics.models import OrderEvent
from carebridge.diagnostics.schemas import (
    CancelIn,
    EventOut,
    LinkIn,
    OrderDetail,
    OrderIn,
    OrderList,
    OrderOut,
    StudyOut,
)
from carebridge.kit.pagination import MAX_PAGE_SIZE
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["diagnosis"])


async def _detail(db: Db, order, parties) -> OrderDetail:  # noqa: ANN001 - the service's own types
    found = await studies.studies_of_order(db, order.id)
    events = (await db.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)
                               .order_by(OrderEvent.at, OrderEvent.id))).all()
    return OrderDetail(**OrderOut.model_validate(order).model_dump(), my_parties=sorted(p.value for p in parties),
                       studies=[StudyOut.model_validate(s) for s in found],
                       events=[EventOut.model_validate(e) for e in events])


@router.post("/diagnosis/orders", response_model=OrderDetail, status_code=201)
async def order_diagnosis(body: OrderIn, db: Db, principal: CurrentPrincipal) -> OrderDetail:
    """An order from the patient's facility, routed to the nearest hub reading this modality (or the
    one named). The reading hub gets access to the relevant record for the order's life."""
    order = await service.order_diagnosis(db, principal, service.OrderRequest(**body.model_dump()))
    return await _detail(db, *await service.read_order(db, principal, order.id))


@router.get("/diagnosis/orders", response_model=OrderList)
async def list_orders(db: Db, principal: CurrentPrincipal, cursor: str | None = None,
                      side: Annotated[str, Query(pattern="^(any|sent|received)$")] = "any",
                      state: str | None = None,
                      limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50) -> OrderList:
    """Orders my facilities sent ("sent"), orders sent to my facilities for reading ("received"), or both."""
    page = await listing.list_orders(db, principal, cursor=cursor, limit=limit, side=side, state=state)
    return OrderList(items=[OrderOut.model_validate(o) for o in page.items], next_cursor=page.next_cursor)


@router.get("/diagnosis/orders/{order_id}", response_model=OrderDetail)
async def get_order(order_id: int, db: Db, principal: CurrentPrincipal) -> OrderDetail:
    return await _detail(db, *await service.read_order(db, principal, order_id))


@router.post("/diagnosis/orders/{order_id}/cancel", response_model=OrderDetail)
async def cancel_order(order_id: int, body: CancelIn, db: Db, principal: CurrentPrincipal) -> OrderDetail:
    order = await service.cancel_order(db, principal, order_id, body.reason)
    return await _detail(db, *await service.load_order(db, principal, order.id))


@router.get("/diagnosis/hubs/{hub_id}/unmatched", response_model=list[StudyOut])
async def unmatched_studies(hub_id: int, db: Db, principal: CurrentPrincipal,
                            limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50) -> list[StudyOut]:
    """The hub's reconciliation queue: studies that arrived without an order they could be matched to."""
    return [StudyOut.model_validate(s) for s in await studies.unmatched_studies(db, principal, hub_id, limit)]


@router.post("/diagnosis/studies/{study_id}/link", response_model=StudyOut)
async def link_study(study_id: int, body: LinkIn, db: Db, principal: CurrentPrincipal) -> StudyOut:
    return StudyOut.model_validate(await studies.link_study(db, principal, study_id, body.order_id))
