"""A user's own notifications for programs: keyset pages, and marking one or all read. Nobody
reads or marks another person's notifications: theirs are 'not found'. Never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.errors import InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.notifications import push
from carebridge.notifications.models import Notification


async def my_notifications(session: AsyncSession, principal: Principal, *, unread_only: bool = False,
                           cursor: str | None = None, limit: int = 50) -> Page[Notification]:
    """Newest first."""
    query = select(Notification).where(Notification.user_id == principal.user_id).order_by(Notification.id.desc())
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    after = decode_cursor(cursor)
    if after:
        if not isinstance(after[0], int):
            raise InvalidInput(N_("cursor is not valid"))
        query = query.where(Notification.id < after[0])
    found = list((await session.scalars(query.limit(check_limit(limit) + 1))).all())
    items = found[:limit]
    return Page(items, encode_cursor([items[-1].id]) if len(found) > limit else None)


async def mark_read(session: AsyncSession, principal: Principal, notification_id: int) -> Notification:
    row = await session.scalar(select(Notification).where(Notification.id == notification_id,
                                                          Notification.user_id == principal.user_id))
    if row is None:
        raise NotFound(N_("no such notification"))
    if row.read_at is None:
        row.read_at = utcnow()
        await session.flush()
        await push.announce_unread(session, principal.user_id)
    return row
