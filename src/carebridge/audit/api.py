"""JSON routes for audit under /api/v1: the admins' search and export, the patient's access log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from carebridge.audit.access_log import patient_access_log
from carebridge.audit.queries import AuditFilters, export_audit_csv, search_audit
from carebridge.audit.schemas import AccessLogItemOut, AccessLogPage, AuditEventOut, AuditPage
from carebridge.kit.clock import utcnow
from carebridge.kit.pagination import MAX_PAGE_SIZE
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["audit"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


def _filters(
    patient_id: int | None = None,
    actor: Annotated[str | None, Query(max_length=100, description="user id, or part of the actor's name")] = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    facility_id: int | None = None,
    since: Annotated[dt.datetime | None, Query(description="from this time (UTC if no offset)")] = None,
    until: Annotated[dt.datetime | None, Query(description="before this time (UTC if no offset)")] = None,
    break_glass: Annotated[bool, Query(description="only break-the-glass events")] = False,
) -> AuditFilters:
    return AuditFilters(patient_id=patient_id, actor=actor, action=action, outcome=outcome,
                        facility_id=facility_id, since=since, until=until, break_glass_only=break_glass)


@router.get("/audit/events", response_model=AuditPage)
async def audit_events(db: Db, principal: CurrentPrincipal, patient_id: int | None = None,
                       actor: Annotated[str | None, Query(max_length=100)] = None,
                       action: Annotated[str | None, Query(max_length=32)] = None,
                       outcome: Annotated[str | None, Query(max_length=20)] = None,
                       facility_id: int | None = None, since: dt.datetime | None = None,
                       until: dt.datetime | None = None, break_glass: bool = False,
                       cursor: str | None = None, limit: Limit = 50) -> AuditPage:
    """Search the trail, newest first. Platform admins see everything; a facility admin sees events
    at their facility and about the patients registered there. Times without an offset are UTC."""
    filters = _filters(patient_id, actor, action, outcome, facility_id, since, until, break_glass)
    page = await search_audit(db, principal, filters, cursor=cursor, limit=limit)
    return AuditPage(items=[AuditEventOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor)


@router.get("/audit/events.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the search as CSV"}})
async def audit_events_csv(db: Db, principal: CurrentPrincipal, patient_id: int | None = None,
                           actor: Annotated[str | None, Query(max_length=100)] = None,
                           action: Annotated[str | None, Query(max_length=32)] = None,
                           outcome: Annotated[str | None, Query(max_length=20)] = None,
                           facility_id: int | None = None, since: dt.datetime | None = None,
                           until: dt.datetime | None = None, break_glass: bool = False) -> Response:
    """The same search as CSV, oldest first; the export itself is audited."""
    filters = _filters(patient_id, actor, action, outcome, facility_id, since, until, break_glass)
    return csv_response(await export_audit_csv(db, principal, filters))


def csv_response(body: str) -> Response:
    name = f"audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    # A byte-order mark so spreadsheet programs read the Chinese names as UTF-8.
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/me/access-log", response_model=AccessLogPage)
async def my_access_log(db: Db, principal: CurrentPrincipal, cursor: str | None = None,
                        limit: Limit = 50) -> AccessLogPage:
    """For a patient: who else opened, searched or changed your record, in plain words, newest first."""
    page = await patient_access_log(db, principal, cursor=cursor, limit=limit)
    return AccessLogPage(items=[AccessLogItemOut.model_validate(i) for i in page.items],
                         next_cursor=page.next_cursor)
