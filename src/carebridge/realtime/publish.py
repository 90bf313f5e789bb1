"""Publishing to a hub topic after commit, from code that holds only a database session.

A service such as notify() sees a session, not the app, and its push must wait for the commit. The
app lifespan installs the process's hub here (`install(lambda: hub_for(app))`); a service queues
`publish_after_commit(session, topic, message)`, and the hub is looked up when the effect runs, so
a rolled-back transaction publishes nothing and code running without an app (a CLI command, a test
of a service alone) publishes nowhere instead of failing. One app per process is the production
shape; if a second app installs itself, the newest wins until it uninstalls."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit.events import after_commit
from carebridge.realtime.hub import Hub

log = logging.getLogger(__name__)

HubSource = Callable[[], Hub]
_installed: list[HubSource] = []


def install(source: HubSource) -> None:
    _installed.append(source)


def uninstall(source: HubSource) -> None:
    if source in _installed:
        _installed.remove(source)


def current_hub() -> Hub | None:
    return _installed[-1]() if _installed else None


def publish_after_commit(session: AsyncSession, topic: str, message: dict[str, Any]) -> None:
    async def publish() -> None:
        hub = current_hub()
        if hub is None:
            log.debug("no realtime hub installed; %s not pushed to %s", message.get("type"), topic)
            return
        await hub.publish_topic(topic, message)

    after_commit(session, publish)
