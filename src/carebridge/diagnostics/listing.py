"""Lists of orders: those my facilities sent, and those sent to my facilities as a reading hub.
Lists show order facts, no patient data beyond the patient's id; a row's patient is opened (and
audited) on the order page."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.diagnostics.service import SENDER_ROLES
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor


async def list_orders(session: AsyncSession, principal: Principal, *, cursor: str | None = None, limit: int = 50,
                      side: str = "any", state: str | None = None) -> Page[DiagnosisOrder]:
    """Newest first. `side`: "sent" (my facilities asked), "received" (my facilities read), or "any"."""
    check_limit(limit)
    sent = principal.facilities_with(*SENDER_ROLES)
    read = principal.facilities_with(Role.doctor, Role.technician)
    clauses = []
    if side in ("sent", "any") and sent:
        clauses.append(DiagnosisOrder.requesting_facility_id.in_(sent))
    if side in ("received", "any") and read:
        clauses.append(DiagnosisOrder.hub_facility_id.in_(read))
    if not clauses:
        return Page([], None)
    query = select(DiagnosisOrder).where(or_(*clauses))
    if state:
        query = query.where(DiagnosisOrder.state == state)
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(DiagnosisOrder.id < int(after[0]))
    rows = list((await session.scalars(query.order_by(DiagnosisOrder.id.desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    await _audit_list(session, principal, rows[:limit])
    return Page(rows[:limit], encode_cursor([rows[limit - 1].id]) if more else None)


async def _audit_list(session: AsyncSession, principal: Principal, shown: list[DiagnosisOrder]) -> None:
    """Rows carry the clinical question beside the patient's id: one audit row per list as shown."""
    if shown:
        await audit.append(session, audit.Entry(
            action="diagnosis_order_list", outcome="allowed", actor=principal.actor(),
            resource_type="DiagnosisOrderList", purpose=Purpose.diagnosis.value,
            detail={"order_ids": [o.id for o in shown], "patient_ids": sorted({o.patient_id for o in shown})}))
