"""The outbox dispatcher. Due rows are claimed in a short transaction (a lease: attempts + 1 and
next_attempt_at pushed past the send), sent with no transaction open, then settled in a second
short transaction. So a slow SMTP server never holds a database lock, a crash mid-send only
delays the row until the lease ends, and a row settled by one worker is never sent again."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carebridge.auth.models import User
from carebridge.config import get_settings
from carebridge.kit.clock import utcnow
from carebridge.notifications.channels import Channel, Message, PermanentFailure, build_channels
from carebridge.notifications.models import DeliveryStatus, Notification, NotificationDelivery

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 3600
CONCURRENT_SENDS = 10


@dataclass(frozen=True)
class _Job:
    id: int
    attempts: int
    channel: str
    address: str
    message: Message


@dataclass(frozen=True)
class _Outcome:
    job: _Job
    error: str | None = None
    permanent: bool = False


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s after the first failure, doubling each time, never more than an hour."""
    return dt.timedelta(seconds=min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS))


async def deliver_due(sessionmaker: async_sessionmaker[AsyncSession], channels: Mapping[str, Channel],
                      now: dt.datetime | None = None, batch: int = 100, max_attempts: int | None = None) -> int:
    """Sends the deliveries due at `now` on the given channels; returns how many were sent."""
    now = now or utcnow()
    max_attempts = max_attempts or get_settings().notify_max_attempts
    jobs = await _claim(sessionmaker, channels, now, batch)
    if not jobs:
        return 0
    limit = asyncio.Semaphore(CONCURRENT_SENDS)
    outcomes = await asyncio.gather(*(_attempt(channels[job.channel], job, limit) for job in jobs))
    await _settle(sessionmaker, outcomes, now, max_attempts)
    return sum(1 for outcome in outcomes if outcome.error is None)


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], channels: Mapping[str, Channel],
                 now: dt.datetime, batch: int) -> list[_Job]:
    # Rows for a channel this process does not run stay pending for one that does.
    query = (
        select(NotificationDelivery, Notification, User)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .join(User, User.id == NotificationDelivery.user_id)
        .where(NotificationDelivery.status == DeliveryStatus.pending,
               NotificationDelivery.next_attempt_at <= now,
               NotificationDelivery.channel.in_(list(channels)))
        .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=NotificationDelivery)
    )
    jobs = []
    async with sessionmaker() as session:
        for delivery, notification, user in (await session.execute(query)).all():
            address = channels[delivery.channel].address(user.email, user.phone, user.username)
            if not address:
                delivery.status = DeliveryStatus.skipped
                delivery.last_error = f"no {delivery.channel} address for this user"
                continue
            delivery.attempts += 1
            delivery.next_attempt_at = now + LEASE
            jobs.append(_Job(delivery.id, delivery.attempts, delivery.channel, address,
                             Message(notification.title, notification.body, _absolute(notification.link))))
        await session.commit()
    return jobs


def _absolute(link: str) -> str:
    base = get_settings().notify_link_base.rstrip("/")
    return f"{base}{link}" if link.startswith("/") and base else link


async def _attempt(channel: Channel, job: _Job, limit: asyncio.Semaphore) -> _Outcome:
    async with limit:
        try:
            await channel.send(job.address, job.message)
        except PermanentFailure as exc:
            log.warning("%s delivery %s refused: %s", job.channel, job.id, exc)
            return _Outcome(job, _describe(exc), permanent=True)
        except Exception as exc:  # noqa: BLE001 - any failure of the peer means "try again later"
            log.warning("%s delivery %s failed (attempt %s): %s", job.channel, job.id, job.attempts, exc)
            return _Outcome(job, _describe(exc))
    return _Outcome(job)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


async def _settle(sessionmaker: async_sessionmaker[AsyncSession], outcomes: list[_Outcome],
                  now: dt.datetime, max_attempts: int) -> None:
    async with sessionmaker() as session:
        for outcome in outcomes:
            job = outcome.job
            # Only the claim that is still current may settle the row: if our lease ran out and
            # another worker re-claimed it, attempts no longer match and this is a no-op.
            await session.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.id == job.id, NotificationDelivery.attempts == job.attempts,
                       NotificationDelivery.status == DeliveryStatus.pending)
                .values(**_settled_values(outcome, now, max_attempts)))
        await session.commit()


def _settled_values(outcome: _Outcome, now: dt.datetime, max_attempts: int) -> dict[str, Any]:
    if outcome.error is None:
        return {"status": DeliveryStatus.sent, "sent_at": now, "last_error": ""}
    if outcome.permanent:
        return {"status": DeliveryStatus.failed, "last_error": outcome.error}
    if outcome.job.attempts >= max_attempts:
        return {"status": DeliveryStatus.dead, "last_error": outcome.error}
    return {"last_error": outcome.error, "next_attempt_at": now + retry_delay(outcome.job.attempts)}


async def run_dispatcher(app_state: Any, channels: Mapping[str, Channel] | None = None) -> None:
    """Runs until cancelled: works off the outbox, resting `notify_poll_seconds` whenever it is empty."""
    settings = app_state.settings
    channels = build_channels(settings) if channels is None else channels
    if not channels:
        log.info("no notification channels configured; only in-app notifications are delivered")
        return
    while True:
        try:
            sent = await deliver_due(app_state.sessionmaker, channels, max_attempts=settings.notify_max_attempts)
        except Exception:  # a database hiccup must not end the dispatcher for good
            log.exception("notification dispatch failed")
            sent = 0
        if not sent:
            await asyncio.sleep(settings.notify_poll_seconds)
