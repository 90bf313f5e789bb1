"""The dashboard as CSV: one line per number (section, key, name, metric, value), so every figure
of the page and the JSON is there and a spreadsheet can pivot it. The export is audited."""

from __future__ import annotations

import csv
import io

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.analytics import labels
from carebridge.analytics.service import Filters, Group, Report, consultation_analytics
from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.kit import i18n
from carebridge.network.labels import TIER_LABELS

COLUMNS = ("section", "key", "name", "metric", "value")


def _name(group: Group, english: bool) -> str:
    return (group.name_en if english else group.name) or group.name


def report_rows(report: Report) -> list[tuple]:
    _ = i18n.gettext
    english = i18n.get_locale() == "en"
    rows: list[tuple] = [("period", "since", "", "date", report.filters.since.isoformat()),
                         ("period", "until", "", "date", report.filters.until.isoformat()),
                         ("totals", "submitted", _("Cases"), "cases", report.submitted)]
    rows += [("by_state", k, _(labels.STATE.get(k, k)), "cases", n) for k, n in sorted(report.by_state.items())]
    rows += [("by_tier", g.key, _(TIER_LABELS.get(g.key, g.key)), "cases", g.count) for g in report.by_tier]
    rows += [("by_facility", g.key, _name(g, english), "cases", g.count) for g in report.by_facility]
    rows += [("by_target_facility", g.key, _name(g, english), "cases", g.count) for g in report.by_target]
    rows += [("by_specialty", g.key, _name(g, english) or _(labels.NO_SPECIALTY), "cases", g.count)
             for g in report.by_specialty]
    rows += [("by_urgency", g.key, _(labels.URGENCY[g.key]), "cases", g.count) for g in report.by_urgency]
    for t in report.timings:
        for metric in ("target_minutes", "cases", "responded", "response_median", "response_p90", "within_target",
                       "completed", "completion_median", "completion_p90"):
            value = getattr(t, metric)
            rows.append(("timing", t.urgency, _(labels.URGENCY[t.urgency]),
                         metric.replace("median", "median_minutes").replace("p90", "p90_minutes"),
                         "" if value is None else round(value, 1)))
    rows += [("breaches", k, "", "cases", n) for k, n in report.breaches.items()]
    rows += [("breaches_by_urgency", k, _(labels.URGENCY[k]), "cases", n)
             for k, n in sorted(report.breaches_by_urgency.items())]
    r = report.referrals
    rows += [("referrals", "up", _(labels.UP), "referrals", r.up),
             ("referrals", "down", _(labels.DOWN), "referrals", r.down),
             ("referrals", "up_above_county", "", "referrals", r.up_above_county)]
    rows += [("referrals_by_state", f"{d}:{s}", _(labels.REFERRAL_STATE.get(s, s)), "referrals", n)
             for d, states in r.by_state.items() for s, n in sorted(states.items())]
    c = report.county
    rows += [("county_share", "eligible", "", "cases", c.eligible), ("county_share", "kept", "", "cases", c.kept),
             ("county_share", "share", _(labels.COUNTY_DEFINITION), "ratio",
              "" if c.share is None else round(c.share, 4)),
             ("county_share", "goal", "", "ratio", c.goal),
             ("county_share", "answered_within_county", _(labels.ANSWERED_DEFINITION), "cases",
              c.answered_within)]
    rows += [("weekly", w.start.isoformat(), "", metric, getattr(w, metric)) for w in report.weeks
             for metric in ("submitted", "breaches", "county_eligible", "county_kept")]
    return rows


def to_csv(rows: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


async def export_analytics_csv(session: AsyncSession, principal: Principal, filters: Filters) -> str:
    """Aggregates only, yet written down: who took which part of the network's numbers away."""
    report = await consultation_analytics(session, principal, filters)
    rows = report_rows(report)
    await audit.append(session, audit.Entry(
        action="analytics_export", outcome="success", actor=principal.actor(filters.facility_id),
        resource_type="ConsultationAnalytics", resource_id="consultations", facility_id=filters.facility_id,
        detail={**filters.as_detail(), "rows": len(rows), "network_wide": report.network_wide}))
    return to_csv(rows)
