"""Two-way referral through the API and pages: grants follow the patient, arrival registers them,
only the two facilities' staff see a referral."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from carebridge.access.models import AccessGrant
from carebridge.audit.models import AuditEvent
from carebridge.kit.clock import utcnow
from carebridge.notifications.models import Notification
from carebridge.records.models import PatientRegistration
from tests.access.conftest import sign_in
from tests.referrals.conftest import up_body


async def _refer(client, world, net, **kw) -> dict:  # noqa: ANN001
    response = await client.post("/api/v1/referrals", json=up_body(net, **kw), headers=await world.token(net.sender))
    assert response.status_code == 201, response.text
    return response.json()


async def _act(client, world, user, referral_id, action, reason="") -> object:  # noqa: ANN001
    return await client.post(f"/api/v1/referrals/{referral_id}/actions/{action}",
                              json={"reason": reason} if reason else None, headers=await world.token(user))


async def test_refer_up_grants_the_receiver_who_can_then_read_the_record(client, world, net):
    record = f"/api/v1/patients/{net.patient.id}"
    before = await client.get(record, headers=await world.token(net.receiver))
    assert before.status_code == 404

    body = await _refer(client, world, net)
    assert (body["direction"], body["reason"], body["state"]) == ("up", "specialist_needed", "requested")
    grant = await world.db.get(AccessGrant, body["grant_id"])
    assert (grant.grantee_facility_id, grant.purpose, grant.scope_all, grant.source_type, grant.source_id) == (
        net.county.id, "referral", True, "referral", body["id"])
    assert (await client.get(record, headers=await world.token(net.receiver))).status_code == 200
    notes = (await world.db.scalars(select(Notification.user_id).where(Notification.kind == "referral"))).all()
    assert net.receiver.id in notes and net.receiver_admin.id in notes
    audit = (await world.db.scalars(select(AuditEvent.action).where(AuditEvent.resource_type == "Referral"))).all()
    assert "referral_refer" in audit


async def test_up_reason_must_be_coded(client, world, net):
    response = await client.post("/api/v1/referrals", json=up_body(net, reason="rehabilitation"),
                                 headers=await world.token(net.sender))
    assert response.status_code == 422
    assert response.json()["details"]["field"] == "reason"
    assert (await world.db.scalar(select(AccessGrant.id))) is None


async def test_down_referral_carries_a_plan_for_the_local_doctor(client, world, net):
    county_patient = await world.patient(net.county, name="赵六")
    await _consent(world, county_patient)
    headers = await world.token(net.receiver)
    body = {"patient_id": county_patient.id, "to_facility_id": net.township.id, "reason": "rehabilitation"}
    missing = await client.post("/api/v1/referrals", json=body, headers=headers)
    assert missing.status_code == 422 and missing.json()["details"]["field"] == "plan"
    response = await client.post("/api/v1/referrals", headers=headers, json={
        **body, "plan": "每日步行训练，监测血压", "follow_up_days": 14})
    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["direction"], made["plan"], made["follow_up_days"]) == ("down", "每日步行训练，监测血压", 14)
    page = await client.get(f"/referrals/{made['id']}", headers=await world.token(net.sender))
    assert page.status_code == 200 and "每日步行训练" in page.text and "14" in page.text


async def _consent(world, patient) -> None:  # noqa: ANN001
    from tests.access.conftest import consent

    await consent(world, patient)


async def test_full_journey_registers_the_patient_and_ends_the_grant(client, world, net):
    made = await _refer(client, world, net)
    for action in ("accept", "arrive"):
        response = await _act(client, world, net.receiver, made["id"], action)
        assert response.status_code == 200, response.text
    registration = await world.db.scalar(select(PatientRegistration).where(
        PatientRegistration.patient_id == net.patient.id, PatientRegistration.facility_id == net.county.id))
    assert registration is not None and registration.mrn
    done = await _act(client, world, net.receiver_admin, made["id"], "complete")
    assert done.json()["state"] == "completed" and done.json()["allowed_actions"] == []
    grant = await world.db.get(AccessGrant, made["grant_id"])
    await world.db.refresh(grant)
    assert abs(grant.expires_at - (utcnow() + dt.timedelta(days=30))) < dt.timedelta(minutes=5)
    notes = (await world.db.scalars(select(Notification.user_id).where(Notification.kind == "referral"))).all()
    assert net.sender.id in notes


async def test_invalid_transition_is_409_and_wrong_side_403(client, world, net):
    made = await _refer(client, world, net)
    early = await _act(client, world, net.receiver, made["id"], "complete")
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    assert (await _act(client, world, net.sender, made["id"], "accept")).status_code == 403
    assert (await _act(client, world, net.sender_admin, made["id"], "cancel", "家属要求")).status_code == 403
    no_reason = await _act(client, world, net.receiver, made["id"], "decline")
    assert no_reason.status_code == 422
    declined = await _act(client, world, net.receiver, made["id"], "decline", "床位已满")
    assert (declined.json()["state"], declined.json()["state_reason"]) == ("declined", "床位已满")
    assert (await _act(client, world, net.sender, made["id"], "cancel", "不需要了")).status_code == 409


async def test_sender_cancels_with_a_reason(client, world, net):
    made = await _refer(client, world, net)
    response = await _act(client, world, net.sender, made["id"], "cancel", "患者拒绝转诊")
    assert response.json()["state"] == "cancelled"


@pytest.mark.parametrize("who, status", [
    ("anonymous", 401), ("patient_user", 404), ("outsider", 404), ("outsider_admin", 404),
    ("sender", 200), ("receiver", 200), ("receiver_admin", 200), ("sender_admin", 200),
])
async def test_route_matrix(client, world, net, who, status):
    made = await _refer(client, world, net)
    headers = {} if who == "anonymous" else await world.token(getattr(net, who))
    for path in (f"/api/v1/referrals/{made['id']}", f"/referrals/{made['id']}"):
        response = await client.get(path, headers=headers, follow_redirects=False)
        if status == 401 and not path.startswith("/api"):  # a browser is sent to sign in
            assert response.status_code in (302, 303) and response.headers["location"].startswith("/login")
        else:
            assert response.status_code == status
    listed = await client.get("/api/v1/referrals", headers=headers)
    if status == 200:
        assert [r["id"] for r in listed.json()["items"]] == [made["id"]]
    elif status == 404:
        assert listed.json()["items"] == []
    else:
        assert listed.status_code == 401
    action = await _act(client, world, getattr(net, who), made["id"], "accept") if who != "anonymous" else None
    if status == 404:
        assert action.status_code == 404


async def test_actions_offered_match_the_caller(client, world, net):
    made = await _refer(client, world, net)
    assert made["allowed_actions"] == ["cancel"]
    seen = await client.get(f"/api/v1/referrals/{made['id']}", headers=await world.token(net.receiver))
    assert seen.json()["allowed_actions"] == ["accept", "decline"]


async def test_lists_are_split_incoming_and_outgoing_with_a_cursor(client, world, net):
    ids = [(await _refer(client, world, net))["id"] for _ in range(3)]
    headers = await world.token(net.receiver)
    first = (await client.get("/api/v1/referrals?box=incoming&limit=2", headers=headers)).json()
    rest = (await client.get(f"/api/v1/referrals?box=incoming&limit=2&cursor={first['next_cursor']}",
                             headers=headers)).json()
    assert [r["id"] for r in first["items"] + rest["items"]] == ids[::-1] and rest["next_cursor"] is None
    assert (await client.get("/api/v1/referrals?box=outgoing", headers=headers)).json()["items"] == []


async def test_pages_refer_and_act_from_the_browser(client, world, net):
    csrf = await sign_in(client, world.db, net.sender)
    form = await client.get(f"/referrals/new?patient_id={net.patient.id}")
    assert form.status_code == 200 and net.county.name_en in form.text
    sent = await client.post("/referrals/new", data={
        "csrf_token": csrf, "patient_id": net.patient.id, "to_facility_id": net.county.id, "reason": "equipment"})
    assert sent.status_code == 303
    location = sent.headers["location"]
    csrf = await sign_in(client, world.db, net.receiver)
    page = await client.get(location)
    assert 'data-testid="action-accept"' in page.text and 'data-testid="action-cancel"' not in page.text
    accepted = await client.post(f"{location}/actions/accept", data={"csrf_token": csrf})
    assert accepted.status_code == 303
    assert "Accepted" in (await client.get(location)).text
    assert net.patient.name in (await client.get("/referrals?box=incoming")).text


async def test_others_cannot_open_the_referral_form_for_a_patient_not_theirs(client, world, net):
    response = await client.get(f"/referrals/new?patient_id={net.patient.id}", headers=await world.token(net.outsider))
    assert response.status_code == 404


async def test_viewing_is_audited_and_arrival_of_a_known_patient_adds_no_second_registration(client, world, net):
    made = await _refer(client, world, net)
    await world.db.flush()
    world.db.add(PatientRegistration(patient_id=net.patient.id, facility_id=net.county.id, mrn="C-77"))
    await world.db.flush()
    await client.get(f"/api/v1/referrals/{made['id']}", headers=await world.token(net.receiver_admin))
    viewed = await world.db.scalar(select(AuditEvent).where(AuditEvent.action == "referral_read"))
    assert (viewed.actor_user_id, viewed.patient_id) == (net.receiver_admin.id, net.patient.id)
    for action in ("accept", "arrive"):
        assert (await _act(client, world, net.receiver, made["id"], action)).status_code == 200
    mrns = (await world.db.scalars(select(PatientRegistration.mrn).where(
        PatientRegistration.patient_id == net.patient.id, PatientRegistration.facility_id == net.county.id))).all()
    assert mrns == ["C-77"]


async def test_a_refused_form_is_shown_again_with_the_message_and_nothing_saved(client, world, net):
    from carebridge.referrals.models import Referral

    csrf = await sign_in(client, world.db, net.sender)
    response = await client.post("/referrals/new", data={
        "csrf_token": csrf, "patient_id": net.patient.id, "to_facility_id": net.county.id,
        "reason": "follow_up", "summary": "血压控制不佳"})
    assert response.status_code == 422
    assert "this reason does not fit" in response.text and "血压控制不佳" in response.text
    assert await world.db.scalar(select(Referral.id)) is None
    assert await world.db.scalar(select(AccessGrant.id)) is None
