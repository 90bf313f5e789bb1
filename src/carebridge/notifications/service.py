"""In-app notifications and their outbox. Both are written in the caller's transaction, so a
rolled-back action notifies nobody; the dispatcher (tasks.py) sends the outbox after commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.kit import i18n
from carebridge.kit.clock import utcnow
from carebridge.notifications import push
from carebridge.notifications.models import Notification, NotificationDelivery


async def notify(session: AsyncSession, user_ids: Iterable[int], *, kind: str, title: str,
                 body: str = "", link: str = "", channels: Sequence[str] | None = None) -> None:
    """One in-app row per user plus one outbox row per user per channel (default: the configured ones)."""
    names = get_settings().notify_channel_names if channels is None else list(channels)
    rows = [Notification(user_id=user_id, kind=kind, title=title, body=body, link=link)
            for user_id in sorted(set(user_ids))]
    session.add_all(rows)
    await session.flush()
    now = utcnow()
    session.add_all(NotificationDelivery(notification_id=row.id, user_id=row.user_id, channel=name,
                                         next_attempt_at=now) for row in rows for name in names)
    await session.flush()
    await push.announce_new(session, rows)


async def unread_count(session: AsyncSession, principal: Principal) -> int:
    return await session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == principal.user_id, Notification.read_at.is_(None))) or 0


async def mark_all_read(session: AsyncSession, principal: Principal) -> None:
    await session.execute(update(Notification).where(
        Notification.user_id == principal.user_id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    await push.announce_unread(session, principal.user_id)


async def notify_in_their_language(session: AsyncSession, user_ids: Iterable[int | None], *, kind: str, title: str,
                                   body: str = "", params: dict | Callable[[str], dict] | None = None,
                                   link: str = "") -> None:
    """`title` and `body` are msgids with %(name)s placeholders, written in each active recipient's own
    language; `params` may depend on that language (a service name, a date format)."""
    wanted = sorted({u for u in user_ids if u})
    if not wanted:
        return
    from carebridge.auth.models import User  # auth imports notifications; import at use

    rows = (await session.execute(select(User.id, User.locale).where(User.id.in_(wanted), User.is_active))).all()
    by_locale: dict[str, list[int]] = defaultdict(list)
    for user_id, locale in rows:
        by_locale[i18n.negotiate(None, locale, None)].append(user_id)
    for locale, ids in sorted(by_locale.items()):
        token = i18n.enter_locale(locale)
        try:
            values = (params(locale) if callable(params) else params) or {}
            text_title = i18n.gettext(title) % values
            text_body = i18n.gettext(body) % values if body else ""
        finally:
            i18n.exit_locale(token)
        await notify(session, ids, kind=kind, title=text_title, body=text_body, link=link)
