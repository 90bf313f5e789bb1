"""JSON and CSV routes for network analytics under /api/v1 (administrators only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from carebridge.analytics import labels
from carebridge.analytics.export import export_analytics_csv
from carebridge.analytics.schemas import ConsultationAnalyticsOut
from carebridge.analytics.service import Report, consultation_analytics, make_filters
from carebridge.kit import i18n
from carebridge.kit.clock import utcnow
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["analytics"])
Since = Annotated[dt.date | None, Query(description="first day of the period (China time); default 90 days ago")]
Until = Annotated[dt.date | None, Query(description="last day of the period, included; default today")]
UrgencyQ = Annotated[str | None, Query(max_length=10, description="emergency, urgent or routine")]
FacilityQ = Annotated[int | None, Query(description="one facility; default the whole network you may see")]


def report_out(report: Report) -> ConsultationAnalyticsOut:
    c = report.county
    return ConsultationAnalyticsOut(
        filters=asdict(report.filters), network_wide=report.network_wide, facility_ids=report.facility_ids,
        submitted=report.submitted, by_state=report.by_state,
        by_tier=[asdict(g) for g in report.by_tier], by_facility=[asdict(g) for g in report.by_facility],
        by_target_facility=[asdict(g) for g in report.by_target],
        by_specialty=[asdict(g) for g in report.by_specialty], by_urgency=[asdict(g) for g in report.by_urgency],
        timing=[{"urgency": t.urgency, "target_minutes": t.target_minutes, "cases": t.cases,
                 "responded": t.responded, "response_median_minutes": t.response_median,
                 "response_p90_minutes": t.response_p90, "within_target": t.within_target,
                 "within_target_share": t.within_target_share, "completed": t.completed,
                 "completion_median_minutes": t.completion_median, "completion_p90_minutes": t.completion_p90}
                for t in report.timings],
        breaches={**report.breaches, "by_urgency": report.breaches_by_urgency},
        referrals=asdict(report.referrals),
        county_share={"definition": i18n.gettext(labels.COUNTY_DEFINITION), "eligible": c.eligible,
                      "kept": c.kept, "share": c.share, "goal": c.goal,
                      "answered_within_county": c.answered_within,
                      "answered_within_county_share": c.answered_share},
        weeks=[{"week_start": w.start, "submitted": w.submitted, "breaches": w.breaches,
                "county_eligible": w.county_eligible, "county_kept": w.county_kept,
                "county_share": w.county_share} for w in report.weeks])


@router.get("/analytics/consultations", response_model=ConsultationAnalyticsOut)
async def consultation_numbers(db: Db, principal: CurrentPrincipal, since: Since = None, until: Until = None,
                               urgency: UrgencyQ = None, facility_id: FacilityQ = None) -> ConsultationAnalyticsOut:
    """Consultations by tier, facility, specialty and urgency; response and completion times (median,
    p90) against the targets; breaches; referrals up and down; the share handled at county level or
    below. Platform administrators see the network, facility administrators their facilities' cases."""
    filters = make_filters(since, until, urgency or None, facility_id)
    return report_out(await consultation_analytics(db, principal, filters))


@router.get("/analytics/consultations.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the same numbers, one per line"}})
async def consultation_numbers_csv(db: Db, principal: CurrentPrincipal, since: Since = None, until: Until = None,
                                   urgency: UrgencyQ = None, facility_id: FacilityQ = None) -> Response:
    """The same numbers as CSV (section, key, name, metric, value); the export is audited."""
    filters = make_filters(since, until, urgency or None, facility_id)
    return csv_response(await export_analytics_csv(db, principal, filters))


def csv_response(body: str) -> Response:
    name = f"consultation-analytics-{utcnow():%Y%m%d-%H%M%S}.csv"
    # A byte-order mark so spreadsheet programs read the Chinese names as UTF-8.
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
