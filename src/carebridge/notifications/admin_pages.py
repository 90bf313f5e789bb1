"""The delivery outbox page for administrators: what is stuck, where, and a retry button."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.errors import CareBridgeError
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.notifications import deliveries
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
PATH = "/admin/notifications/deliveries"

STATUS_LABELS = {
    "pending": N_("Pending"), "sent": N_("Sent"), "skipped": N_("Skipped"), "failed": N_("Failed"),
    "dead": N_("Gave up"),
}


def _back(status: str, channel: str, **extra: str | int) -> str:
    query = {k: v for k, v in {"status": status, "channel": channel, **extra}.items() if v}
    return f"{PATH}?{urlencode(query)}" if query else PATH


async def _page(request: Request, db: Db, principal: CurrentPrincipal, *, status: str = "", channel: str = "",
                cursor: str | None = None, notice: str | None = None, error: str | None = None,
                status_code: int = 200) -> Response:
    page = await deliveries.list_deliveries(db, principal, status=status or None, channel=channel or None,
                                            cursor=cursor)
    counts = await deliveries.count_deliveries(db, principal)
    channels = sorted({c.channel for c in counts} | ({channel} if channel else set()))
    table = {(c.channel, c.status): c.count for c in counts}
    return render(request, "notifications/deliveries.html", {
        "rows": page.items, "next_cursor": page.next_cursor, "status": status, "channel": channel,
        "channels": channels, "statuses": deliveries.STATUSES, "counts": table,
        "labels": {k: _(v) for k, v in STATUS_LABELS.items()}, "notice": notice, "error": error,
        "back": _back(status, channel),
    }, status_code=status_code)


@router.get(PATH)
async def deliveries_page(request: Request, db: Db, principal: CurrentPrincipal, status: str = "",
                          channel: str = "", cursor: str | None = None, retried: int | None = None) -> Response:
    notice = _("Delivery %(id)s is queued again.") % {"id": retried} if retried else None
    return await _page(request, db, principal, status=status, channel=channel[:20], cursor=cursor, notice=notice)


@router.post(PATH + "/{delivery_id}/retry")
async def retry(request: Request, db: Db, principal: CurrentPrincipal, delivery_id: int,
                status: Annotated[str, Form(max_length=10)] = "",
                channel: Annotated[str, Form(max_length=20)] = "") -> Response:
    try:
        await deliveries.retry_delivery(db, principal, delivery_id)
    except CareBridgeError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        return await _page(request, db, principal, status=status, channel=channel, error=_(exc.message),
                           status_code=exc.status_code)
    return RedirectResponse(_back(status, channel, retried=delivery_id), status_code=303)
