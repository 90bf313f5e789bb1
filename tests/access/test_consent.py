"""Consent to sharing across the network: recorded by the patient or their own hospital, never
updated (the newest row is in force), through the service, the API and the pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from carebridge.access import emergency
from carebridge.access import service as access
from carebridge.access.models import Consent
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.access.conftest import audit_rows, consent, grant, sign_in


async def _consents(db, patient_id: int) -> list[Consent]:  # noqa: ANN001
    return list((await db.scalars(select(Consent).where(Consent.patient_id == patient_id)
                                  .order_by(Consent.id).execution_options(populate_existing=True))).all())


async def test_newest_consent_is_in_force_and_older_rows_stay_as_they_were(world, scene):
    patient = await world.principal(scene.patient_user)
    await access.record_consent(world.db, patient, scene.patient.id, status="granted")
    await access.record_consent(world.db, patient, scene.patient.id, status="granted", scope_all=False,
                                scope_kinds=["observation", "condition"])
    await access.record_consent(world.db, patient, scene.patient.id, status="revoked")
    rows = await _consents(world.db, scene.patient.id)
    assert [(r.status, r.scope_all, r.scope_kinds) for r in rows] == [
        ("granted", True, []), ("granted", False, ["condition", "observation"]), ("revoked", True, [])]
    assert (await access.current_consent(world.db, scene.patient.id)).id == rows[-1].id
    history = await access.consent_history(world.db, patient, scene.patient.id)
    assert [r.consent.status for r in history.records] == ["revoked", "granted", "granted"]


async def test_clinician_of_the_patients_hospital_records_consent_for_that_facility(world, scene):
    row = await access.record_consent(world.db, await world.principal(scene.doctor), scene.patient.id,
                                      status="granted", note="signed the paper form")
    assert (row.facility_id, row.recorded_by_id, row.note) == (scene.home.id, scene.doctor.id, "signed the paper form")
    event = (await audit_rows(world.db, action="consent", patient_id=scene.patient.id))[-1]
    assert (event.outcome, event.facility_id) == ("success", scene.home.id)
    assert event.detail["status"] == "granted" and event.detail["basis"] == "registration"


async def test_clinician_with_a_grant_cannot_decide_consent(world, scene):
    await consent(world, scene.patient)
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    with pytest.raises(NotFound):
        await access.record_consent(world.db, await world.principal(scene.outsider), scene.patient.id,
                                    status="refused")


async def test_break_the_glass_does_not_let_a_stranger_decide_consent(world, scene):
    outsider = await world.principal(scene.outsider)
    await emergency.start_break_glass(world.db, outsider, scene.patient.id, "unconscious after a fall", scene.other.id)
    with pytest.raises(Forbidden):
        await access.record_consent(world.db, outsider, scene.patient.id, status="granted")


async def test_nothing_to_revoke_is_a_conflict(world, scene):
    with pytest.raises(Conflict):
        await access.record_consent(world.db, await world.principal(scene.patient_user), scene.patient.id,
                                    status="revoked")
    assert await _consents(world.db, scene.patient.id) == []


@pytest.mark.parametrize("kwargs", [
    {"status": "maybe"},
    {"status": "granted", "scope_all": False},
    {"status": "granted", "scope_all": False, "scope_kinds": ["genome"]},
    {"status": "granted", "note": "x" * 501},
])
async def test_bad_consent_input_writes_nothing(world, scene, kwargs):
    with pytest.raises(InvalidInput):
        await access.record_consent(world.db, await world.principal(scene.patient_user), scene.patient.id, **kwargs)
    assert await _consents(world.db, scene.patient.id) == []


# --- API ---------------------------------------------------------------------------------------------


async def test_patient_grants_consent_over_the_api(client, world, scene):
    headers = await world.token(scene.patient_user)
    url = f"/api/v1/patients/{scene.patient.id}/consents"
    created = await client.post(url, json={"status": "granted", "scope_all": False,
                                           "scope_kinds": ["observation"]}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["scope_kinds"] == ["observation"]
    listed = (await client.get(url, headers=headers)).json()
    assert listed["current"]["status"] == "granted" and len(listed["items"]) == 1
    assert listed["items"][0]["recorded_by"] == scene.patient_user.display_name


@pytest.mark.parametrize("body, field", [
    ({"status": "granted", "colour": "blue"}, "colour"),
    ({"status": "sometimes"}, "status"),
    ({"status": "granted", "scope_kinds": ["genome"]}, "scope_kinds"),
])
async def test_api_rejects_bad_consent_bodies(client, world, scene, body, field):
    response = await client.post(f"/api/v1/patients/{scene.patient.id}/consents", json=body,
                                 headers=await world.token(scene.patient_user))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input" and field in response.json()["message"]
    assert await _consents(world.db, scene.patient.id) == []


@pytest.mark.parametrize("who, status", [
    (None, 401), ("admin", 404), ("platform", 404), ("outsider", 404), ("other_patient_user", 404),
    ("doctor", 200), ("patient_user", 200),
])
async def test_consent_list_route_matrix(client, world, scene, who, status):
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.get(f"/api/v1/patients/{scene.patient.id}/consents", headers=headers)
    assert response.status_code == status


@pytest.mark.parametrize("who, status", [
    (None, 401), ("admin", 404), ("platform", 404), ("outsider", 404), ("other_patient_user", 404),
    ("doctor", 201), ("patient_user", 201),
])
async def test_consent_record_route_matrix(client, world, scene, who, status):
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.post(f"/api/v1/patients/{scene.patient.id}/consents", json={"status": "granted"},
                                 headers=headers)
    assert response.status_code == status
    assert len(await _consents(world.db, scene.patient.id)) == (1 if status == 201 else 0)


async def test_refused_consent_attempt_is_audited_as_denied(client, world, scene):
    response = await client.post(f"/api/v1/patients/{scene.patient.id}/consents", json={"status": "granted"},
                                 headers=await world.token(scene.outsider))
    assert response.status_code == 404
    denied = await audit_rows(world.db, patient_id=scene.patient.id, outcome="denied")
    assert [(e.action, e.actor_user_id, e.resource_type) for e in denied] == [
        ("consent", scene.outsider.id, "Consent")]


# --- pages -------------------------------------------------------------------------------------------


async def test_clinician_records_consent_on_the_patient_page(client, world, scene):
    csrf = await sign_in(client, world.db, scene.doctor)
    page = await client.get(f"/patients/{scene.patient.id}/consent")
    assert page.status_code == 200
    assert 'data-testid="consent-form"' in page.text and "张小明" in page.text
    saved = await client.post(f"/patients/{scene.patient.id}/consent", data={
        "csrf_token": csrf, "status": "granted", "scope": "some", "scope_kinds": ["observation", "allergy"],
        "note": "verbal consent at bedside"})
    assert saved.status_code == 303
    rows = await _consents(world.db, scene.patient.id)
    assert [(r.status, r.scope_kinds, r.facility_id) for r in rows] == [
        ("granted", ["allergy", "observation"], scene.home.id)]
    again = await client.get(saved.headers["location"])
    assert 'data-testid="consent-saved"' in again.text and "verbal consent at bedside" in again.text


async def test_consent_form_with_nothing_chosen_shows_the_problem(client, world, scene):
    csrf = await sign_in(client, world.db, scene.doctor)
    response = await client.post(f"/patients/{scene.patient.id}/consent", data={
        "csrf_token": csrf, "status": "granted", "scope": "some"})
    assert response.status_code == 422
    assert 'data-testid="consent-error"' in response.text
    assert await _consents(world.db, scene.patient.id) == []


async def test_consent_form_without_csrf_is_refused(client, world, scene):
    await sign_in(client, world.db, scene.doctor)
    response = await client.post(f"/patients/{scene.patient.id}/consent", data={"status": "granted"})
    assert response.status_code == 403
    assert await _consents(world.db, scene.patient.id) == []


@pytest.mark.parametrize("who, status", [
    (None, 303), ("admin", 404), ("outsider", 404), ("other_patient_user", 404), ("doctor", 200),
])
async def test_patient_consent_page_matrix(client, world, scene, who, status):
    if who:
        await sign_in(client, world.db, getattr(scene, who))
    response = await client.get(f"/patients/{scene.patient.id}/consent")
    assert response.status_code == status
    if status == 303:
        assert response.headers["location"].startswith("/login")


async def test_grant_holder_sees_consent_but_no_form(client, world, scene):
    await consent(world, scene.patient)
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    await sign_in(client, world.db, scene.outsider)
    page = await client.get(f"/patients/{scene.patient.id}/consent")
    assert page.status_code == 200 and 'data-testid="consent-form"' not in page.text


@pytest.mark.parametrize("who, status", [(None, 303), ("doctor", 403), ("admin", 403), ("patient_user", 200)])
async def test_my_consent_page_matrix(client, world, scene, who, status):
    if who:
        await sign_in(client, world.db, getattr(scene, who))
    assert (await client.get("/me/consent")).status_code == status


async def test_patient_allows_then_withdraws_sharing_on_their_page(client, world, scene):
    csrf = await sign_in(client, world.db, scene.patient_user)
    first = await client.post("/me/consent", data={"csrf_token": csrf, "status": "granted", "scope": "all"})
    assert first.status_code == 303
    page = await client.get("/me/consent")
    assert 'value="revoked"' in page.text
    second = await client.post("/me/consent", data={"csrf_token": csrf, "status": "revoked"})
    assert second.status_code == 303
    assert [r.status for r in await _consents(world.db, scene.patient.id)] == ["granted", "revoked"]
    assert await world.db.scalar(select(func.count()).select_from(Consent)
                                 .where(Consent.recorded_by_id == scene.patient_user.id)) == 2


async def test_patient_sees_and_withdraws_a_grant_from_their_consent_page(client, world, scene):
    await consent(world, scene.patient)
    row = await grant(world, scene.patient, facility=scene.other, by=scene.admin, scope_all=True)
    csrf = await sign_in(client, world.db, scene.patient_user)
    page = await client.get("/me/consent")
    assert scene.other.name in page.text
    response = await client.post(f"/grants/{row.id}/revoke", data={"csrf_token": csrf, "reason": "I changed my mind",
                                                                   "back": "consent"})
    assert response.status_code == 303 and response.headers["location"].startswith("/me/consent")
    await world.db.refresh(row)
    assert row.revoked_by_id == scene.patient_user.id and row.revoke_reason == "I changed my mind"
