"""JSON routes under /api/v1: the caller's own notifications, and the delivery outbox for admins."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from carebridge.kit.pagination import MAX_PAGE_SIZE
from carebridge.notifications import deliveries, inbox, service
from carebridge.notifications.schemas import (
    DeliveryOut,
    DeliveryPage,
    NotificationOut,
    NotificationPage,
    StatusCountOut,
    UnreadOut,
)
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["notifications"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Status = Literal["pending", "sent", "skipped", "failed", "dead"]


@router.get("/notifications", response_model=NotificationPage)
async def my_notifications(db: Db, principal: CurrentPrincipal, unread: bool = False, cursor: str | None = None,
                           limit: Limit = 50) -> NotificationPage:
    """Your notifications, newest first; `unread=true` for the unread ones only. Live updates:
    WebSocket `/ws/notifications` (session cookie or Bearer token)."""
    page = await inbox.my_notifications(db, principal, unread_only=unread, cursor=cursor, limit=limit)
    return NotificationPage(items=[NotificationOut.model_validate(n) for n in page.items],
                            next_cursor=page.next_cursor, unread=await service.unread_count(db, principal))


@router.post("/notifications/read", response_model=UnreadOut)
async def mark_all_read(db: Db, principal: CurrentPrincipal) -> UnreadOut:
    await service.mark_all_read(db, principal)
    return UnreadOut(unread=0)


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
async def mark_read(notification_id: int, db: Db, principal: CurrentPrincipal) -> NotificationOut:
    return NotificationOut.model_validate(await inbox.mark_read(db, principal, notification_id))


@router.get("/notifications/deliveries", response_model=DeliveryPage)
async def list_deliveries(db: Db, principal: CurrentPrincipal, status: Status | None = None,
                          channel: Annotated[str | None, Query(max_length=20)] = None,
                          cursor: str | None = None, limit: Limit = 50) -> DeliveryPage:
    """For administrators: the outbox newest first, with counts per status and channel. Platform
    admins see all; a facility admin sees deliveries to people with a role at their facilities."""
    page = await deliveries.list_deliveries(db, principal, status=status, channel=channel, cursor=cursor,
                                            limit=limit)
    counts = await deliveries.count_deliveries(db, principal)
    return DeliveryPage(items=[DeliveryOut.model_validate(d) for d in page.items], next_cursor=page.next_cursor,
                        counts=[StatusCountOut.model_validate(c) for c in counts])


@router.post("/notifications/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
async def retry_delivery(delivery_id: int, db: Db, principal: CurrentPrincipal) -> DeliveryOut:
    """A failed, dead or skipped delivery goes back to pending, due now, with fresh attempts (audited)."""
    return DeliveryOut.model_validate(await deliveries.retry_delivery(db, principal, delivery_id))
