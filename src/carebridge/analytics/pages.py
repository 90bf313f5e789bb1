"""The analytics dashboard: a filter form (htmx swaps the results), SVG charts, the timing table
and a CSV link carrying the same filters. Same service as the JSON API."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select

from carebridge.analytics import labels
from carebridge.analytics.api import csv_response
from carebridge.analytics.export import export_analytics_csv
from carebridge.analytics.service import Filters, analytics_scope, consultation_analytics, make_filters
from carebridge.analytics.views import charts_for, timing_rows
from carebridge.errors import InvalidInput
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.network.labels import TIER_LABELS, TIERS_TOP_DOWN
from carebridge.network.models import Facility
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import is_htmx, render

router = make_router(include_in_schema=False)
KEYS = ("since", "until", "urgency", "facility_id")


def _day(value: str, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(N_("enter dates as YYYY-MM-DD"), details={"field": field}) from exc


def filters_from(request: Request) -> tuple[Filters, dict[str, str]]:
    raw = {k: request.query_params.get(k, "").strip() for k in KEYS}
    if raw["facility_id"] and not raw["facility_id"].isdigit():
        raise InvalidInput(N_("choose a facility from the list"), details={"field": "facility_id"})
    filters = make_filters(_day(raw["since"], "since"), _day(raw["until"], "until"), raw["urgency"] or None,
                           int(raw["facility_id"]) if raw["facility_id"] else None)
    return filters, {k: v for k, v in raw.items() if v}


async def _facility_choices(db: Db, scope: frozenset[int] | None) -> list[tuple[int, str]]:
    query = select(Facility.id, Facility.name, Facility.name_en, Facility.tier).where(Facility.active)
    if scope is not None:
        query = query.where(Facility.id.in_(scope))
    english = i18n.get_locale() == "en"
    rows = (await db.execute(query)).all()
    rows.sort(key=lambda r: (TIERS_TOP_DOWN.index(r.tier) if r.tier in TIERS_TOP_DOWN else 99, r.name))
    return [(r.id, f"{(r.name_en or r.name) if english else r.name} · {i18n.gettext(TIER_LABELS.get(r.tier, r.tier))}")
            for r in rows]


@router.get("/analytics")
async def dashboard(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    scope = analytics_scope(principal)  # non-administrators get their 403 before any parsing
    error, report, raw = None, None, {}
    try:
        filters, raw = filters_from(request)
        report = await consultation_analytics(db, principal, filters)
    except InvalidInput as exc:
        error = i18n.gettext(exc.message)
        filters = make_filters()
    context = {
        "report": report, "filters": filters, "raw": raw, "error": error, "labels": labels,
        "charts": charts_for(report) if report else {}, "timing": timing_rows(report) if report else [],
        "facilities": await _facility_choices(db, scope), "export_query": urlencode(raw),
        "tier_labels": TIER_LABELS, "english": i18n.get_locale() == "en",
    }
    template = "analytics/_results.html" if is_htmx(request) else "analytics/dashboard.html"
    return render(request, template, context, status_code=422 if error else 200)


@router.get("/analytics/export.csv")
async def export(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    analytics_scope(principal)
    filters, _raw = filters_from(request)
    return csv_response(await export_analytics_csv(db, principal, filters))
