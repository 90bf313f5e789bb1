"""Pages of the reading worklist: the list (filters swap it through htmx; the open page polls a
change stamp and reloads its rows when they changed, and counts every clock down each second),
claiming from it, assignment by hand, reader profiles, missed targets and the turnaround dashboard.
They call the same services as worklist_api."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.analytics.charts import BarInput, bar_chart
from carebridge.analytics.views import duration, share
from carebridge.auth.models import Role
from carebridge.config import get_settings
from carebridge.diagnostics import assignment, claims, reading_escalation, turnaround
from carebridge.diagnostics import worklist as wl
from carebridge.diagnostics.models import Modality
from carebridge.diagnostics.worklist_api import UNASSIGNED, turnaround_csv_response
from carebridge.errors import Conflict, InvalidInput
from carebridge.kit import i18n
from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import N_
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import is_htmx, render

router = make_router(include_in_schema=False)
FILTER_KEYS = ("hub_id", "modality", "sending_facility_id", "urgency", "state", "mine", "lane", "sort")

LABELS = {
    "urgency": {"stat": N_("STAT"), "urgent": N_("Urgent"), "routine": N_("Routine")},
    "modality": {"CT": N_("CT"), "MR": N_("MRI"), "DX": N_("X-ray (DX)"), "CR": N_("X-ray (CR)"),
                 "US": N_("Ultrasound"), "MG": N_("Mammography"), "ECG": N_("ECG"), "SM": N_("Pathology slide")},
    "state": {"ready": N_("Ready to read"), "preliminary": N_("Preliminary signed, final due")},
    "band": {"green": N_("on track"), "amber": N_("over half of the target used"), "red": N_("at risk"),
             "breached": N_("target missed")},
    "sort": {"time_left": N_("Time left"), "arrival": N_("Arrival")},
    "mine": {"all": N_("Everyone's"), "me": N_("Assigned to me"), "unassigned": N_("Unassigned")},
    "lane": {"": N_("All lanes"), "frozen": N_("Frozen sections only"), "regular": N_("Without frozen sections")},
    "stage": {"acquisition_to_complete": N_("Acquisition → complete"),
              "complete_to_read_started": N_("Complete → read started"),
              "read_started_to_signed": N_("Read started → signed"), "complete_to_signed": N_("Complete → signed")},
}
DEFINITIONS = (
    N_("Period: orders whose study became complete in it (China days, both ends included); cancelled orders are "
       "left out."),
    N_("Stages: acquisition (the time the sending equipment wrote into the study) → complete (the turnaround clock "
       "starts) → read started (the first claim) → signed (the final report). Median and p90 of each stage are over "
       "the orders that reached both of its ends."),
    N_("Within target: signed by the due time. Breach: signed after it, or not signed and the due time has passed. "
       "The share within target is of the orders whose outcome is known."),
    N_("Reader: whoever signed the final report, else whoever claimed it last, else the assigned reader."),
)


def clock(seconds: float) -> str:
    """H:MM:SS left, with a minus sign once the target has passed (worklist.js writes the same)."""
    whole = int(abs(seconds))
    text = f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return ("−" + text) if seconds < 0 and whole else text


def _int(value: str, field: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(N_("choose from the list"), details={"field": field})
    return int(value)


def _filters(request: Request) -> tuple[wl.Filters, dict[str, str]]:
    raw = {k: request.query_params.get(k, "").strip() for k in FILTER_KEYS}
    filters = wl.make_filters(hub_id=_int(raw["hub_id"], "hub_id"), modality=raw["modality"],
                              sending_facility_id=_int(raw["sending_facility_id"], "sending_facility_id"),
                              urgency=raw["urgency"], state=raw["state"], mine=raw["mine"] or "all",
                              lane=raw["lane"], sort=raw["sort"] or "time_left")
    return filters, {k: v for k, v in raw.items() if v}


def _english() -> bool:
    return i18n.get_locale() == "en"


async def _worklist_context(request: Request, db: Db, principal: CurrentPrincipal) -> tuple[dict, int]:
    hubs, _readers = wl.reading_hubs(principal)  # a caller with no hub gets the 403 before any parsing
    error, page, raw, filters = None, None, {}, wl.Filters()
    try:
        filters, raw = _filters(request)
        page = await wl.worklist(db, principal, filters, request.query_params.get("cursor") or None,
                                 english=_english())
    except InvalidInput as exc:
        error = i18n.gettext(exc.message)
    shown = sorted(hubs if filters.hub_id is None else {filters.hub_id})
    coordinated = [h for h in shown if assignment.coordinates(principal, h)]
    stamp_query = f"?hub_id={filters.hub_id}" if filters.hub_id else ""
    return {
        "page": page, "raw": raw, "filters": filters, "error": error, "labels": LABELS, "clock": clock,
        "hubs": await wl.hub_choices(db, sorted(hubs), _english()),
        "sites": await wl.sending_sites(db, shown, _english()),
        "readers": {h: await assignment.hub_readers(db, h) for h in coordinated},
        "admin_hubs": [h for h in sorted(hubs) if principal.has_role(Role.facility_admin, h)],
        "stamp": await wl.worklist_stamp(db, principal, filters.hub_id) if page else "",
        "stamp_url": "/api/v1/diagnosis/worklist/stamp" + stamp_query,
        "poll_ms": int(get_settings().diagnosis_worklist_poll_seconds * 1000),
        "next_query": urlencode({**raw, "cursor": page.next_cursor}) if page and page.next_cursor else "",
        "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "modalities": [m.value for m in Modality],
    }, 422 if error else 200


@router.get("/diagnosis/worklist")
async def worklist_page(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    context, status = await _worklist_context(request, db, principal)
    template = "diagnostics/worklist_rows.html" if is_htmx(request) else "diagnostics/worklist.html"
    return render(request, template, context, status_code=status)


def _claim_refusal(exc: Conflict) -> str:
    details = exc.details if isinstance(exc.details, dict) else {}
    if exc.code == "claimed" and details.get("until"):
        until = dt.datetime.fromisoformat(details["until"]).astimezone(local_zone())
        return i18n.gettext(N_("%(reader)s is reading this order (claimed until %(until)s).")) % {
            "reader": details.get("reader") or "?", "until": until.strftime("%H:%M")}
    return i18n.gettext(exc.message)


@router.post("/diagnosis/worklist/{order_id}/read")
async def read(request: Request, order_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    """The worklist's Read button: claim the order, then open the reading page. Someone else's live
    claim is said in the row (htmx) or on the list, not as an error page."""
    try:
        await claims.claim(db, principal, order_id)
    except Conflict as exc:  # the refused claim wrote nothing
        message = _claim_refusal(exc)
        if is_htmx(request):
            return render(request, "diagnostics/worklist_notice.html", {"message": message})
        context, _status = await _worklist_context(request, db, principal)
        return render(request, "diagnostics/worklist.html", {**context, "error": message}, status_code=409)
    target = f"/diagnosis/orders/{order_id}/read"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _back(value: str) -> str:
    # Only back to the worklist itself: never an open redirect.
    return value if value.startswith("/diagnosis/worklist") and "//" not in value else "/diagnosis/worklist"


@router.post("/diagnosis/worklist/{order_id}/assign")
async def assign(order_id: int, db: Db, principal: CurrentPrincipal,
                 reader_user_id: Annotated[str, Form(max_length=20)] = "",
                 note: Annotated[str, Form(max_length=500)] = "",
                 back: Annotated[str, Form(max_length=1000)] = "") -> Response:
    await assignment.assign_by_hand(db, principal, order_id, _int(reader_user_id, "reader_user_id"), note)
    return RedirectResponse(_back(back), status_code=303)


@router.get("/diagnosis/hubs/{hub_id}/readers")
async def readers_page(request: Request, hub_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    assignment.check_readers_view(principal, hub_id)
    names = dict(await wl.hub_choices(db, [hub_id], _english()))
    return render(request, "diagnostics/worklist_readers.html", {
        "hub_id": hub_id, "hub_name": names.get(hub_id, ""), "readers": await assignment.hub_readers(db, hub_id),
        "may_edit": principal.has_role(Role.facility_admin, hub_id), "modalities": [m.value for m in Modality],
        "labels": LABELS, "saved": request.query_params.get("saved")})


@router.post("/diagnosis/hubs/{hub_id}/readers/{user_id}")
async def save_profile(hub_id: int, user_id: int, db: Db, principal: CurrentPrincipal,
                       modalities: Annotated[list[str] | None, Form()] = None,
                       body_parts: Annotated[str, Form(max_length=2000)] = "",
                       can_sign_final: Annotated[str, Form(max_length=5)] = "",
                       reads: Annotated[str, Form(max_length=5)] = "") -> Response:
    await assignment.set_profile(db, principal, hub_id, user_id, assignment.ProfileInput(
        modalities or [], [p for p in body_parts.replace("，", ",").split(",")], bool(can_sign_final), bool(reads)))
    return RedirectResponse(f"/diagnosis/hubs/{hub_id}/readers?saved={user_id}#reader-{user_id}", status_code=303)


@router.get("/diagnosis/breaches")
async def breaches_page(request: Request, db: Db, principal: CurrentPrincipal, cursor: str | None = None) -> Response:
    hub_id = _int(request.query_params.get("hub_id", ""), "hub_id")
    page = await reading_escalation.list_breaches(db, principal, hub_id, cursor)
    return render(request, "diagnostics/worklist_breaches.html", {
        "page": page, "labels": LABELS, "hub_id": hub_id,
        "next_query": urlencode({k: v for k, v in (("hub_id", hub_id), ("cursor", page.next_cursor)) if v})})


# --- the turnaround dashboard -------------------------------------------------------------------

PERIOD_KEYS = ("since", "until", "hub_id")


def _day(value: str, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(N_("enter dates as YYYY-MM-DD"), details={"field": field}) from exc


def _period(request: Request) -> tuple[turnaround.Period, dict[str, str]]:
    raw = {k: request.query_params.get(k, "").strip() for k in PERIOD_KEYS}
    period = turnaround.make_period(_day(raw["since"], "since"), _day(raw["until"], "until"),
                                    _int(raw["hub_id"], "hub_id"))
    return period, {k: v for k, v in raw.items() if v}


def turnaround_charts(report: turnaround.Turnaround) -> dict[str, object]:
    _ = i18n.gettext
    o, stage_names, modality_names = report.overall, LABELS["stage"], LABELS["modality"]
    stages = [BarInput(_(stage_names[k]), v.median or 0, duration(v.median),
                       "s0" if k != "complete_to_signed" else "s1") for k, v in o.stages.items() if v.count]
    by_modality = [BarInput(_(modality_names.get(g.key, g.key)), g.stages["complete_to_signed"].median or 0,
                            duration(g.stages["complete_to_signed"].median)) for g in report.by_modality
                   if g.stages["complete_to_signed"].count]
    sites = [BarInput(g.name, g.within_target_share or 0, share(g.within_target_share),
                      "late" if (g.within_target_share or 0) < 0.9 else "s0")
             for g in report.by_site[:10] if g.within_target_share is not None]
    readers = [BarInput(g.name, g.orders, f"{g.orders} · {share(g.within_target_share)}")
               for g in report.by_reader[:10]]
    return {
        "stages": bar_chart("stages", _("Median time per stage"), stages),
        "modality": bar_chart("modality", _("Complete → signed, median by modality"), by_modality),
        "sites": bar_chart("sites", _("Signed within target, by sending site"), sites, scale_max=1.0, marker=0.9,
                           marker_label="90%"),
        "readers": bar_chart("readers", _("Orders by reader (share within target)"), readers),
    }


@router.get("/diagnosis/turnaround")
async def turnaround_page(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    hubs = turnaround.turnaround_scope(principal)  # the 403 before any parsing
    error, report, raw = None, None, {}
    try:
        period, raw = _period(request)
        report = await turnaround.turnaround(db, principal, period, english=_english(),
                                             unassigned=i18n.gettext(UNASSIGNED))
    except InvalidInput as exc:
        error, period = i18n.gettext(exc.message), turnaround.make_period()
    context = {"report": report, "period": period, "raw": raw, "error": error, "labels": LABELS,
               "charts": turnaround_charts(report) if report else {}, "duration": duration, "share": share,
               "definitions": DEFINITIONS,
               "hubs": await wl.hub_choices(db, sorted(hubs), _english()) if hubs is not None else [],
               "export_query": urlencode(raw)}
    template = "diagnostics/turnaround_results.html" if is_htmx(request) else "diagnostics/turnaround.html"
    return render(request, template, context, status_code=422 if error else 200)


@router.get("/diagnosis/turnaround/export.csv")
async def turnaround_export(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    turnaround.turnaround_scope(principal)
    period, _raw = _period(request)
    return turnaround_csv_response(await turnaround.export_csv(db, principal, period, english=_english(),
                                                               unassigned=i18n.gettext(UNASSIGNED)))
