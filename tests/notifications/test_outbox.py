"""The outbox as an operator and a recipient notice it: what is queued, what arrives where, and
what happens while a channel is down."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from email.header import decode_header, make_header
from types import SimpleNamespace

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from carebridge.config import get_settings
from carebridge.kit.clock import utcnow
from carebridge.notifications.channels import ConsoleChannel, EmailChannel, SmsChannel, build_channels
from carebridge.notifications.models import Notification, NotificationDelivery
from carebridge.notifications.service import notify
from carebridge.notifications.tasks import deliver_due, retry_delay, run_dispatcher
from tests.factories import PASSWORD
from tests.notifications.conftest import SmsGateway


def email_settings(port: int):
    return get_settings().model_copy(update={
        "notify_smtp_host": "127.0.0.1", "notify_smtp_port": port, "notify_smtp_from": "carebridge@example.test",
        "notify_smtp_starttls": False, "notify_smtp_timeout": 5.0})


def sms_settings(port: int):
    return get_settings().model_copy(update={
        "notify_sms_url": f"http://127.0.0.1:{port}/send", "notify_sms_auth_header": "X-Api-Key",
        "notify_sms_auth_value": SecretStr("gateway-key-from-env"), "notify_sms_timeout": 5.0})


async def deliveries(db, user_id: int) -> list[NotificationDelivery]:
    # The dispatcher wrote through other sessions: read the rows afresh, not from db's identity map.
    return list((await db.scalars(select(NotificationDelivery).where(NotificationDelivery.user_id == user_id)
                                  .order_by(NotificationDelivery.id)
                                  .execution_options(populate_existing=True))).all())


async def committed_notice(sessionmaker, user_id: int, channels: list[str], title: str = "New consultation") -> None:
    async with sessionmaker() as session:
        await notify(session, [user_id], kind="test", title=title, body="A case awaits you.",
                     link="/consultations/1", channels=channels)
        await session.commit()


async def test_rolled_back_action_notifies_nobody(sessionmaker, db, doctor):
    async with sessionmaker() as session:
        await notify(session, [doctor.id], kind="test", title="never", channels=["console", "email"])
        await session.rollback()
    assert await deliveries(db, doctor.id) == []
    assert await db.scalar(select(func.count()).select_from(Notification)
                           .where(Notification.user_id == doctor.id)) == 0


async def test_notify_queues_one_delivery_per_user_per_channel(sessionmaker, db, world, doctor):
    other = await world.user()
    async with sessionmaker() as session:
        await notify(session, [doctor.id, other.id, doctor.id], kind="test", title="hello",
                     channels=["console", "sms"])
        await session.commit()
    mine = await deliveries(db, doctor.id)
    assert sorted(d.channel for d in mine) == ["console", "sms"]
    assert {d.status for d in mine} == {"pending"} and len(await deliveries(db, other.id)) == 2


async def test_console_delivery_is_logged_and_marked_sent(sessionmaker, db, doctor, caplog):
    caplog.set_level(logging.INFO, logger="carebridge.notifications.console")
    await committed_notice(sessionmaker, doctor.id, ["console"])
    assert await deliver_due(sessionmaker, {"console": ConsoleChannel()}) == 1
    [row] = await deliveries(db, doctor.id)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    assert "New consultation" in caplog.text and doctor.username in caplog.text
    assert await deliver_due(sessionmaker, {"console": ConsoleChannel()}) == 0


async def test_email_arrives_at_a_real_smtp_server(sessionmaker, db, doctor, smtp_sink):
    await committed_notice(sessionmaker, doctor.id, ["email"], title="会诊请求")
    assert await deliver_due(sessionmaker, {"email": EmailChannel(email_settings(smtp_sink.port))}) == 1
    [mail] = smtp_sink.received
    assert mail["rcpt"] == [doctor.email]
    assert str(make_header(decode_header(mail["message"]["Subject"]))) == "会诊请求"
    assert "A case awaits you." in mail["message"].get_payload(decode=True).decode()
    assert (await deliveries(db, doctor.id))[0].status == "sent"


async def test_sms_gateway_gets_the_post_with_its_key(sessionmaker, db, doctor, sms_gateway):
    await committed_notice(sessionmaker, doctor.id, ["sms"])
    assert await deliver_due(sessionmaker, {"sms": SmsChannel(sms_settings(sms_gateway.port))}) == 1
    [request] = sms_gateway.received
    assert request["request_line"].startswith("POST /send ")
    assert request["headers"]["x-api-key"] == "gateway-key-from-env"
    assert request["json"]["to"] == doctor.phone and "New consultation" in request["json"]["text"]
    assert (await deliveries(db, doctor.id))[0].status == "sent"


async def test_channel_down_retries_later_and_delivers_exactly_once(sessionmaker, db, doctor):
    gateway = await SmsGateway().start()
    await gateway.stop()  # the port is known but nobody listens: connection refused
    channels = {"sms": SmsChannel(sms_settings(gateway.port))}
    await committed_notice(sessionmaker, doctor.id, ["sms"])
    start = utcnow()
    assert await deliver_due(sessionmaker, channels, now=start) == 0
    [row] = await deliveries(db, doctor.id)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert row.next_attempt_at >= start + retry_delay(1)

    assert await deliver_due(sessionmaker, channels, now=start + dt.timedelta(seconds=5)) == 0  # not due yet
    await gateway.start()
    try:
        later = row.next_attempt_at + dt.timedelta(seconds=1)
        assert await deliver_due(sessionmaker, channels, now=later) == 1
        assert await deliver_due(sessionmaker, channels, now=later + dt.timedelta(hours=2)) == 0
    finally:
        await gateway.stop()
    assert len(gateway.received) == 1
    [row] = await deliveries(db, doctor.id)
    assert row.status == "sent" and row.attempts == 2 and row.last_error == ""


async def test_retries_back_off_then_give_up(sessionmaker, db, doctor):
    gateway = await SmsGateway().start()
    await gateway.stop()
    channels = {"sms": SmsChannel(sms_settings(gateway.port))}
    await committed_notice(sessionmaker, doctor.id, ["sms"])
    now = utcnow()
    for attempt in range(1, 4):
        await deliver_due(sessionmaker, channels, now=now, max_attempts=3)
        [row] = await deliveries(db, doctor.id)
        if attempt < 3:
            assert row.status == "pending" and row.next_attempt_at == now + retry_delay(attempt)
            now = row.next_attempt_at
    assert row.status == "dead" and row.attempts == 3
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 20)] == [30, 60, 120, 3600]


async def test_refused_message_fails_without_retry_and_missing_address_is_skipped(sessionmaker, db, world, doctor):
    gateway = await SmsGateway(status=400).start()
    try:
        channels = {"sms": SmsChannel(sms_settings(gateway.port))}
        no_phone = await world.user()
        await committed_notice(sessionmaker, doctor.id, ["sms"])
        await committed_notice(sessionmaker, no_phone.id, ["sms"])
        assert await deliver_due(sessionmaker, channels) == 0
    finally:
        await gateway.stop()
    assert (await deliveries(db, doctor.id))[0].status == "failed"
    [skipped] = await deliveries(db, no_phone.id)
    assert skipped.status == "skipped" and "no sms address" in skipped.last_error and len(gateway.received) == 1


async def test_channels_come_from_settings():
    demo = get_settings().model_copy(update={"demo_mode": True, "notify_channels": ""})
    assert list(build_channels(demo)) == ["console"]
    assert build_channels(get_settings().model_copy(update={"notify_channels": ""})) == {}
    from carebridge.errors import ConfigurationError
    with pytest.raises(ConfigurationError):
        build_channels(get_settings().model_copy(update={"notify_channels": "console,pigeon"}))
    with pytest.raises(ConfigurationError):
        build_channels(get_settings().model_copy(update={"notify_channels": "email"}))


async def test_notifications_page_still_lists_in_app_rows(client, sessionmaker, doctor):
    await committed_notice(sessionmaker, doctor.id, ["console"], title="Case 42 needs you")
    login = await client.post("/login", data={"username": doctor.username, "password": PASSWORD})
    assert login.status_code == 303
    page = await client.get("/notifications")
    assert page.status_code == 200 and "Case 42 needs you" in page.text
    client.cookies.clear()
    anonymous = await client.get("/notifications")
    assert anonymous.status_code in (401, 303) and "Case 42 needs you" not in anonymous.text


async def test_dispatcher_loop_delivers_then_rests_until_cancelled(sessionmaker, db, doctor, caplog):
    caplog.set_level(logging.INFO, logger="carebridge.notifications.console")
    await committed_notice(sessionmaker, doctor.id, ["console"], title="From the loop")
    state = SimpleNamespace(settings=get_settings().model_copy(update={"notify_poll_seconds": 30.0}),
                            sessionmaker=sessionmaker)
    task = asyncio.create_task(run_dispatcher(state, {"console": ConsoleChannel()}))
    for _ in range(100):  # the loop sends, finds nothing more and rests for poll_seconds
        await asyncio.sleep(0.05)
        if "From the loop" in caplog.text:
            break
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [row] = await deliveries(db, doctor.id)
    assert row.status == "sent" and caplog.text.count("From the loop") == 1
