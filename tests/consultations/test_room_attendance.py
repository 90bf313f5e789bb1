"""Attendance is written by the server as sockets join and leave the case's room (through the real
signalling socket), and shown by the API and on the case page."""

from __future__ import annotations

import asyncio

import pytest

from carebridge.auth.models import Role
from tests.auth.conftest import login_as
from tests.consultations.room_helpers import AsgiSocket, Closed, case_in_state, include_room


@pytest.fixture
async def api(app, client):  # noqa: ANN001, ANN201
    include_room(app)
    return client


async def _enter(api, world, case, user) -> str:  # noqa: ANN001
    got = await api.post(f"/api/v1/consultations/{case.id}/room/token", headers=await world.token(user))
    assert got.status_code == 200, got.text
    return f"{got.json()['ws_path']}?token={got.json()['token']}"


async def _attendance(api, world, case, user) -> dict:  # noqa: ANN001
    got = await api.get(f"/api/v1/consultations/{case.id}/attendance", headers=await world.token(user))
    assert got.status_code == 200, got.text
    return got.json()


async def test_join_and_leave_of_each_socket_are_recorded(api, app, world, db, net):
    case = await case_in_state(db, world, net, "scheduled")
    requester_path = await _enter(api, world, case, net.requester)
    expert_path = await _enter(api, world, case, net.county_doctor)
    async with AsgiSocket(app, requester_path) as requester:
        await requester.next_of("welcome")
        async with AsgiSocket(app, expert_path) as expert:
            welcome = await expert.next_of("welcome")
            assert {m["user_id"] for m in welcome["members"]} == {net.requester.id, net.county_doctor.id}
            during = await _attendance(api, world, case, net.requester)
            assert during["in_room"] == sorted([net.requester.id, net.county_doctor.id])
            assert during["ended_at"] is None and during["started_at"] is not None
        await requester.next_of("leave")  # the server has finished with the expert's socket
        await asyncio.sleep(0.05)
        middle = await _attendance(api, world, case, net.requester)
        assert middle["in_room"] == [net.requester.id]
        await requester.send_json({"type": "leave"})
        with pytest.raises(Closed):
            for _ in range(10):
                await requester.receive_json()
        await asyncio.wait_for(requester.task, 5)
    after = await _attendance(api, world, case, net.county_doctor)
    assert after["in_room"] == [] and after["ended_at"] is not None
    rows = after["rows"]
    assert [r["user_id"] for r in rows] == [net.requester.id, net.county_doctor.id]
    assert all(r["left_at"] is not None and r["seconds"] >= 0 for r in rows)
    assert after["seconds"] >= max(r["seconds"] for r in rows)

    await login_as(api, db, net.requester)
    summary = await api.get(f"/consultations/{case.id}/room/summary")
    assert summary.status_code == 200
    assert 'data-testid="session-duration"' in summary.text and net.county_doctor.display_name in summary.text


async def test_a_socket_without_a_valid_token_records_nothing(api, app, world, db, net):
    case = await case_in_state(db, world, net, "in_session")
    async with AsgiSocket(app, f"/ws/rooms/consultation-{case.id}?token=forged.token") as socket:
        with pytest.raises(Closed) as closed:
            await socket.receive_json()
        assert closed.value.code == 4401
    assert (await _attendance(api, world, case, net.requester))["rows"] == []


async def test_attendance_matrix(api, world, db, net):
    case = await case_in_state(db, world, net, "in_session")
    url = f"/api/v1/consultations/{case.id}/attendance"
    assert (await api.get(url)).status_code == 401
    assert (await api.get(url, headers=await world.token(net.outsider))).status_code == 404
    nurse = await world.user((Role.nurse, net.county.id))
    assert (await api.get(url, headers=await world.token(nurse))).status_code == 403
    assert (await api.get(url, headers=await world.token(net.county_doctor))).status_code == 200
