"""Pages for audit: the administrators' search (htmx paging, CSV export) and the patient's
"Who viewed my record"."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from carebridge.audit.access_log import patient_access_log
from carebridge.audit.api import csv_response
from carebridge.audit.queries import (
    AuditFilters,
    audit_scope,
    export_audit_csv,
    facility_names,
    is_emergency,
    search_audit,
)
from carebridge.errors import InvalidInput
from carebridge.kit import i18n
from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import N_
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import is_htmx, render

router = make_router(include_in_schema=False)
FILTER_KEYS = ("patient_id", "actor", "action", "outcome", "facility_id", "since", "until", "break_glass")
ACTIONS = {
    "read": N_("Read"), "search": N_("Search"), "create": N_("Create"), "update": N_("Update"), "void": N_("Void"),
    "export": N_("Export"), "break_glass": N_("Break the glass"), "consent": N_("Consent"), "grant": N_("Grant"),
    "revoke": N_("Revoke"), "register": N_("Register"), "merge": N_("Merge"), "link": N_("Link"),
    "sign_in": N_("Sign-in"),
}
OUTCOMES = {
    "allowed": N_("Allowed"), "denied": N_("Denied"), "success": N_("Success"), "failure": N_("Failure"),
    "not_found": N_("Not found"), "locked": N_("Locked out"), "duplicate_shown": N_("Duplicate shown"),
}


def _int(value: str | None, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(N_("enter a number"), details={"field": field})
    return int(value)


def _day(value: str | None, field: str, *, end: bool = False) -> dt.datetime | None:
    """Dates on the page are China days; `until` includes its whole day."""
    if not (value or "").strip():
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(N_("enter dates as YYYY-MM-DD"), details={"field": field}) from exc
    return dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(), local_zone())


def filters_from(request: Request) -> tuple[AuditFilters, dict[str, str]]:
    raw = {k: request.query_params.get(k, "").strip() for k in FILTER_KEYS}
    filters = AuditFilters(
        patient_id=_int(raw["patient_id"], "patient_id"), actor=raw["actor"] or None,
        action=raw["action"] or None, outcome=raw["outcome"] or None,
        facility_id=_int(raw["facility_id"], "facility_id"),
        since=_day(raw["since"], "since"), until=_day(raw["until"], "until", end=True),
        break_glass_only=raw["break_glass"] in ("1", "on", "true"))
    return filters, {k: v for k, v in raw.items() if v}


async def _labels(db: Db, facility_ids: set[int]) -> dict[int, str]:
    english = i18n.get_locale() == "en"
    return {fid: names[1 if english else 0] for fid, names in (await facility_names(db, facility_ids)).items()}


@router.get("/audit")
async def audit_page(request: Request, db: Db, principal: CurrentPrincipal, cursor: str | None = None) -> Response:
    audit_scope(principal)  # non-admins get their 403 before any parsing
    error, raw = None, {}
    try:
        filters, raw = filters_from(request)
        page = await search_audit(db, principal, filters, cursor=cursor)
    except InvalidInput as exc:
        error, page = i18n.gettext(exc.message), None
    items = page.items if page else []
    context = {"page": page, "items": items, "raw": raw, "error": error, "actions": ACTIONS, "outcomes": OUTCOMES,
               "facilities": await _labels(db, {e.facility_id for e in items if e.facility_id}),
               "query": urlencode(raw), "is_emergency": is_emergency}
    if is_htmx(request) and cursor:
        return render(request, "audit/_rows.html", context)
    return render(request, "audit/search.html", context, status_code=422 if error else 200)


@router.get("/audit/export.csv")
async def audit_export(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    audit_scope(principal)
    filters, _raw = filters_from(request)
    return csv_response(await export_audit_csv(db, principal, filters))


@router.get("/me/access-log")
async def my_access_log(request: Request, db: Db, principal: CurrentPrincipal, cursor: str | None = None) -> Response:
    page = await patient_access_log(db, principal, cursor=cursor, limit=30)
    if is_htmx(request) and cursor:
        return render(request, "audit/_access_log_items.html", {"page": page})
    return render(request, "audit/access_log.html", {"page": page})
