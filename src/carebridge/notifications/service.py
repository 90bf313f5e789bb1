"""In-app notifications. Rows are written in the caller's transaction, so a rolled-back action
notifies nobody."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.kit.clock import utcnow
from carebridge.notifications.models import Notification


async def notify(session: AsyncSession, user_ids: Iterable[int], *, kind: str, title: str,
                 body: str = "", link: str = "") -> None:
    for user_id in set(user_ids):
        session.add(Notification(user_id=user_id, kind=kind, title=title, body=body, link=link))
    await session.flush()


async def list_notifications(session: AsyncSession, principal: Principal, limit: int = 50) -> list[Notification]:
    return list((await session.scalars(
        select(Notification).where(Notification.user_id == principal.user_id)
        .order_by(Notification.id.desc()).limit(limit)
    )).all())


async def unread_count(session: AsyncSession, principal: Principal) -> int:
    return await session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == principal.user_id, Notification.read_at.is_(None))) or 0


async def mark_all_read(session: AsyncSession, principal: Principal) -> None:
    await session.execute(update(Notification).where(
        Notification.user_id == principal.user_id, Notification.read_at.is_(None)).values(read_at=utcnow()))
