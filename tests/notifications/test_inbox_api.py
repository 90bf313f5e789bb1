"""A user's own notifications through /api/v1, for programs: newest first in keyset pages, the
unread filter and count, marking one or all read; nobody reaches another person's notifications."""

from __future__ import annotations

import pytest

from carebridge.auth.models import Role
from carebridge.db import unit_of_work
from carebridge.notifications.service import notify

API = "/api/v1/notifications"


@pytest.fixture
async def people(world, sessionmaker):  # noqa: ANN001, ANN201
    facility = await world.facility()
    doctor = await world.user((Role.doctor, facility.id))
    nurse = await world.user((Role.nurse, facility.id))
    async with unit_of_work(sessionmaker) as session:
        for n in range(5):
            await notify(session, [doctor.id], kind="consultation", title=f"case {n}", link=f"/consultations/{n}",
                         channels=[])
        await notify(session, [nurse.id], kind="referral", title="for the nurse", channels=[])
    return {"doctor": await world.token(doctor), "nurse": await world.token(nurse), "anonymous": {}}


async def test_own_notifications_newest_first_in_pages(client, people) -> None:
    first = (await client.get(API, params={"limit": 3}, headers=people["doctor"])).json()
    assert [n["title"] for n in first["items"]] == ["case 4", "case 3", "case 2"] and first["unread"] == 5
    rest = (await client.get(API, params={"limit": 3, "cursor": first["next_cursor"]},
                             headers=people["doctor"])).json()
    assert [n["title"] for n in rest["items"]] == ["case 1", "case 0"] and rest["next_cursor"] is None
    nurse = (await client.get(API, headers=people["nurse"])).json()
    assert [n["title"] for n in nurse["items"]] == ["for the nurse"]


async def test_mark_one_then_all_read(client, people) -> None:
    newest = (await client.get(API, headers=people["doctor"])).json()["items"][0]
    marked = await client.post(f"{API}/{newest['id']}/read", headers=people["doctor"])
    assert marked.status_code == 200 and marked.json()["read_at"] is not None
    unread = (await client.get(API, params={"unread": "true"}, headers=people["doctor"])).json()
    assert newest["id"] not in [n["id"] for n in unread["items"]] and unread["unread"] == 4
    assert (await client.post(f"{API}/read", headers=people["doctor"])).json() == {"unread": 0}
    assert (await client.get(API, params={"unread": "true"}, headers=people["doctor"])).json()["items"] == []


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("nurse", 404), ("doctor", 200)])
async def test_marking_read_matrix(client, people, role, expected) -> None:
    newest = (await client.get(API, headers=people["doctor"])).json()["items"][0]
    assert (await client.post(f"{API}/{newest['id']}/read", headers=people[role])).status_code == expected
    still = (await client.get(API, params={"unread": "true"}, headers=people["doctor"])).json()
    assert (newest["id"] in [n["id"] for n in still["items"]]) == (expected != 200)


@pytest.mark.parametrize(("method", "path"), [("GET", API), ("POST", f"{API}/read")])
async def test_anonymous_is_refused(client, method, path) -> None:
    assert (await client.request(method, path)).status_code == 401


async def test_bad_cursor_is_a_clear_error(client, people) -> None:
    response = await client.get(API, params={"cursor": "not-a-cursor"}, headers=people["doctor"])
    assert response.status_code == 422


async def test_the_notifications_page_pages_like_the_api(client, world, db, sessionmaker) -> None:
    from tests.auth.conftest import login_as

    facility = await world.facility()
    doctor = await world.user((Role.doctor, facility.id))
    async with unit_of_work(sessionmaker) as session:
        for n in range(101):
            await notify(session, [doctor.id], kind="consultation", title=f"case-{n:03d}", channels=[])
    await login_as(client, db, doctor)
    first = await client.get("/notifications")
    assert "case-100" in first.text and "case-001" in first.text and "case-000" not in first.text
    cursor = first.text.split("/notifications?cursor=")[1].split('"')[0]
    rest = await client.get(f"/notifications?cursor={cursor}")
    assert "case-000" in rest.text and "case-001" not in rest.text and "cursor=" not in rest.text
