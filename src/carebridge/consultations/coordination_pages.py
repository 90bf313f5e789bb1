"""Pages for expert suggestions and assignment, the breaches list and session scheduling. They call
the same services as coordination_api. Included by app.py before consultations.pages, so
`/consultations/breaches` is not read as a case id."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.config import get_settings
from carebridge.consultations import escalation, invitation, scheduling, suggestions
from carebridge.consultations.case_panels import Panels
from carebridge.consultations.models import CaseTeamSeat
from carebridge.consultations.pages import LABELS
from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_
from carebridge.network.catalog import department_names
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import is_htmx, render

router = make_router(include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]


@router.get("/consultations/breaches")
async def breaches_page(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    rows = await escalation.list_breaches(db, principal)
    return render(request, "consultations/breaches.html", {
        "rows": rows, "labels": LABELS, "panels": Panels(zone=get_settings().display_timezone)})


@router.get("/consultations/{case_id}/suggestions")
async def suggestions_page(request: Request, db: Db, principal: CurrentPrincipal, case_id: int,
                           seat_id: int | None = None) -> Response:
    """The ranked list for the case or one seat: a fragment for htmx, a page of its own otherwise."""
    found = await suggestions.suggest_experts(db, principal, case_id, seat_id)
    seats = (await db.scalars(select(CaseTeamSeat).where(CaseTeamSeat.case_id == case_id)
                              .order_by(CaseTeamSeat.id))).all()
    template = "consultations/_suggestions.html" if is_htmx(request) else "consultations/suggestions.html"
    return render(request, template, {"case": found.case, "suggest": found, "seats": seats,
                                      "departments": await department_names(db)})


@router.post("/consultations/{case_id}/assign")
async def assign(db: Db, principal: CurrentPrincipal, case_id: int, user_id: Annotated[int, Form()],
                 note: Text = "") -> Response:
    await suggestions.assign_expert(db, principal, case_id, user_id, note)
    return RedirectResponse(f"/consultations/{case_id}", status_code=303)


def _slot_start(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(N_("choose one of the offered times"), details={"field": "starts_at"})
    return moment


@router.post("/consultations/{case_id}/schedule/proposals")
async def propose(db: Db, principal: CurrentPrincipal, case_id: int, starts_at: Annotated[str, Form(max_length=40)],
                  note: Text = "") -> Response:
    await scheduling.propose_slot(db, principal, case_id, _slot_start(starts_at), note)
    return RedirectResponse(f"/consultations/{case_id}#schedule", status_code=303)


@router.post("/consultations/{case_id}/schedule/confirm")
async def confirm(db: Db, principal: CurrentPrincipal, case_id: int) -> Response:
    await scheduling.confirm_slot(db, principal, case_id)
    return RedirectResponse(f"/consultations/{case_id}#schedule", status_code=303)


@router.get("/consultations/{case_id}/invitation.ics")
async def invitation_file(request: Request, db: Db, principal: CurrentPrincipal, case_id: int) -> Response:
    return await invitation.invitation_response(db, principal, case_id, str(request.base_url))

