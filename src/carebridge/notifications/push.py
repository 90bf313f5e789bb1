"""Live in-app notifications: what is pushed to a user's open pages, queued on the session so it
leaves only after commit (a rolled-back action pushes nothing). Each push carries the user's unread
count as of the pushing transaction, so every open tab shows the same badge without asking."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.notifications.models import Notification
from carebridge.realtime.publish import publish_after_commit


def user_topic(user_id: int) -> str:
    return f"notifications:user:{user_id}"


async def unread_counts(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Notification.user_id, func.count()).where(Notification.user_id.in_(user_ids),
                                                         Notification.read_at.is_(None))
        .group_by(Notification.user_id))
    return {user_id: 0 for user_id in user_ids} | dict(rows.all())


def as_message(row: Notification, unread: int) -> dict:
    return {"type": "notification", "id": row.id, "kind": row.kind, "title": row.title, "body": row.body,
            "link": row.link, "created_at": row.created_at.isoformat(), "unread": unread}


async def announce_new(session: AsyncSession, rows: Sequence[Notification]) -> None:
    counts = await unread_counts(session, [row.user_id for row in rows])
    for row in rows:
        publish_after_commit(session, user_topic(row.user_id), as_message(row, counts[row.user_id]))


async def announce_unread(session: AsyncSession, user_id: int) -> None:
    counts = await unread_counts(session, [user_id])
    publish_after_commit(session, user_topic(user_id), {"type": "unread", "unread": counts[user_id]})
