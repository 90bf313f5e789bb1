"""Side effects queued on a session and released only after the transaction's outcome is known.

`after_commit`: announced only if the data was saved (WebSocket pushes, notifications, jobs).
`always`: work that must happen even when the request's transaction rolls back, run in a fresh
transaction of its own, e.g. writing the audit row of a denied access.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

Effect = Callable[[], Awaitable[None]]
TransactionalEffect = Callable[[AsyncSession], Awaitable[None]]

_AFTER_COMMIT = "carebridge.after_commit"
_ALWAYS = "carebridge.always"


def after_commit(session: AsyncSession, effect: Effect) -> None:
    session.info.setdefault(_AFTER_COMMIT, []).append(effect)


def always(session: AsyncSession, effect: TransactionalEffect) -> None:
    session.info.setdefault(_ALWAYS, []).append(effect)


async def release_after_commit(session: AsyncSession) -> None:
    for effect in session.info.pop(_AFTER_COMMIT, []):
        try:
            await effect()
        except Exception:  # a failed announcement must not undo saved work
            log.exception("after-commit effect failed")


async def release_always(session: AsyncSession, factory: async_sessionmaker[AsyncSession]) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    effects: list[Any] = session.info.pop(_ALWAYS, [])
    if not effects:
        return
    async with factory() as own:
        for effect in effects:
            await effect(own)
        await own.commit()
