"""The report goes back to the sender at once, and only when the signature is saved: a signature
whose transaction rolls back notifies nobody and pushes nothing; a committed one reaches the
requesting clinician's open page over WS /ws/notifications, with a link to the order."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from carebridge.db import unit_of_work
from carebridge.diagnostics import reports
from carebridge.notifications.models import Notification
from tests.diagnostics.reports.helpers import CT_HEAD_DRAFT, MemoryBlobs, claimed, hub_doctor, ready_order
from tests.notifications.test_live import signed_in


@pytest.fixture
async def live_app(app):  # noqa: ANN001, ANN201
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def sockets():  # noqa: ANN201
    opened = []
    yield opened
    for socket in opened:
        await socket.close()


async def _notifications_for(db, user_id: int) -> int:  # noqa: ANN001
    return await db.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == user_id))


async def test_the_sender_is_told_only_after_the_signature_commits(live_app, sockets, db, sessionmaker, world, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    reader = await claimed(world, db, order, await hub_doctor(world, db, dnet))
    await reports.save_draft(db, reader, order.id, CT_HEAD_DRAFT)
    await db.flush()
    sender_page = await signed_in(live_app, sockets, db, dnet.sender)

    with pytest.raises(RuntimeError):
        async with unit_of_work(sessionmaker) as session:
            await reports.sign(session, reader, order.id, "final", MemoryBlobs())
            raise RuntimeError("the request failed after signing")
    await sender_page.nothing_for(0.5)
    assert await _notifications_for(db, dnet.sender.id) == 0

    async with unit_of_work(sessionmaker) as session:
        await reports.sign(session, reader, order.id, "final", MemoryBlobs())
    pushed = await sender_page.receive_json()
    assert pushed["type"] == "notification" and pushed["link"] == f"/diagnosis/orders/{order.id}"
    assert order.accession_number in pushed["title"] and "User" in pushed["body"]  # the signer, not the findings
    assert CT_HEAD_DRAFT.impression not in pushed["title"] + pushed["body"]
    assert await _notifications_for(db, dnet.sender.id) == 1
