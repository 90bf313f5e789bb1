"""Pages for double reads (the second reader's list, the blind reading beside the viewer, grading)
and for the hub's administrator (reading settings; discrepancies per reader)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.auth.principal import Principal
from carebridge.diagnostics import quality, reading_settings, studies
from carebridge.diagnostics.report_content import parsed
from carebridge.diagnostics.report_pages import LABELS, viewer_template
from carebridge.errors import CareBridgeError, NotFound
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.records.views import user_names
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
GRADE_LABELS = {
    "1": N_("1 · Agree with the first reading"),
    "2a": N_("2a · Discrepancy not ordinarily expected to be caught; unlikely to matter clinically"),
    "2b": N_("2b · Discrepancy not ordinarily expected to be caught; likely to matter clinically"),
    "3a": N_("3a · Discrepancy that should be caught most of the time; unlikely to matter clinically"),
    "3b": N_("3b · Discrepancy that should be caught most of the time; likely to matter clinically"),
}


@router.get("/diagnosis/qa")
async def qa_list(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    views = await quality.my_queue(db, principal)
    return render(request, "diagnostics/qa_list.html", {"views": views, **LABELS})


async def _item_page(request: Request, db: Db, principal: Principal, item_id: int, *, error: str = "",
                     typed: dict | None = None, status_code: int = 200) -> Response:
    view = await quality.access_double_read(db, principal, item_id)
    names = await user_names(db, [view.item.first_reader_id, view.item.second_reader_id])
    return render(request, "diagnostics/qa_item.html", {
        "view": view, "order": view.order, "first": parsed(view.first) if view.first else None, "names": names,
        "viewer": viewer_template(view.order), "studies": await studies.studies_of_order(db, view.order.id),
        "grades": GRADE_LABELS, "error": error, "typed": typed or {}, **LABELS}, status_code=status_code)


@router.get("/diagnosis/qa/{item_id}")
async def qa_item(request: Request, db: Db, principal: CurrentPrincipal, item_id: int) -> Response:
    return await _item_page(request, db, principal, item_id)


async def _step(request: Request, db: Db, principal: Principal, item_id: int, typed: dict, action) -> Response:  # noqa: ANN001
    try:
        async with db.begin_nested():
            await action()
    except NotFound:
        raise
    except CareBridgeError as problem:
        return await _item_page(request, db, principal, item_id, error=_(problem.message), typed=typed,
                                status_code=problem.status_code)
    return RedirectResponse(f"/diagnosis/qa/{item_id}", status_code=303)


@router.post("/diagnosis/qa/{item_id}/take")
async def qa_take(request: Request, db: Db, principal: CurrentPrincipal, item_id: int) -> Response:
    return await _step(request, db, principal, item_id, {}, lambda: quality.take(db, principal, item_id))


@router.post("/diagnosis/qa/{item_id}/reading")
async def qa_reading(request: Request, db: Db, principal: CurrentPrincipal, item_id: int,
                     impression: Annotated[str, Form(max_length=20000)] = "") -> Response:
    return await _step(request, db, principal, item_id, {"impression": impression},
                       lambda: quality.submit_reading(db, principal, item_id, impression))


@router.post("/diagnosis/qa/{item_id}/grade")
async def qa_grade(request: Request, db: Db, principal: CurrentPrincipal, item_id: int,
                   grade: Annotated[str, Form(max_length=3)] = "",
                   comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
    return await _step(request, db, principal, item_id, {"grade": grade, "comment": comment},
                       lambda: quality.grade(db, principal, item_id, grade, comment))


@router.get("/diagnosis/hubs/{hub_id}/qa")
async def hub_quality(request: Request, db: Db, principal: CurrentPrincipal, hub_id: int) -> Response:
    stats = await quality.hub_quality(db, principal, hub_id)
    names = await user_names(db, [r.reader_id for r in stats.readers]
                             + [d.first_reader_id for d in stats.discrepancies]
                             + [d.second_reader_id for d in stats.discrepancies])
    return render(request, "diagnostics/qa_hub.html", {"stats": stats, "names": names, "hub_id": hub_id,
                                                       "grades": quality.GRADES})


async def _settings_page(request: Request, db: Db, principal: Principal, hub_id: int, *, error: str = "",
                         saved: bool = False, status_code: int = 200) -> Response:
    current = await reading_settings.access_settings(db, principal, hub_id, manage=True)
    return render(request, "diagnostics/reading_settings.html", {
        "settings": current, "hub_id": hub_id, "error": error, "saved": saved}, status_code=status_code)


@router.get("/diagnosis/hubs/{hub_id}/reading-settings")
async def settings_page(request: Request, db: Db, principal: CurrentPrincipal, hub_id: int) -> Response:
    return await _settings_page(request, db, principal, hub_id, saved=bool(request.query_params.get("saved")))


@router.post("/diagnosis/hubs/{hub_id}/reading-settings")
async def settings_save(request: Request, db: Db, principal: CurrentPrincipal, hub_id: int,
                        two_step: Annotated[str, Form(max_length=5)] = "",
                        double_read_percent: Annotated[str, Form(max_length=5)] = "0") -> Response:
    try:
        percent = int(double_read_percent.strip() or "0")
    except ValueError:
        percent = -1  # refused below with the field named
    try:
        async with db.begin_nested():
            await reading_settings.update_settings(db, principal, hub_id, two_step=bool(two_step),
                                                   double_read_percent=percent)
    except NotFound:
        raise
    except CareBridgeError as problem:
        return await _settings_page(request, db, principal, hub_id, error=_(problem.message),
                                    status_code=problem.status_code)
    return RedirectResponse(f"/diagnosis/hubs/{hub_id}/reading-settings?saved=1", status_code=303)
