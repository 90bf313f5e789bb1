"""Entering the case's video room: only case participants get a token, only while the case is
scheduled or in session; the requester or expert arriving starts the session; every entry is
audited; the token opens exactly this case's signalling room."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.auth.models import Role
from carebridge.consultations.models import ConsultationCase
from carebridge.realtime.tokens import check_room_token
from tests.consultations.room_helpers import case_in_state, include_room


@pytest.fixture
async def api(app, client):  # noqa: ANN001, ANN201
    include_room(app)
    return client


def _url(case) -> str:  # noqa: ANN001
    return f"/api/v1/consultations/{case.id}/room/token"


async def test_requester_entering_a_scheduled_case_starts_the_session(api, world, db, net, settings):
    case = await case_in_state(db, world, net, "scheduled")
    got = await api.post(_url(case), headers=await world.token(net.requester))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["room"] == f"consultation-{case.id}" and body["ws_path"] == f"/ws/rooms/consultation-{case.id}"
    assert body["case_state"] == "in_session" and body["session_started_at"] is not None
    grant = check_room_token(settings.require_secret(), body["token"], room_id=body["room"])
    assert grant.user_id == net.requester.id and grant.display_name == net.requester.display_name
    detail = (await api.get(f"/api/v1/consultations/{case.id}", headers=await world.token(net.requester))).json()
    assert detail["state"] == "in_session" and detail["events"][-1]["action"] == "start_session"
    assert detail["events"][-1]["actor_part"] == "requester"

    again = await api.post(_url(case), headers=await world.token(net.county_doctor))  # the expert, later
    assert again.status_code == 200 and again.json()["case_state"] == "in_session"
    joins = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "consultation_room_join",
                                                       AuditEvent.resource_id == str(case.id)))).all()
    assert [(e.actor_user_id, e.patient_id, e.outcome) for e in joins] == [
        (net.requester.id, net.patient.id, "success"), (net.county_doctor.id, net.patient.id, "success")]


async def test_a_coordinating_administrator_does_not_enter_the_patients_conversation(api, world, db, net):
    """The hub's administrator triages the case but has no clinical role: like the record, the room
    and its chat stay closed to them, and the session does not start."""
    case = await case_in_state(db, world, net, "scheduled")
    got = await api.post(_url(case), headers=await world.token(net.county_admin))
    assert got.status_code == 404
    assert (await db.get(ConsultationCase, case.id)).state == "scheduled"


async def test_authorization_matrix(api, world, db, net):
    case = await case_in_state(db, world, net, "scheduled")
    nurse = await world.user((Role.nurse, net.county.id))  # may read the case, plays no part in it
    assert (await api.post(_url(case))).status_code == 401
    for outsider in (net.outsider, net.city_doctor):
        refused = await api.post(_url(case), headers=await world.token(outsider))
        assert refused.status_code == 404, refused.text
    not_part = await api.post(_url(case), headers=await world.token(nurse))
    assert not_part.status_code == 403 and not_part.json()["code"] == "not_a_participant"
    assert (await api.post("/api/v1/consultations/999999/room/token",
                           headers=await world.token(net.requester))).status_code == 404
    assert (await db.get(ConsultationCase, case.id)).state == "scheduled"  # nobody allowed got in
    denied = (await db.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied",
                                                        AuditEvent.resource_type == "ConsultationCase",
                                                        AuditEvent.resource_id == str(case.id)))).all()
    assert {e.actor_user_id for e in denied} >= {net.outsider.id, net.city_doctor.id, nurse.id}


@pytest.mark.parametrize("state", ["submitted", "accepted"])
async def test_the_room_is_closed_outside_the_session_states(api, world, db, net, state):
    case = await case_in_state(db, world, net, state)
    refused = await api.post(_url(case), headers=await world.token(net.requester))
    assert refused.status_code == 409 and refused.json()["code"] == "room_not_open"


async def test_the_room_page_for_participants_and_its_absence_for_others(api, world, db, net):
    from tests.auth.conftest import login_as

    case = await case_in_state(db, world, net, "scheduled")
    await login_as(api, db, net.county_doctor)
    page = await api.get(f"/consultations/{case.id}/room")
    assert page.status_code == 200
    assert 'data-testid="precall"' in page.text and "Heart rate" in page.text and "/static/room-call.js" in page.text
    assert (await db.get(ConsultationCase, case.id)).state == "scheduled"  # opening the page starts nothing
    case_page = await api.get(f"/consultations/{case.id}")
    assert f'href="/consultations/{case.id}/room"' in case_page.text and 'data-testid="join-video"' in case_page.text
    api.cookies.clear()
    await login_as(api, db, net.outsider)
    assert (await api.get(f"/consultations/{case.id}/room")).status_code == 404


async def test_the_room_page_says_when_it_is_not_open(api, world, db, net):
    from tests.auth.conftest import login_as

    case = await case_in_state(db, world, net, "accepted")
    await login_as(api, db, net.requester)
    page = await api.get(f"/consultations/{case.id}/room")
    assert page.status_code == 200 and 'data-testid="room-closed"' in page.text and "room-call.js" not in page.text
    assert 'data-testid="join-video"' not in (await api.get(f"/consultations/{case.id}")).text
