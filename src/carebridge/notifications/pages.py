"""The caller's own notifications."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from carebridge.notifications import inbox, service
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)


@router.get("/notifications")
async def notifications_page(request: Request, db: Db, principal: CurrentPrincipal,
                             cursor: str | None = None) -> Response:
    page = await inbox.my_notifications(db, principal, cursor=cursor, limit=100)
    return render(request, "notifications/list.html", {"items": page.items, "next_cursor": page.next_cursor})


@router.post("/notifications/read")
async def mark_read(db: Db, principal: CurrentPrincipal) -> Response:
    await service.mark_all_read(db, principal)
    return RedirectResponse("/notifications", status_code=303)
