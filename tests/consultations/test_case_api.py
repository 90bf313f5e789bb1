"""The consultations JSON API: the route matrix (anonymous, wrong part, other facility, allowed)."""

from __future__ import annotations

import pytest


async def _request(client, world, net, **kw):  # noqa: ANN001, ANN202
    body = {"patient_id": net.patient.id, "question": "Is this atrial fibrillation?", "urgency": "urgent",
            "mode": "async", "specialty": net.specialty, "shared_entry_ids": [e.id for e in net.entries[:2]], **kw}
    return await client.post("/api/v1/consultations", json=body, headers=await world.token(net.requester))


@pytest.fixture
async def api(consult_app, client):  # noqa: ANN001, ANN201
    return client


async def test_request_submit_and_read_as_the_target_doctor(api, world, net):
    made = await _request(api, world, net)
    assert made.status_code == 201, made.text
    case = made.json()
    assert case["state"] == "draft" and case["actions"] == ["submit", "cancel"]
    h = await world.token(net.requester)
    submitted = await api.post(f"/api/v1/consultations/{case['id']}/actions/submit", json={}, headers=h)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["target_facility_id"] == net.county.id
    seen = await api.get(f"/api/v1/consultations/{case['id']}", headers=await world.token(net.county_doctor))
    assert seen.status_code == 200
    body = seen.json()
    assert sorted(e["id"] for e in body["shared_entries"]) == sorted(e.id for e in net.entries[:2])
    assert [e["action"] for e in body["events"]] == ["request", "submit"]
    assert body["actions"] == ["return_for_information", "triage", "decline"]
    listed = await api.get("/api/v1/consultations", headers=await world.token(net.county_admin))
    assert [c["id"] for c in listed.json()["items"]] == [case["id"]]


async def test_anonymous_is_401(api, world, net):
    assert (await api.get("/api/v1/consultations")).status_code == 401
    assert (await api.post("/api/v1/consultations", json={})).status_code == 401
    assert (await api.post("/api/v1/consultations/1/actions/accept", json={})).status_code == 401


async def test_other_facility_and_wrong_part(api, world, net):
    case = (await _request(api, world, net)).json()
    url = f"/api/v1/consultations/{case['id']}"
    await api.post(f"{url}/actions/submit", json={}, headers=await world.token(net.requester))
    for user in (net.city_doctor, net.outsider):
        h = await world.token(user)
        assert (await api.get(url, headers=h)).status_code == 404
        assert (await api.post(f"{url}/actions/triage", json={}, headers=h)).status_code == 404
    wrong = await api.post(f"{url}/actions/triage", json={}, headers=await world.token(net.requester))
    assert wrong.status_code == 403 and wrong.json()["code"] == "not_your_move"
    early = await api.post(f"{url}/actions/accept", json={}, headers=await world.token(net.county_doctor))
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    no_reason = await api.post(f"{url}/actions/decline", json={}, headers=await world.token(net.county_doctor))
    assert no_reason.status_code == 422


async def test_second_expert_to_accept_gets_409(api, world, net):
    case = (await _request(api, world, net)).json()
    url = f"/api/v1/consultations/{case['id']}/actions"
    await api.post(f"{url}/submit", json={}, headers=await world.token(net.requester))
    await api.post(f"{url}/triage", json={}, headers=await world.token(net.county_admin))
    first = await api.post(f"{url}/accept", json={}, headers=await world.token(net.county_doctor))
    second = await api.post(f"{url}/accept", json={}, headers=await world.token(net.county_doctor2))
    assert first.status_code == 200 and first.json()["assigned_expert_id"] == net.county_doctor.id
    assert second.status_code == 409  # the case has moved on: accepting is no longer possible
    assert (await api.get(f"/api/v1/consultations/{case['id']}",
                          headers=await world.token(net.county_doctor))).json()["state"] == "accepted"


async def test_unknown_fields_and_bad_input_are_422(api, world, net):
    assert (await _request(api, world, net, colour="red")).status_code == 422
    assert (await _request(api, world, net, urgency="whenever")).status_code == 422


async def test_my_list_pages_with_a_cursor_and_hides_others_drafts(api, world, net):
    made = [(await _request(api, world, net)).json()["id"] for _ in range(3)]
    h = await world.token(net.requester)
    first = (await api.get("/api/v1/consultations?limit=2", headers=h)).json()
    rest = (await api.get(f"/api/v1/consultations?limit=2&cursor={first['next_cursor']}", headers=h)).json()
    assert [c["id"] for c in first["items"] + rest["items"]] == made[::-1] and rest["next_cursor"] is None
    drafts_elsewhere = await api.get("/api/v1/consultations", headers=await world.token(net.county_doctor))
    assert drafts_elsewhere.json()["items"] == []
