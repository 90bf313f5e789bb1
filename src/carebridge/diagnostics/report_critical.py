"""Critical findings: flagged by the reader in a signed version or an addendum, they need an
acknowledgement recorded by a clinician (doctor or nurse) of the sending facility: who, when and an
optional note. Until then both sides see the order as "critical – unacknowledged" and the sending
side has been notified urgently. A later critical addendum needs a new acknowledgement; a final
version repeating a finding already flagged in the preliminary one does not."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.diagnostics import report_notices as notices
from carebridge.diagnostics import service
from carebridge.diagnostics.lifecycle import Party
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.diagnostics.report_models import DiagnosisReport, ReportVersion
from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_

NOTE_MAX = 500
ACKNOWLEDGING_ROLES = (Role.doctor, Role.nurse)


class CriticalState(StrEnum):
    none = "none"
    unacknowledged = "unacknowledged"
    acknowledged = "acknowledged"


def state_of(report: DiagnosisReport | None) -> CriticalState:
    if report is None or report.critical_flagged_at is None:
        return CriticalState.none
    if report.critical_ack_at is None or report.critical_ack_at < report.critical_flagged_at:
        return CriticalState.unacknowledged
    return CriticalState.acknowledged


def unacknowledged_clause():  # noqa: ANN201 - a SQLAlchemy boolean clause
    flagged, acked = DiagnosisReport.critical_flagged_at, DiagnosisReport.critical_ack_at
    return flagged.is_not(None) & or_(acked.is_(None), acked < flagged)


async def critical_unacknowledged(session: AsyncSession, order_ids: Iterable[int]) -> set[int]:
    """For lists (the worklist, the sender's orders): which of these orders wait for an acknowledgement."""
    wanted = list(set(order_ids))
    if not wanted:
        return set()
    rows = await session.scalars(select(DiagnosisReport.order_id).where(
        DiagnosisReport.order_id.in_(wanted), unacknowledged_clause()))
    return set(rows.all())


async def flag(session: AsyncSession, order: DiagnosisOrder, report: DiagnosisReport, at, signer: str) -> None:  # noqa: ANN001
    report.critical_flagged_at = at
    await session.flush()
    await notices.critical_finding(session, order, signer)


async def after_version(session: AsyncSession, order: DiagnosisOrder, report: DiagnosisReport,
                        version: ReportVersion, earlier: ReportVersion | None, signer: str) -> None:
    """A newly critical version flags; a final one repeating the preliminary's flag does not again."""
    if version.critical and not (earlier is not None and earlier.critical):
        await flag(session, order, report, version.signed_at, signer)


def may_acknowledge(principal: Principal, order: DiagnosisOrder) -> bool:
    return any(principal.has_role(r, order.requesting_facility_id) for r in ACKNOWLEDGING_ROLES)


async def acknowledge(session: AsyncSession, principal: Principal, order_id: int, note: str = "") -> DiagnosisReport:
    order, parties = await service.load_order(session, principal, order_id)
    if Party.sender not in parties or not may_acknowledge(principal, order):
        raise Forbidden(N_("only a doctor or nurse of the sending facility acknowledges a critical finding"),
                        code="not_sender_clinician")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(N_("the note is too long (at most 500 characters)"), details={"field": "note"})
    report = await session.scalar(select(DiagnosisReport).where(DiagnosisReport.order_id == order.id))
    if state_of(report) != CriticalState.unacknowledged:
        raise Conflict(N_("there is no unacknowledged critical finding on this report"), code="nothing_to_acknowledge")
    report.critical_ack_at, report.critical_ack_by_id, report.critical_ack_note = utcnow(), principal.user_id, note
    await session.flush()
    await service.record_event(session, principal.user_id, order, Party.sender, "critical_ack", note)
    await service.audit_order(session, principal.actor(order.requesting_facility_id), order, "critical_ack",
                              detail={"flagged_at": report.critical_flagged_at.isoformat()})
    signers = (await session.scalars(select(ReportVersion.signed_by_id).where(
        ReportVersion.report_id == report.id))).all()
    await notices.critical_acknowledged(session, order, signers, principal.display_name)
    return report
