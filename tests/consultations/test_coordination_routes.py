"""The routes for suggestions, assignment, breaches and scheduling, JSON and pages: the matrix
(anonymous, wrong part, other facility, allowed) for each, and what a user sees on the case page."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar

from carebridge.auth.models import Role
from carebridge.consultations.escalation import sweep_escalations
from tests.auth.conftest import login_as
from tests.consultations.test_scheduling import HALF, HOUR, _mdt_live_case
from tests.consultations.timing_world import submitted_case


@pytest.fixture
async def api(client):  # noqa: ANN001, ANN201 - app.py wires these routers (before consultations')
    return client


async def _overdue(world, db, net):  # noqa: ANN001, ANN202
    case = await submitted_case(world, net, db)
    await sweep_escalations(db, case.due_at + dt.timedelta(minutes=1))
    return case


async def test_breaches_api_matrix(api, world, db, net):
    case = await _overdue(world, db, net)
    url = "/api/v1/consultations/breaches"
    assert (await api.get(url)).status_code == 401
    nurse = await world.user((Role.nurse, net.county.id))
    assert (await api.get(url, headers=await world.token(nurse))).status_code == 403
    assert (await api.get(url, headers=await world.token(net.outsider))).json()["items"] == []
    for user in (net.county_admin, net.city_doctor, await world.user((Role.platform_admin, None))):
        body = (await api.get(url, headers=await world.token(user))).json()
        assert [(b["case_id"], b["escalated_to_facility_id"]) for b in body["items"]] == [(case.id, net.city.id)]
    assert body["items"][0]["target_facility_name"] == net.county.name_en


async def test_suggestions_and_assign_api_matrix(api, world, db, net):
    case = await submitted_case(world, net, db)
    url = f"/api/v1/consultations/{case.id}"
    await api.post(f"{url}/actions/triage", json={}, headers=await world.token(net.county_admin))
    assert (await api.get(f"{url}/suggestions")).status_code == 401
    assert (await api.post(f"{url}/assign", json={"user_id": net.county_doctor.id})).status_code == 401
    for user, status in ((net.outsider, 404), (net.city_doctor, 404), (net.requester, 403)):
        h = await world.token(user)
        assert (await api.get(f"{url}/suggestions", headers=h)).status_code == status
        assert (await api.post(f"{url}/assign", json={"user_id": net.county_doctor.id}, headers=h)).status_code \
            == status
    h = await world.token(net.county_admin)
    found = await api.get(f"{url}/suggestions", headers=h)
    assert found.status_code == 200 and found.json()["can_assign"] is True
    assert {s["user_id"] for s in found.json()["items"]} == {net.county_doctor.id, net.county_doctor2.id}
    assert (await api.post(f"{url}/assign", json={"user_id": net.city_doctor.id}, headers=h)).status_code == 422
    done = await api.post(f"{url}/assign", json={"user_id": net.county_doctor2.id}, headers=h)
    assert done.status_code == 200 and done.json()["named_expert_id"] == net.county_doctor2.id
    assert (await api.get(f"{url}/suggestions?seat_id=999999", headers=h)).status_code == 404


async def test_schedule_api_matrix_and_invitation(api, world, db, net):
    case, day = await _mdt_live_case(world, db, net)
    url = f"/api/v1/consultations/{case.id}"
    at = (day + 3 * HOUR).isoformat()
    for path in ("/schedule", "/invitation.ics"):
        assert (await api.get(url + path)).status_code == 401
        assert (await api.get(url + path, headers=await world.token(net.outsider))).status_code == 404
    assert (await api.post(f"{url}/schedule/proposals", json={"starts_at": at})).status_code == 401
    assert (await api.post(f"{url}/schedule/confirm", json={})).status_code == 401
    out = await world.token(net.outsider)
    assert (await api.post(f"{url}/schedule/proposals", json={"starts_at": at}, headers=out)).status_code == 404
    assert (await api.post(f"{url}/schedule/confirm", headers=out)).status_code == 404

    member = await world.token(net.city_doctor)
    seen = (await api.get(f"{url}/schedule", headers=member)).json()
    assert seen["can_propose"] is False and seen["slots"] == []
    assert (await api.post(f"{url}/schedule/proposals", json={"starts_at": at}, headers=member)).status_code == 403
    req = await world.token(net.requester)
    mine = (await api.get(f"{url}/schedule", headers=req)).json()
    assert mine["my_side"] == "requester" and len(mine["slots"]) == 4
    naive = (day + 3 * HOUR).replace(tzinfo=None).isoformat()
    assert (await api.post(f"{url}/schedule/proposals", json={"starts_at": naive}, headers=req)).status_code == 422
    busy = (day + 6 * HOUR).isoformat()
    assert (await api.post(f"{url}/schedule/proposals", json={"starts_at": busy}, headers=req)).status_code == 422
    proposed = await api.post(f"{url}/schedule/proposals", json={"starts_at": at}, headers=req)
    assert proposed.status_code == 200 and proposed.json()["proposed_side"] == "requester"
    assert (await api.post(f"{url}/schedule/confirm", headers=req)).status_code == 403
    assert (await api.get(f"{url}/invitation.ics", headers=req)).status_code == 404  # nothing booked yet
    confirmed = await api.post(f"{url}/schedule/confirm", headers=await world.token(net.county_doctor))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "scheduled" and confirmed.json()["reason_required"] is True
    ics = await api.get(f"{url}/invitation.ics", headers=member)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    event = Calendar.from_ical(ics.content).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == day + 3 * HOUR and event.decoded("DTEND") == day + 3 * HOUR + HALF


async def test_the_case_page_shows_overdue_and_the_breaches_page_lists_it(api, world, db, net):
    case = await _overdue(world, db, net)
    await login_as(api, db, net.requester)
    page = await api.get(f"/consultations/{case.id}")
    assert 'data-testid="consultation-overdue"' in page.text and "Escalated to" in page.text
    assert 'data-testid="consultation-suggestions"' not in page.text  # not for the requester
    api.cookies.clear()
    assert (await api.get("/consultations/breaches")).status_code in (302, 303, 401)
    nurse = await world.user((Role.nurse, net.county.id))
    await login_as(api, db, nurse)
    assert (await api.get("/consultations/breaches")).status_code == 403
    api.cookies.clear()
    await login_as(api, db, net.outsider)
    assert 'data-testid="breach-list-empty"' in (await api.get("/consultations/breaches")).text
    api.cookies.clear()
    await login_as(api, db, net.city_doctor)
    listed = await api.get("/consultations/breaches")
    assert listed.status_code == 200 and f"/consultations/{case.id}" in listed.text and net.city.name_en in listed.text


async def test_pages_suggest_assign_and_book_a_session(api, world, db, net):
    case, day = await _mdt_live_case(world, db, net)
    url = f"/consultations/{case.id}"
    assert (await api.get(f"{url}/suggestions")).status_code in (302, 303, 401)
    await login_as(api, db, net.requester)
    assert (await api.get(f"{url}/suggestions")).status_code == 403
    page = await api.get(url)
    assert 'data-testid="slot-picker"' in page.text and 'data-testid="action-schedule"' not in page.text
    api.cookies.clear()
    await login_as(api, db, net.outsider)
    assert (await api.get(f"{url}/suggestions")).status_code == 404
    assert (await api.get(f"{url}/invitation.ics")).status_code == 404
    assert (await api.post(f"{url}/schedule/confirm", data={})).status_code == 403  # no CSRF token

    api.cookies.clear()
    csrf = await login_as(api, db, net.county_doctor)
    fragment = await api.get(f"{url}/suggestions", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Suggested experts" in fragment.text
    at = (day + 4 * HOUR).isoformat()
    sent = await api.post(f"{url}/schedule/proposals", data={"csrf_token": csrf, "starts_at": at})
    assert sent.status_code == 303, sent.text
    bad = await api.post(f"{url}/schedule/proposals", data={"csrf_token": csrf, "starts_at": "tomorrow"})
    assert bad.status_code == 422
    api.cookies.clear()
    csrf = await login_as(api, db, net.requester)
    page = await api.get(url)
    assert 'data-testid="confirm-slot"' in page.text
    assert (await api.post(f"{url}/schedule/confirm", data={"csrf_token": csrf})).status_code == 303
    page = await api.get(url)
    assert 'data-testid="session-time"' in page.text and "12:00–12:30" in page.text  # 04:00 UTC in Shanghai
    ics = await api.get(f"{url}/invitation.ics")
    assert ics.status_code == 200 and b"BEGIN:VEVENT" in ics.content
