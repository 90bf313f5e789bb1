"""Assembling the dashboard from a report: translated chart labels and table rows."""

from __future__ import annotations

from carebridge.analytics import labels
from carebridge.analytics.charts import BarInput, LineInput, bar_chart, line_chart
from carebridge.analytics.service import Group, Report
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.network.labels import TIER_LABELS

TOP = 10  # facilities and specialties shown as bars; the CSV has them all


def duration(value: float | None) -> str:
    """Minutes as a person reads them: 45 min, 3.5 h, 2.1 d."""
    if value is None:
        return "–"
    if value < 90:
        return i18n.gettext(N_("%(n)s min")) % {"n": f"{value:.0f}"}
    if value < 48 * 60:
        return i18n.gettext(N_("%(n)s h")) % {"n": f"{value / 60:.1f}"}
    return i18n.gettext(N_("%(n)s d")) % {"n": f"{value / 1440:.1f}"}


def share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _name(group: Group) -> str:
    english = i18n.get_locale() == "en"
    return (group.name_en if english else group.name) or group.name or i18n.gettext(labels.NO_SPECIALTY)


def _counts(key: str, title: str, groups: list[Group], label) -> object:  # noqa: ANN001
    return bar_chart(key, i18n.gettext(title), [BarInput(label(g), g.count, str(g.count)) for g in groups[:TOP]])


def _response_chart(report: Report) -> object:
    _ = i18n.gettext
    items = []
    for t in report.timings:
        if t.target_minutes is None or t.response_median is None:
            continue
        name = _(labels.URGENCY[t.urgency])
        for metric, value in ((_("median"), t.response_median), ("p90", t.response_p90)):
            ratio = value / t.target_minutes
            items.append(BarInput(f"{name} · {metric}", ratio, f"{duration(value)}",
                                  "late" if ratio > 1 else ("s1" if metric == "p90" else "s0")))
    return bar_chart("response", _("Response time against target"), items, scale_max=1.5, marker=1.0,
                     marker_label=_("target"))


def charts_for(report: Report) -> dict[str, object]:
    _ = i18n.gettext
    weeks = [w.start.strftime("%m-%d") for w in report.weeks]
    r = report.referrals
    return {
        "weekly": line_chart("weekly", _("Cases per week"), weeks, [
            LineInput(_("Submitted"), [w.submitted for w in report.weeks]),
            LineInput(_("Breaches"), [w.breaches for w in report.weeks])]),
        "county": line_chart("county", _("Handled at county level or below, per week"), weeks, [
            LineInput(_("Share"), [w.county_share for w in report.weeks])], percent=True,
            goal=report.county.goal, goal_label=_("goal %(share)s") % {"share": share(report.county.goal)}),
        "response": _response_chart(report),
        "tier": _counts("tier", N_("By tier of the asking facility"), report.by_tier,
                        lambda g: _(TIER_LABELS.get(g.key, g.key))),
        "urgency": _counts("urgency", N_("By urgency"), report.by_urgency, lambda g: _(labels.URGENCY[g.key])),
        "specialty": _counts("specialty", N_("By specialty"), report.by_specialty, _name),
        "facility": _counts("facility", N_("By asking facility"), report.by_facility, _name),
        "target": _counts("target", N_("By answering facility"), report.by_target, _name),
        "referrals": bar_chart("referrals", _("Referrals"), [
            BarInput(_(labels.UP), r.up, str(r.up)),
            BarInput(_("Up-referrals above county level"), r.up_above_county, str(r.up_above_county), "late"),
            BarInput(_(labels.DOWN), r.down, str(r.down), "s1")]) if r.up or r.down else None,
    }


def timing_rows(report: Report) -> list[dict[str, str]]:
    return [{
        "urgency": i18n.gettext(labels.URGENCY[t.urgency]), "key": t.urgency,
        "target": duration(t.target_minutes) if t.target_minutes else "–", "cases": str(t.cases),
        "responded": str(t.responded), "response_median": duration(t.response_median),
        "response_p90": duration(t.response_p90), "within_target": share(t.within_target_share),
        "late_p90": bool(t.target_minutes and t.response_p90 and t.response_p90 > t.target_minutes),
        "completed": str(t.completed), "completion_median": duration(t.completion_median),
        "completion_p90": duration(t.completion_p90),
    } for t in report.timings]
