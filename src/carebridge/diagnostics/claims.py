"""Claiming an order for reading: one reader at a time, and the lock runs out by itself.

A reader at the hub claims an order that is on the worklist; the claim lasts
`diagnosis_claim_minutes` and is renewed by claiming again (the reading page does so while open).
Someone else's live claim is a 409 naming the reader; an expired one is taken over. The first claim
starts the reading clock (`read_started_at`). Writing or signing a report needs a live claim."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import User
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.diagnostics import service
from carebridge.diagnostics.lifecycle import ON_WORKLIST, Party
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.errors import Conflict, Forbidden
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_


def claim_length() -> dt.timedelta:
    return dt.timedelta(minutes=get_settings().diagnosis_claim_minutes)


def holds_claim(principal: Principal, order: DiagnosisOrder, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return order.claimed_by_id == principal.user_id and order.claimed_until is not None and order.claimed_until > now


async def _refuse_taken(session: AsyncSession, order: DiagnosisOrder) -> None:
    holder = await session.get(User, order.claimed_by_id) if order.claimed_by_id else None
    raise Conflict(N_("another reader is reading this order"), code="claimed",
                   details={"reader": holder.display_name if holder else "", "until": order.claimed_until.isoformat()
                            if order.claimed_until else None})


async def claim(session: AsyncSession, principal: Principal, order_id: int) -> DiagnosisOrder:
    order, parties = await service.load_order(session, principal, order_id)
    if Party.reader not in parties:
        raise Forbidden(N_("only a doctor at the reading hub can read this order"))
    if order.state not in ON_WORKLIST:
        raise Conflict(N_("this order is not waiting to be read"), code="not_on_worklist")
    now = utcnow()
    first = order.claimed_by_id != principal.user_id
    done = await session.execute(
        update(DiagnosisOrder).where(DiagnosisOrder.id == order.id, or_(
            DiagnosisOrder.claimed_by_id.is_(None), DiagnosisOrder.claimed_by_id == principal.user_id,
            DiagnosisOrder.claimed_until.is_(None), DiagnosisOrder.claimed_until <= now))
        .values(claimed_by_id=principal.user_id, claimed_until=now + claim_length(),
                read_started_at=order.read_started_at or now).execution_options(synchronize_session=False))
    await session.refresh(order)
    if done.rowcount != 1:
        await _refuse_taken(session, order)
    if first:
        await service.record_event(session, principal.user_id, order, Party.reader, "claim", "")
        await service.audit_order(session, principal.actor(order.hub_facility_id), order, "claim")
    return order


async def release(session: AsyncSession, principal: Principal, order_id: int) -> DiagnosisOrder:
    order, _ = await service.load_order(session, principal, order_id)
    if order.claimed_by_id != principal.user_id:
        raise Conflict(N_("you are not reading this order"), code="not_claimed")
    order.claimed_by_id, order.claimed_until = None, None
    await session.flush()
    await service.record_event(session, principal.user_id, order, Party.reader, "release", "")
    return order


async def require_claim(session: AsyncSession, principal: Principal, order: DiagnosisOrder) -> None:
    """For report writing and signing: the caller must hold a live claim (one reader at a time)."""
    if not holds_claim(principal, order):
        someone_else = order.claimed_by_id not in (None, principal.user_id)
        if someone_else and order.claimed_until and order.claimed_until > utcnow():
            await _refuse_taken(session, order)
        raise Conflict(N_("claim the order before writing its report"), code="claim_first")
