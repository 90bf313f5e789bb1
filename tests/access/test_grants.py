"""Grants: created by facility admins (or by later features through `grant_access`), revoked
with a reason, listed for the patient and for the facility; all audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from carebridge.access import grants
from carebridge.access.models import AccessGrant
from carebridge.auth.models import Role
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from tests.access.conftest import audit_rows, consent, entries, grant, sign_in

LATER = utcnow() + dt.timedelta(days=7)


async def _grant_count(db) -> int:  # noqa: ANN001
    return await db.scalar(select(func.count()).select_from(AccessGrant))


def _body(**kw) -> dict:
    return {"grantee_facility_id": kw.pop("facility_id", None), "purpose": "consultation", "scope_all": True,
            "expires_at": (utcnow() + dt.timedelta(days=3)).isoformat(), **kw}


async def test_grant_access_is_the_plain_service_later_features_call(world, scene):
    row = await grants.grant_access(
        world.db, patient_id=scene.patient.id, grantee_user_id=scene.outsider.id, purpose="referral",
        scope_kinds=["observation", "condition"], expires_at=LATER, source_type="referral", source_id=77,
        granted_by=await world.principal(scene.doctor), facility_id=scene.home.id)
    assert (row.source_type, row.source_id, row.granted_by_id) == ("referral", 77, scene.doctor.id)
    assert row.scope_all is False
    event = (await audit_rows(world.db, action="grant"))[-1]
    assert (event.patient_id, event.resource_id, event.actor_user_id, event.facility_id) == (
        scene.patient.id, str(row.id), scene.doctor.id, scene.home.id)
    assert event.detail["grantee_user_id"] == scene.outsider.id
    assert event.detail["scope_kinds"] == ["condition", "observation"]


@pytest.mark.parametrize("change, field", [
    ({"expires_at": utcnow() - dt.timedelta(minutes=1)}, "expires_at"),
    ({"expires_at": dt.datetime(2099, 1, 1)}, "expires_at"),
    ({"purpose": "curiosity"}, "purpose"),
    ({"grantee_facility_id": 1}, "grantee"),
    ({"grantee_user_id": None}, "grantee"),
    ({"scope_all": False}, "scope"),
    ({"scope_kinds": ["genome"]}, "scope_kinds"),
])
async def test_grant_access_checks_the_grant_itself(world, scene, change, field):
    kwargs = {"patient_id": scene.patient.id, "grantee_user_id": scene.outsider.id, "purpose": "consultation",
              "scope_all": True, "expires_at": LATER, "granted_by": scene.admin.id, **change}
    with pytest.raises(InvalidInput) as problem:
        await grants.grant_access(world.db, **kwargs)
    assert problem.value.details["field"] == field
    assert await _grant_count(world.db) == 0


async def test_grantee_must_be_clinical_staff_or_a_facility(world, scene):
    with pytest.raises(InvalidInput):
        await grant(world, scene.patient, user=scene.other_admin, by=scene.admin, scope_all=True)
    with pytest.raises(InvalidInput):
        await grant(world, scene.patient, user=scene.other_patient_user, by=scene.admin, scope_all=True)


async def test_entries_must_belong_to_the_patient(world, scene):
    other_entry, _ = await entries(world.db, scene.other_patient, scene.other)
    with pytest.raises(InvalidInput):
        await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_entry_ids=[other_entry.id])


async def test_only_admins_of_the_patients_facility_create_grants_by_hand(world, scene):
    kwargs = {"grantee_user_id": scene.outsider.id, "purpose": "treatment", "scope_all": True, "expires_at": LATER}
    with pytest.raises(Forbidden):
        await grants.create_grant(world.db, await world.principal(scene.doctor), scene.patient.id, **kwargs)
    with pytest.raises(NotFound):
        await grants.create_grant(world.db, await world.principal(scene.other_admin), scene.patient.id, **kwargs)
    row = await grants.create_grant(world.db, await world.principal(scene.admin), scene.patient.id, **kwargs)
    assert (row.source_type, row.granted_by_id) == ("manual", scene.admin.id)


async def test_revoke_needs_a_reason_and_happens_once(world, scene):
    row = await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    admin = await world.principal(scene.admin)
    with pytest.raises(InvalidInput):
        await grants.revoke_grant(world.db, admin, row.id, "  ")
    await grants.revoke_grant(world.db, admin, row.id, "consultation closed")
    with pytest.raises(Conflict):
        await grants.revoke_grant(world.db, admin, row.id, "again")
    event = (await audit_rows(world.db, action="revoke"))[-1]
    assert (event.resource_id, event.detail) == (str(row.id), {"reason": "consultation closed"})


async def test_strangers_cannot_revoke(world, scene):
    row = await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    for user in (scene.outsider, scene.other_admin, scene.other_patient_user):
        with pytest.raises(NotFound):
            await grants.revoke_grant(world.db, await world.principal(user), row.id, "not mine to revoke")


async def test_facility_list_shows_status_and_pages(world, scene):
    rows = [await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True) for _ in range(3)]
    await grants.revoke_grant(world.db, await world.principal(scene.admin), rows[0].id, "done")
    await grant(world, scene.other_patient, user=scene.doctor, by=scene.other_admin, scope_all=True)
    admin = await world.principal(scene.admin)
    first = await grants.list_facility_grants(world.db, admin, scene.home.id, limit=2)
    second = await grants.list_facility_grants(world.db, admin, scene.home.id, limit=2, cursor=first.next_cursor)
    assert [v.grant.id for v in first.items + second.items] == [r.id for r in reversed(rows)]
    assert second.next_cursor is None
    assert [v.status for v in second.items] == ["revoked"]
    assert first.items[0].mrn.startswith("MRN") and first.items[0].patient_name == "张小明"
    active = await grants.list_facility_grants(world.db, admin, scene.home.id, active_only=True)
    assert len(active.items) == 2


# --- API ---------------------------------------------------------------------------------------------


async def test_admin_grants_and_revokes_over_the_api(client, world, scene):
    await consent(world, scene.patient)
    headers = await world.token(scene.admin)
    created = await client.post(f"/api/v1/patients/{scene.patient.id}/grants",
                                json=_body(facility_id=scene.other.id), headers=headers)
    assert created.status_code == 201, created.text
    grant_id = created.json()["id"]
    outsider = await world.token(scene.outsider)
    assert (await client.get(f"/api/v1/patients/{scene.patient.id}/consents", headers=outsider)).status_code == 200
    revoked = await client.post(f"/api/v1/grants/{grant_id}/revoke", json={"reason": "patient asked"},
                                headers=headers)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert (await client.get(f"/api/v1/patients/{scene.patient.id}/consents", headers=outsider)).status_code == 404


async def test_expiry_in_the_past_is_422(client, world, scene):
    body = _body(facility_id=scene.other.id, expires_at=(utcnow() - dt.timedelta(hours=1)).isoformat())
    response = await client.post(f"/api/v1/patients/{scene.patient.id}/grants", json=body,
                                 headers=await world.token(scene.admin))
    assert response.status_code == 422
    assert response.json()["details"]["field"] == "expires_at"
    assert await _grant_count(world.db) == 0


async def test_unknown_field_in_grant_is_422(client, world, scene):
    response = await client.post(f"/api/v1/patients/{scene.patient.id}/grants",
                                 json=_body(facility_id=scene.other.id, forever=True),
                                 headers=await world.token(scene.admin))
    assert response.status_code == 422 and "forever" in response.json()["message"]


@pytest.mark.parametrize("who, status", [
    (None, 401), ("doctor", 403), ("patient_user", 403), ("other_admin", 404), ("admin", 201),
])
async def test_create_grant_route_matrix(client, world, scene, who, status):
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.post(f"/api/v1/patients/{scene.patient.id}/grants", json=_body(facility_id=scene.other.id),
                                 headers=headers)
    assert response.status_code == status
    assert await _grant_count(world.db) == (1 if status == 201 else 0)


@pytest.mark.parametrize("who, status", [
    (None, 401), ("doctor", 403), ("other_patient_user", 403), ("other_admin", 404), ("admin", 200),
    ("patient_user", 200),
])
async def test_patient_grants_list_route_matrix(client, world, scene, who, status):
    await grant(world, scene.patient, facility=scene.other, by=scene.admin, scope_all=True)
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.get(f"/api/v1/patients/{scene.patient.id}/grants", headers=headers)
    assert response.status_code == status
    if status == 200:
        assert [g["grantee"] for g in response.json()["items"]] == [scene.other.name]


@pytest.mark.parametrize("who, status", [
    (None, 401), ("doctor", 403), ("patient_user", 403), ("other_admin", 404), ("admin", 200),
])
async def test_facility_grants_route_matrix(client, world, scene, who, status):
    await grant(world, scene.patient, facility=scene.other, by=scene.admin, scope_all=True)
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.get(f"/api/v1/facilities/{scene.home.id}/grants", headers=headers)
    assert response.status_code == status
    if status == 200:
        assert len(response.json()["items"]) == 1


@pytest.mark.parametrize("who, status", [
    (None, 401), ("outsider", 404), ("other_admin", 404), ("other_patient_user", 404), ("admin", 200),
])
async def test_revoke_route_matrix(client, world, scene, who, status):
    row = await grant(world, scene.patient, facility=scene.other, by=scene.admin, scope_all=True)
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.post(f"/api/v1/grants/{row.id}/revoke", json={"reason": "no longer needed"},
                                 headers=headers)
    assert response.status_code == status
    if status == 404:
        denied = await audit_rows(world.db, action="revoke", outcome="denied")
        assert [e.resource_id for e in denied] == [str(row.id)]


async def test_refused_grant_attempt_is_audited_as_denied(client, world, scene):
    response = await client.post(f"/api/v1/patients/{scene.patient.id}/grants", json=_body(facility_id=scene.other.id),
                                 headers=await world.token(scene.other_admin))
    assert response.status_code == 404
    denied = await audit_rows(world.db, patient_id=scene.patient.id, outcome="denied")
    assert [(e.action, e.actor_user_id) for e in denied] == [("grant", scene.other_admin.id)]


# --- page --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [(None, 303), ("doctor", 403), ("patient_user", 403), ("admin", 200)])
async def test_grants_page_matrix(client, world, scene, who, status):
    if who:
        await sign_in(client, world.db, getattr(scene, who))
    assert (await client.get("/grants")).status_code == status


async def test_admin_of_another_facility_cannot_open_its_grants(client, world, scene):
    await sign_in(client, world.db, scene.other_admin)
    assert (await client.get(f"/grants?facility_id={scene.home.id}")).status_code == 404


async def test_admin_creates_and_revokes_a_grant_on_the_page(client, world, scene):
    from carebridge.records.models import PatientRegistration

    mrn = await world.db.scalar(select(PatientRegistration.mrn).where(
        PatientRegistration.patient_id == scene.patient.id))
    csrf = await sign_in(client, world.db, scene.admin)
    expires = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    created = await client.post("/grants", data={
        "csrf_token": csrf, "facility_id": scene.home.id, "mrn": mrn.lower(), "grantee_kind": "facility",
        "grantee": scene.other.code, "purpose": "referral", "expires_on": expires, "scope": "some",
        "scope_kinds": ["condition"]})
    assert created.status_code == 303, created.text
    row = await world.db.scalar(select(AccessGrant).where(AccessGrant.patient_id == scene.patient.id))
    assert (row.grantee_facility_id, row.purpose, row.scope_kinds) == (scene.other.id, "referral", ["condition"])
    page = await client.get(created.headers["location"])
    assert 'data-testid="grants-table"' in page.text and "张小明" in page.text
    revoked = await client.post(f"/grants/{row.id}/revoke", data={
        "csrf_token": csrf, "facility_id": scene.home.id, "reason": "referral cancelled"})
    assert revoked.status_code == 303
    await world.db.refresh(row)
    assert row.revoked_at is not None


@pytest.mark.parametrize("field, value", [("mrn", "NOPE"), ("grantee", "no-such-code"), ("expires_on", "2001-01-01")])
async def test_grant_form_problems_are_shown_and_nothing_is_saved(client, world, scene, field, value):
    from carebridge.records.models import PatientRegistration

    mrn = await world.db.scalar(select(PatientRegistration.mrn).where(
        PatientRegistration.patient_id == scene.patient.id))
    csrf = await sign_in(client, world.db, scene.admin)
    data = {"csrf_token": csrf, "facility_id": scene.home.id, "mrn": mrn, "grantee_kind": "facility",
            "grantee": scene.other.code, "purpose": "treatment",
            "expires_on": (dt.date.today() + dt.timedelta(days=3)).isoformat(), field: value}
    response = await client.post("/grants", data=data)
    assert response.status_code == 422
    assert 'data-testid="grant-error"' in response.text
    assert await _grant_count(world.db) == 0


async def test_admin_cannot_reach_patients_of_other_facilities_by_record_number(client, world, scene):
    from carebridge.records.models import PatientRegistration

    other_mrn = await world.db.scalar(select(PatientRegistration.mrn).where(
        PatientRegistration.patient_id == scene.other_patient.id))
    csrf = await sign_in(client, world.db, scene.admin)
    response = await client.post("/grants", data={
        "csrf_token": csrf, "facility_id": scene.home.id, "mrn": other_mrn, "grantee_kind": "user",
        "grantee": scene.doctor.username, "purpose": "treatment",
        "expires_on": (dt.date.today() + dt.timedelta(days=3)).isoformat()})
    assert response.status_code == 422 and await _grant_count(world.db) == 0


async def test_multi_facility_admin_picks_the_facility(client, world, scene):
    from carebridge.auth.service import assign_role

    await assign_role(world.db, scene.admin.id, Role.facility_admin, scene.other.id)
    await sign_in(client, world.db, scene.admin)
    page = await client.get(f"/grants?facility_id={scene.other.id}")
    assert page.status_code == 200 and scene.other.name in page.text and scene.home.name in page.text
