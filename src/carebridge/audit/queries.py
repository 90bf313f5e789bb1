"""Reading the trail: the admins' search (and its CSV export) and the patient's own access log.

Kept apart from `service.py`, which everything imports to append rows: these queries need the
access layer and the people and places the rows mention.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.audit.models import AuditEvent
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import Forbidden, InvalidInput
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.network.models import Facility
from carebridge.records.models import PatientRegistration

EXPORT_MAX_ROWS = 50_000
CSV_COLUMNS = ("seq", "at", "actor_user_id", "actor_name", "actor_role", "facility_id", "patient_id", "action",
               "resource_type", "resource_id", "purpose", "outcome", "ip", "break_glass", "detail", "hash")


@dataclass(frozen=True)
class AuditFilters:
    patient_id: int | None = None
    actor: str | None = None  # a user id, or part of the name the trail recorded
    action: str | None = None
    outcome: str | None = None
    facility_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive
    break_glass_only: bool = False

    def as_detail(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                for k, v in asdict(self).items() if v not in (None, False, "")}


def break_glass_clause() -> ColumnElement[bool]:
    """Break-the-glass itself, reads under it, and the emergency lookups that lead to it (a lookup
    never followed by break-the-glass is worth a reviewer's look too)."""
    return or_(AuditEvent.action == "break_glass", AuditEvent.detail["break_glass"].as_boolean().is_(True),
               AuditEvent.detail["emergency_lookup"].as_boolean().is_(True))


def is_emergency(event: AuditEvent) -> bool:
    detail = event.detail or {}
    return event.action == "break_glass" or bool(detail.get("break_glass") or detail.get("emergency_lookup"))


def audit_scope(principal: Principal) -> ColumnElement[bool]:
    """Platform admins see everything; a facility admin sees what happened at their facility and
    to the patients registered there; nobody else reads the trail."""
    if principal.is_platform_admin:
        return true()
    facilities = principal.facilities_with(Role.facility_admin)
    if not facilities:
        raise Forbidden(N_("only administrators can read the audit trail"))
    registered = select(PatientRegistration.patient_id).where(PatientRegistration.facility_id.in_(facilities))
    return or_(AuditEvent.facility_id.in_(facilities), AuditEvent.patient_id.in_(registered))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _filter_clauses(filters: AuditFilters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.patient_id is not None:
        clauses.append(AuditEvent.patient_id == filters.patient_id)
    if actor := (filters.actor or "").strip():
        clauses.append(AuditEvent.actor_user_id == int(actor) if actor.isdigit()
                       else AuditEvent.actor_name.ilike(f"%{actor}%"))
    for column, value in ((AuditEvent.action, filters.action), (AuditEvent.outcome, filters.outcome),
                          (AuditEvent.facility_id, filters.facility_id)):
        if value not in (None, ""):
            clauses.append(column == value)
    if filters.since is not None:
        clauses.append(AuditEvent.at >= _aware(filters.since))
    if filters.until is not None:
        clauses.append(AuditEvent.at < _aware(filters.until))
    if filters.since and filters.until and _aware(filters.since) >= _aware(filters.until):
        raise InvalidInput(N_("the start of the date range must come before its end"), details={"field": "since"})
    if filters.break_glass_only:
        clauses.append(break_glass_clause())
    return clauses


async def search_audit(session: AsyncSession, principal: Principal, filters: AuditFilters, *,
                       cursor: str | None = None, limit: int = 50) -> Page[AuditEvent]:
    """Newest first, keyset-paginated on the chain's own order."""
    check_limit(limit)
    query = select(AuditEvent).where(audit_scope(principal), *_filter_clauses(filters))
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(AuditEvent.seq < int(after[0]))
    rows = (await session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit + 1))).all()
    items = list(rows[:limit])
    return Page(items, encode_cursor([items[-1].seq]) if len(rows) > limit else None)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas; names in the trail are user-typed.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_row(event: AuditEvent) -> list[str]:
    detail = event.detail or {}
    values = {**{c: getattr(event, c, None) for c in CSV_COLUMNS}, "at": event.at.astimezone(dt.UTC).isoformat(),
              "break_glass": "yes" if is_emergency(event) else "",
              "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else ""}
    return [_cell(values[c]) for c in CSV_COLUMNS]


async def export_audit_csv(session: AsyncSession, principal: Principal, filters: AuditFilters) -> str:
    """The whole search as CSV (oldest first, the chain's order). The export is itself audited."""
    query = (select(AuditEvent).where(audit_scope(principal), *_filter_clauses(filters))
             .order_by(AuditEvent.seq).limit(EXPORT_MAX_ROWS + 1))
    events = (await session.scalars(query)).all()
    if len(events) > EXPORT_MAX_ROWS:
        raise InvalidInput(N_("too many rows to export; narrow the search"), details={"max_rows": EXPORT_MAX_ROWS})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_row(e) for e in events)
    facilities = principal.facilities_with(Role.facility_admin)
    await audit.append(session, audit.Entry(
        action="export", outcome="success", actor=principal.actor(min(facilities) if facilities else None),
        resource_type="AuditEvent", purpose="administration",
        detail={"rows": len(events), "filters": filters.as_detail()}))
    return out.getvalue()


async def facility_names(session: AsyncSession, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = await session.execute(select(Facility.id, Facility.name, Facility.name_en).where(Facility.id.in_(ids)))
    return {fid: (name, name_en or name) for fid, name, name_en in rows}
