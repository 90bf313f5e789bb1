"""The delivery outbox for administrators: who sees which deliveries, the counts and filters, and
putting a failed or dead delivery back in the queue (audited, CSRF-protected, sent afterwards).
The failures are made the real way: the dispatcher against channels that are down or refuse."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.auth import service as auth
from carebridge.auth.models import Role, User
from carebridge.db import unit_of_work
from carebridge.notifications.channels import ConsoleChannel, PermanentFailure
from carebridge.notifications.models import NotificationDelivery
from carebridge.notifications.service import notify
from carebridge.notifications.tasks import deliver_due

API = "/api/v1/notifications/deliveries"
PAGE = "/admin/notifications/deliveries"


class Down:
    name = "email"

    def address(self, email: str, phone: str, username: str) -> str:
        return username

    async def send(self, address, message) -> None:  # noqa: ANN001
        raise ConnectionRefusedError("SMTP server down")


class Refusing:
    name = "sms"

    def address(self, email: str, phone: str, username: str) -> str:
        return username

    async def send(self, address, message) -> None:  # noqa: ANN001
        raise PermanentFailure("gateway: number not reachable")


@dataclass
class Outbox:
    doctor_a: User
    doctor_b: User
    headers: dict[str, dict[str, str]]
    users: dict[str, User]

    def __getitem__(self, role: str) -> dict[str, str]:
        return self.headers[role]


async def _deliveries(db, user_id: int, channel: str | None = None) -> list[NotificationDelivery]:  # noqa: ANN001
    query = select(NotificationDelivery).where(NotificationDelivery.user_id == user_id)
    if channel:
        query = query.where(NotificationDelivery.channel == channel)
    return list((await db.scalars(query.order_by(NotificationDelivery.id)
                                  .execution_options(populate_existing=True))).all())


@pytest.fixture
async def outbox(world, sessionmaker) -> Outbox:  # noqa: ANN001
    a, b = await world.facility(), await world.facility()
    users = {
        "doctor_a": await world.user((Role.doctor, a.id)),
        "doctor_b": await world.user((Role.doctor, b.id)),
        "admin_a": await world.user((Role.facility_admin, a.id)),
        "admin_b": await world.user((Role.facility_admin, b.id)),
        "platform": await world.user((Role.platform_admin, None)),
    }
    async with unit_of_work(sessionmaker) as session:
        await notify(session, [users["doctor_a"].id, users["doctor_b"].id], kind="consultation",
                     title="New consultation", channels=["email", "sms", "console"])
    # email: down, one attempt allowed -> dead; sms: refused -> failed; console: sent.
    await deliver_due(sessionmaker, {"email": Down(), "sms": Refusing(), "console": ConsoleChannel()},
                      max_attempts=1)
    headers = {role: await world.token(user) for role, user in users.items()}
    headers["anonymous"] = {}
    return Outbox(users["doctor_a"], users["doctor_b"], headers, users)


async def test_the_outbox_shows_what_failed_and_why(client, outbox) -> None:
    body = (await client.get(API, headers=outbox["platform"])).json()
    mine = [d for d in body["items"] if d["user_id"] == outbox.doctor_a.id]
    by_channel = {d["channel"]: d for d in mine}
    assert by_channel["email"]["status"] == "dead" and "SMTP server down" in by_channel["email"]["last_error"]
    assert by_channel["sms"]["status"] == "failed" and "not reachable" in by_channel["sms"]["last_error"]
    assert by_channel["console"]["status"] == "sent" and not by_channel["console"]["retryable"]
    assert by_channel["email"]["title"] == "New consultation" and by_channel["email"]["attempts"] == 1
    counts = {(c["channel"], c["status"]): c["count"] for c in body["counts"]}
    assert counts[("email", "dead")] >= 2 and counts[("sms", "failed")] >= 2 and counts[("console", "sent")] >= 2


async def test_filters_and_keyset_pages(client, outbox) -> None:
    dead = (await client.get(API, params={"status": "dead"}, headers=outbox["platform"])).json()["items"]
    assert dead and {d["status"] for d in dead} == {"dead"} and {d["channel"] for d in dead} == {"email"}
    sms = (await client.get(API, params={"channel": "sms"}, headers=outbox["platform"])).json()["items"]
    assert {d["channel"] for d in sms} == {"sms"}
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(API, params=params, headers=outbox["platform"])).json()
        seen += [d["id"] for d in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) >= 6
    bad = await client.get(API, params={"status": "lost"}, headers=outbox["platform"])
    assert bad.status_code == 422


async def test_facility_admin_sees_only_deliveries_to_their_people(client, outbox) -> None:
    items = (await client.get(API, params={"limit": 200}, headers=outbox["admin_a"])).json()["items"]
    assert {d["user_id"] for d in items} == {outbox.doctor_a.id}
    counts = (await client.get(API, headers=outbox["admin_b"])).json()["counts"]
    assert sum(c["count"] for c in counts) == 3  # doctor_b's three, nothing of facility A


async def _delivery(db, user: User, channel: str) -> NotificationDelivery:  # noqa: ANN001
    [row] = await _deliveries(db, user.id, channel)
    return row


@pytest.mark.parametrize("role", ["anonymous", "doctor_a", "admin_b", "admin_a"])
async def test_retry_matrix(client, db, outbox, role) -> None:
    dead = await _delivery(db, outbox.doctor_a, "email")
    response = await client.post(f"{API}/{dead.id}/retry", headers=outbox[role])
    expected = {"anonymous": 401, "doctor_a": 403, "admin_b": 404, "admin_a": 200}[role]
    assert response.status_code == expected, response.text
    assert (await _delivery(db, outbox.doctor_a, "email")).status == ("pending" if expected == 200 else "dead")


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("doctor_a", 403), ("admin_a", 200),
                                                ("admin_b", 200), ("platform", 200)])
async def test_list_matrix(client, outbox, role, expected) -> None:
    assert (await client.get(API, headers=outbox[role])).status_code == expected


async def test_retry_queues_it_again_audits_and_the_dispatcher_sends_it(client, db, sessionmaker, outbox) -> None:
    dead = await _delivery(db, outbox.doctor_a, "email")
    response = await client.post(f"{API}/{dead.id}/retry", headers=outbox["platform"])
    assert response.status_code == 200
    assert response.json()["status"] == "pending" and response.json()["attempts"] == 0
    [event] = (await db.scalars(select(AuditEvent).where(AuditEvent.resource_type == "NotificationDelivery",
                                                         AuditEvent.resource_id == str(dead.id)))).all()
    assert event.action == "retry" and event.actor_user_id == outbox.users["platform"].id
    assert event.detail["previous_status"] == "dead" and "SMTP server down" in event.detail["previous_error"]

    class Up(Down):
        async def send(self, address, message) -> None:  # noqa: ANN001
            return None

    assert await deliver_due(sessionmaker, {"email": Up()}) == 1
    row = await _delivery(db, outbox.doctor_a, "email")
    assert row.status == "sent" and row.attempts == 1 and row.last_error == ""


async def test_sent_or_already_queued_deliveries_cannot_be_retried(client, db, outbox) -> None:
    sent = await _delivery(db, outbox.doctor_a, "console")
    response = await client.post(f"{API}/{sent.id}/retry", headers=outbox["platform"])
    assert response.status_code == 409 and response.json()["details"]["status"] == "sent"
    failed = await _delivery(db, outbox.doctor_a, "sms")
    assert (await client.post(f"{API}/{failed.id}/retry", headers=outbox["platform"])).status_code == 200
    assert (await client.post(f"{API}/{failed.id}/retry", headers=outbox["platform"])).status_code == 409
    assert (await client.post(f"{API}/999999999/retry", headers=outbox["platform"])).status_code == 404


async def _browser(client, db, user: User) -> str:  # noqa: ANN001
    token, web_session = await auth.start_session(db, user, ip="203.0.113.7", mfa_verified=True)
    client.cookies.set("cb_session", token)
    return web_session.csrf_token


async def test_admin_page_shows_counts_and_retries_with_csrf(client, db, outbox) -> None:
    csrf = await _browser(client, db, outbox.users["admin_a"])
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "SMTP server down" in page.text and outbox.doctor_a.username in page.text
    assert outbox.doctor_b.username not in page.text
    dead = await _delivery(db, outbox.doctor_a, "email")
    assert f"/admin/notifications/deliveries/{dead.id}/retry" in page.text

    forged = await client.post(f"{PAGE}/{dead.id}/retry", data={"status": "dead"})
    assert forged.status_code == 403 and (await _delivery(db, outbox.doctor_a, "email")).status == "dead"
    done = await client.post(f"{PAGE}/{dead.id}/retry", data={"csrf_token": csrf, "status": "dead"})
    assert done.status_code == 303 and done.headers["location"] == f"{PAGE}?status=dead&retried={dead.id}"
    assert (await _delivery(db, outbox.doctor_a, "email")).status == "pending"
    after = await client.get(done.headers["location"])
    assert f"Delivery {dead.id} is queued again." in after.text
    again = await client.post(f"{PAGE}/{dead.id}/retry", data={"csrf_token": csrf})
    assert again.status_code == 409 and "only failed, dead or skipped" in again.text


async def test_admin_page_matrix(client, db, outbox) -> None:
    anonymous = await client.get(PAGE)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
    await _browser(client, db, outbox.doctor_a)
    assert (await client.get(PAGE)).status_code == 403
    foreign = await _delivery(db, outbox.doctor_a, "email")
    csrf = await _browser(client, db, outbox.users["admin_b"])
    refused = await client.post(f"{PAGE}/{foreign.id}/retry", data={"csrf_token": csrf})
    assert refused.status_code == 404 and (await _delivery(db, outbox.doctor_a, "email")).status == "dead"
