"""Orders at risk of missing their turnaround target, and the ones that missed it.

At risk: still unsigned on the worklist, `diagnosis_escalation_share` (default 75 %) of the target
used, and nobody holding a live claim on it (someone reading it is the best that can happen). Such
an order is escalated once: `escalated_at` is set (the worklist puts it on top), the hub's on-call
reader is notified (on duty now, may sign a final report, least loaded; with nobody on duty, every
reading doctor of the hub), and so is the assigned reader; the timeline and the audit trail say so.

Missed: `due_at` passed and no final signature. Written once to `diagnosis_breaches` per (order,
due_at) with the reader it was assigned to at that moment.

Several server processes may sweep at once: an escalation is claimed by a conditional UPDATE
(`escalated_at IS NULL`, no live claim), a breach by the table's unique (order, due_at), so of two
sweeps exactly one does each (tested on two PostgreSQL connections)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.diagnostics import service
from carebridge.diagnostics.assignment import hub_readers
from carebridge.diagnostics.lifecycle import ON_WORKLIST, Party
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.diagnostics.reading_models import ReadingBreach
from carebridge.diagnostics.worklist import share_used
from carebridge.errors import Forbidden, InvalidInput
from carebridge.kit.i18n import N_, get_locale
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.network.models import Facility
from carebridge.notifications.service import notify

log = logging.getLogger(__name__)
BATCH = 200
SYSTEM = audit.Actor(name="system", role="system")
STATES = [s.value for s in ON_WORKLIST]
Order = DiagnosisOrder


def _longest_target() -> dt.timedelta:
    s = get_settings()
    return dt.timedelta(minutes=max(s.diagnosis_stat_minutes, s.diagnosis_urgent_minutes, s.diagnosis_routine_minutes))


def _unclaimed(now: dt.datetime):  # noqa: ANN202 - a SQLAlchemy boolean clause
    return or_(Order.claimed_by_id.is_(None), Order.claimed_until.is_(None), Order.claimed_until <= now)


async def on_call_readers(session: AsyncSession, hub_id: int, now: dt.datetime) -> list[int]:
    """The one reader to call: on duty, signs final, least loaded. Nobody on duty: every reader."""
    readers = [r for r in await hub_readers(session, hub_id, now) if r.reads]
    signing = sorted((r for r in readers if r.on_duty and r.can_sign_final),
                     key=lambda r: (r.load, r.last_assigned_at or dt.datetime.min.replace(tzinfo=dt.UTC), r.user_id))
    if signing:
        return [signing[0].user_id]
    return [r.user_id for r in readers]


async def escalate(session: AsyncSession, order: DiagnosisOrder, now: dt.datetime,
                   on_call: dict[int, list[int]] | None = None) -> bool:
    """Claims the escalation; False when another sweep did it first or a reader claimed the order.
    `on_call` keeps each hub's on-call readers for one sweep (escalating changes nobody's load)."""
    done = await session.execute(
        update(Order).where(Order.id == order.id, Order.escalated_at.is_(None), Order.signed_at.is_(None),
                            Order.state.in_(STATES), _unclaimed(now))
        .values(escalated_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return False
    await session.refresh(order)
    on_call = {} if on_call is None else on_call
    if order.hub_facility_id not in on_call:
        on_call[order.hub_facility_id] = await on_call_readers(session, order.hub_facility_id, now)
    called = on_call[order.hub_facility_id]
    share = share_used(order.study_complete_at, order.due_at, now)
    await service.record_event(session, None, order, Party.system, "escalate", f"{share:.0%}")
    await service.audit_order(session, SYSTEM, order, "escalate",
                              detail={"share_used": round(share, 3), "notified": called})
    left = max(0, int((order.due_at - now).total_seconds() // 60))
    await notify(session, set(called) | ({order.assigned_reader_id} if order.assigned_reader_id else set()),
                 kind="diagnosis", title=f"diagnosis #{order.id}: at risk, {left} min left",
                 body=f"{order.urgency} · {order.modality} {order.body_part}".strip(),
                 link=f"/diagnosis/worklist#order-{order.id}")
    return True


async def escalate_at_risk(session: AsyncSession, now: dt.datetime) -> int:
    share = get_settings().diagnosis_escalation_share
    # Only orders whose due_at is within the longest target's remaining share can be at risk; the
    # exact share is checked per order (interval arithmetic differs between the engines).
    horizon = now + _longest_target() * (1 - share)
    candidates = (await session.scalars(select(Order).where(
        Order.state.in_(STATES), Order.escalated_at.is_(None), Order.signed_at.is_(None), Order.due_at.is_not(None),
        Order.due_at <= horizon, _unclaimed(now)).order_by(Order.due_at, Order.id).limit(BATCH))).all()
    escalated, on_call = 0, {}
    for order in candidates:
        if share_used(order.study_complete_at or order.created_at, order.due_at, now) < share:
            continue
        try:
            async with session.begin_nested():  # one failing order must not hold back the others
                escalated += await escalate(session, order, now, on_call)
        except Exception:
            log.exception("escalating diagnosis order %s failed", order.id)
    return escalated


async def record_breach(session: AsyncSession, order: DiagnosisOrder, now: dt.datetime) -> ReadingBreach | None:
    """None when this miss is already written (another sweep, an earlier pass)."""
    breach = ReadingBreach(order_id=order.id, hub_facility_id=order.hub_facility_id, urgency=order.urgency,
                           due_at=order.due_at, detected_at=now,
                           reader_user_id=order.assigned_reader_id or order.claimed_by_id)
    try:
        async with session.begin_nested():
            session.add(breach)
            await session.flush()
    except IntegrityError:  # unique (order_id, due_at): someone wrote it first
        return None
    await service.record_event(session, None, order, Party.system, "breach", "")
    await service.audit_order(session, SYSTEM, order, "breach", detail={"due_at": order.due_at.isoformat()})
    return breach


async def record_breaches(session: AsyncSession, now: dt.datetime) -> int:
    written = exists().where(ReadingBreach.order_id == Order.id, ReadingBreach.due_at == Order.due_at)
    overdue = (await session.scalars(select(Order).where(
        Order.state.in_(STATES), Order.signed_at.is_(None), Order.due_at.is_not(None), Order.due_at < now, ~written)
        .order_by(Order.due_at, Order.id).limit(BATCH))).all()
    count = 0
    for order in overdue:
        count += await record_breach(session, order, now) is not None
    return count


async def sweep(session: AsyncSession, now: dt.datetime) -> int:
    """One pass in the caller's transaction: escalations, then breaches. Returns how many of both."""
    return await escalate_at_risk(session, now) + await record_breaches(session, now)


# --- the breaches list --------------------------------------------------------------------------


@dataclass(frozen=True)
class BreachView:
    breach: ReadingBreach
    order_state: str
    modality: str
    body_part: str
    sending_site: str
    hub: str
    reader: str
    signed_at: dt.datetime | None


def breach_hubs(principal: Principal, hub_id: int | None = None) -> set[int]:
    hubs = principal.facilities_with(Role.doctor, Role.facility_admin)
    if not hubs or (hub_id is not None and hub_id not in hubs):
        raise Forbidden(N_("only the hub's doctors and administrators see its missed targets"))
    return {hub_id} if hub_id is not None else hubs


async def list_breaches(session: AsyncSession, principal: Principal, hub_id: int | None = None,
                        cursor: str | None = None, limit: int = 50) -> Page[BreachView]:
    """Missed turnaround targets of the caller's hubs, newest first. No patient data: order numbers,
    modality, sending site and reader."""
    hubs = breach_hubs(principal, hub_id)
    check_limit(limit)
    sender, hub = Facility.__table__.alias("sender"), Facility.__table__.alias("hub")
    query = (select(ReadingBreach, Order.state, Order.modality, Order.body_part, Order.signed_at, sender.c.name,
                    sender.c.name_en, hub.c.name, hub.c.name_en, User.display_name)
             .join(Order, Order.id == ReadingBreach.order_id).join(sender, sender.c.id == Order.requesting_facility_id)
             .join(hub, hub.c.id == ReadingBreach.hub_facility_id)
             .outerjoin(User, User.id == ReadingBreach.reader_user_id)
             .where(ReadingBreach.hub_facility_id.in_(hubs)))
    if (after := decode_cursor(cursor)) is not None:
        if len(after) != 1 or not isinstance(after[0], int):
            raise InvalidInput(N_("cursor is not valid"), details={"field": "cursor"})
        query = query.where(ReadingBreach.id < after[0])
    found = (await session.execute(query.order_by(ReadingBreach.id.desc()).limit(limit + 1))).all()
    english = get_locale() == "en"
    views = [BreachView(b, state, modality, part, (s_en or s) if english else s, (h_en or h) if english else h,
                        reader or "", signed)
             for b, state, modality, part, signed, s, s_en, h, h_en, reader in found[:limit]]
    return Page(views, encode_cursor([views[-1].breach.id]) if len(found) > limit else None)
