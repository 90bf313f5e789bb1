"""The outbox as administrators see it: counts per status and channel, the rows behind them, and
putting a failed, dead or skipped delivery back in the queue. Platform admins see every delivery;
a facility admin sees deliveries to the people who hold a role at a facility they administer (the
same reach as user administration). Outside that reach a delivery is 'not found'. Never commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.notifications.models import DeliveryStatus, Notification, NotificationDelivery

STATUSES = (DeliveryStatus.pending, DeliveryStatus.sent, DeliveryStatus.skipped, DeliveryStatus.failed,
            DeliveryStatus.dead)
# A pending row may be mid-send under a dispatcher's lease: making it due again could send it twice.
RETRYABLE = frozenset({DeliveryStatus.failed, DeliveryStatus.dead, DeliveryStatus.skipped})


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    notification_id: int
    user_id: int
    username: str
    display_name: str
    channel: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    kind: str
    title: str

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE


@dataclass(frozen=True)
class StatusCount:
    status: str
    channel: str
    count: int


def _reach(principal: Principal) -> set[int] | None:
    """None: every delivery (platform admin); else the facilities whose people's deliveries show."""
    if principal.is_platform_admin:
        return None
    managed = principal.facilities_with(Role.facility_admin)
    if not managed:
        raise Forbidden(N_("only administrators can see notification deliveries"))
    return managed


def _within(reach: set[int] | None):  # noqa: ANN202 - a SQLAlchemy clause
    if reach is None:
        return NotificationDelivery.id.is_not(None)
    return NotificationDelivery.user_id.in_(
        select(RoleAssignment.user_id).where(RoleAssignment.facility_id.in_(reach)))


def _rows_query():  # noqa: ANN202
    return (select(NotificationDelivery, User.username, User.display_name, Notification.kind, Notification.title)
            .join(User, User.id == NotificationDelivery.user_id)
            .join(Notification, Notification.id == NotificationDelivery.notification_id))


def _row(delivery: NotificationDelivery, username: str, display_name: str, kind: str, title: str) -> DeliveryRow:
    d = delivery
    return DeliveryRow(d.id, d.notification_id, d.user_id, username, display_name, d.channel, d.status, d.attempts,
                       d.next_attempt_at, d.last_error, d.created_at, d.sent_at, kind, title)


def check_status(status: str | None) -> str | None:
    if status and status not in STATUSES:
        raise InvalidInput(N_("unknown delivery status"), details={"status": status, "allowed": list(STATUSES)})
    return status or None


async def list_deliveries(session: AsyncSession, principal: Principal, *, status: str | None = None,
                          channel: str | None = None, cursor: str | None = None, limit: int = 50) -> Page[DeliveryRow]:
    """Newest first, keyset-paginated on the id."""
    query = _rows_query().where(_within(_reach(principal))).order_by(NotificationDelivery.id.desc())
    if status := check_status(status):
        query = query.where(NotificationDelivery.status == status)
    if channel:
        query = query.where(NotificationDelivery.channel == channel)
    after = decode_cursor(cursor)
    if after:
        if not isinstance(after[0], int):
            raise InvalidInput(N_("cursor is not valid"))
        query = query.where(NotificationDelivery.id < after[0])
    found = (await session.execute(query.limit(check_limit(limit) + 1))).all()
    rows = [_row(*r) for r in found[:limit]]
    return Page(rows, encode_cursor([rows[-1].id]) if len(found) > limit else None)


async def count_deliveries(session: AsyncSession, principal: Principal) -> list[StatusCount]:
    found = await session.execute(
        select(NotificationDelivery.status, NotificationDelivery.channel, func.count())
        .where(_within(_reach(principal)))
        .group_by(NotificationDelivery.status, NotificationDelivery.channel)
        .order_by(NotificationDelivery.channel, NotificationDelivery.status))
    return [StatusCount(status, channel, n) for status, channel, n in found.all()]


async def access_delivery(session: AsyncSession, principal: Principal, delivery_id: int) -> DeliveryRow:
    found = (await session.execute(
        _rows_query().where(NotificationDelivery.id == delivery_id, _within(_reach(principal))))).first()
    if found is None:
        raise NotFound(N_("no such delivery"))
    return _row(*found)


async def retry_delivery(session: AsyncSession, principal: Principal, delivery_id: int) -> DeliveryRow:
    """Back to pending, due now, with a fresh round of attempts; the earlier error stays visible until
    the next attempt replaces it. The audit row keeps what the delivery looked like before."""
    before = await access_delivery(session, principal, delivery_id)
    if not before.retryable:
        raise Conflict(N_("only failed, dead or skipped deliveries can be retried"),
                       details={"status": before.status})
    changed = await session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id, NotificationDelivery.status == before.status)
        .values(status=DeliveryStatus.pending, attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False))
    if changed.rowcount != 1:  # someone else retried it a moment ago
        raise Conflict(N_("the delivery changed meanwhile; reload and try again"))
    await audit.append(session, audit.Entry(
        action="retry", outcome="success", actor=principal.actor(), resource_type="NotificationDelivery",
        resource_id=delivery_id, detail={"channel": before.channel, "recipient_user_id": before.user_id,
                                         "previous_status": before.status, "previous_attempts": before.attempts,
                                         "previous_error": before.last_error}))
    return await access_delivery(session, principal, delivery_id)
