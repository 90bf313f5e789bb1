"""Break-the-glass: emergency lookup by exact national ID, a mandatory reason, a 4-hour window,
flagged in the audit, admins told at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebridge.access import emergency
from carebridge.access.models import BreakGlass
from carebridge.auth.models import Role
from carebridge.errors import Forbidden, InvalidInput, NotFound
from carebridge.notifications.models import Notification
from tests.access.conftest import audit_rows, sign_in


async def _notified(db, user_id: int) -> list[Notification]:  # noqa: ANN001
    return list((await db.scalars(select(Notification).where(Notification.user_id == user_id))).all())


def test_names_are_masked_to_confirm_not_to_identify():
    assert [emergency.mask_name(n) for n in ("张小明", "张明", "欧阳小明", "李")] == ["张*明", "张*", "欧**明", "*"]


async def test_lookup_returns_only_masked_identity_and_is_audited(world, scene):
    matches = await emergency.emergency_lookup(world.db, await world.principal(scene.outsider),
                                               scene.patient.national_id)
    assert [(m.patient_id, m.masked_name, m.sex, m.birth_year) for m in matches] == [
        (scene.patient.id, "张*明", "male", 1971)]
    event = (await audit_rows(world.db, action="search", patient_id=scene.patient.id))[-1]
    assert (event.outcome, event.purpose, event.actor_user_id) == ("allowed", "emergency", scene.outsider.id)
    assert event.detail["emergency_lookup"] is True
    assert scene.patient.national_id not in str(event.detail)


@pytest.mark.parametrize("national_id", ["1101051960", "11010519600101123Y", "张" * 18, ""])
async def test_lookup_needs_the_exact_national_id(world, scene, national_id):
    with pytest.raises(InvalidInput):
        await emergency.emergency_lookup(world.db, await world.principal(scene.outsider), national_id)


async def test_lookup_is_for_clinicians(world, scene):
    for user in (scene.admin, scene.patient_user, scene.platform):
        with pytest.raises(Forbidden):
            await emergency.emergency_lookup(world.db, await world.principal(user), scene.patient.national_id)


async def test_break_glass_is_flagged_and_admins_are_told(world, scene):
    bystander_admin = await world.user((Role.facility_admin, (await world.facility()).id))
    glass = await emergency.start_break_glass(world.db, await world.principal(scene.outsider), scene.patient.id,
                                              "  unconscious,   brought in by ambulance ", scene.other.id)
    assert glass.reason == "unconscious, brought in by ambulance"
    event = (await audit_rows(world.db, action="break_glass"))[-1]
    assert (event.patient_id, event.facility_id, event.outcome) == (scene.patient.id, scene.other.id, "allowed")
    assert event.detail["break_glass"] is True and event.detail["reason"] == glass.reason
    for admin in (scene.admin, scene.other_admin):
        [note] = await _notified(world.db, admin.id)
        assert note.kind == "break_glass" and "张*明" in note.body and "张小明" not in note.body
        assert glass.reason in note.body
    assert await _notified(world.db, bystander_admin.id) == []


@pytest.mark.parametrize("reason", ["", "sick", "  too short "])
async def test_break_glass_needs_a_real_reason(world, scene, reason):
    with pytest.raises(InvalidInput):
        await emergency.start_break_glass(world.db, await world.principal(scene.outsider), scene.patient.id, reason,
                                          scene.other.id)
    assert await world.db.scalar(select(BreakGlass.id)) is None


async def test_break_glass_only_at_a_facility_where_you_work(world, scene):
    with pytest.raises(Forbidden):
        await emergency.start_break_glass(world.db, await world.principal(scene.outsider), scene.patient.id,
                                          "emergency at the wrong place", scene.home.id)


async def test_break_glass_is_for_clinicians(world, scene):
    with pytest.raises(Forbidden):
        await emergency.start_break_glass(world.db, await world.principal(scene.other_admin), scene.patient.id,
                                          "admin wants to look", scene.other.id)


async def test_break_glass_on_unknown_patient_is_404(world, scene):
    with pytest.raises(NotFound):
        await emergency.start_break_glass(world.db, await world.principal(scene.outsider), 10**9,
                                          "no such patient exists", scene.other.id)


# --- API ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [
    (None, 401), ("admin", 403), ("patient_user", 403), ("platform", 403), ("outsider", 200), ("doctor", 200),
])
async def test_lookup_route_matrix(client, world, scene, who, status):
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.post("/api/v1/emergency/lookup", json={"national_id": scene.patient.national_id},
                                 headers=headers)
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"matches": [{"patient_id": scene.patient.id, "masked_name": "张*明",
                                                "sex": "male", "birth_year": 1971}]}
    if status == 403:
        assert [e.action for e in await audit_rows(world.db, outcome="denied")] == ["search"]


async def test_unknown_national_id_is_404_and_still_written_down(client, world, scene):
    response = await client.post("/api/v1/emergency/lookup", json={"national_id": "99999919990101999X"},
                                 headers=await world.token(scene.outsider))
    assert response.status_code == 404
    [event] = await audit_rows(world.db, action="search", outcome="not_found")
    assert event.actor_user_id == scene.outsider.id and event.detail["national_id"] == "999***********999X"


@pytest.mark.parametrize("who, status", [
    (None, 401), ("admin", 403), ("patient_user", 403), ("outsider", 201),
])
async def test_break_glass_route_matrix(client, world, scene, who, status):
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.post(f"/api/v1/patients/{scene.patient.id}/break-glass",
                                 json={"reason": "collapsed in the waiting room", "facility_id": scene.other.id},
                                 headers=headers)
    assert response.status_code == status
    if status == 201:
        assert response.json()["record_url"] == f"/patients/{scene.patient.id}"


async def test_break_glass_then_read_over_the_api(client, world, scene):
    headers = await world.token(scene.outsider)
    consents = f"/api/v1/patients/{scene.patient.id}/consents"
    assert (await client.get(consents, headers=headers)).status_code == 404
    short = await client.post(f"/api/v1/patients/{scene.patient.id}/break-glass",
                              json={"reason": "urgent", "facility_id": scene.other.id}, headers=headers)
    assert short.status_code == 422
    opened = await client.post(f"/api/v1/patients/{scene.patient.id}/break-glass",
                               json={"reason": "anaphylaxis, need allergy list", "facility_id": scene.other.id},
                               headers=headers)
    assert opened.status_code == 201
    assert (await client.get(consents, headers=headers)).status_code == 200
    reads = await audit_rows(world.db, patient_id=scene.patient.id, resource_type="Consent")
    assert [(e.outcome, e.detail.get("break_glass")) for e in reads] == [("denied", None), ("allowed", True)]


async def test_break_glass_on_unknown_patient_is_audited_as_denied(client, world, scene):
    response = await client.post("/api/v1/patients/999999999/break-glass",
                                 json={"reason": "collapsed in the waiting room", "facility_id": scene.other.id},
                                 headers=await world.token(scene.outsider))
    assert response.status_code == 404
    [event] = await audit_rows(world.db, action="break_glass", outcome="denied")
    assert event.patient_id == 999999999


# --- pages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [(None, 303), ("admin", 403), ("patient_user", 403), ("outsider", 200)])
async def test_emergency_page_matrix(client, world, scene, who, status):
    if who:
        await sign_in(client, world.db, getattr(scene, who))
    response = await client.get("/emergency")
    assert response.status_code == status
    if status == 200:
        assert 'data-testid="breakglass-warning"' in response.text


async def test_emergency_flow_on_the_pages(client, world, scene):
    csrf = await sign_in(client, world.db, scene.outsider)
    found = await client.post("/emergency/lookup", data={"csrf_token": csrf, "national_id": scene.patient.national_id},
                              headers={"HX-Request": "true"})
    assert found.status_code == 200
    assert "张*明" in found.text and "张小明" not in found.text and "<html" not in found.text
    assert 'data-testid="breakglass-form"' in found.text
    opened = await client.post("/emergency/break-glass", data={
        "csrf_token": csrf, "patient_id": scene.patient.id, "facility_id": scene.other.id,
        "reason": "found unresponsive, relatives unreachable"})
    assert opened.status_code == 303
    confirmation = await client.get(opened.headers["location"])
    assert confirmation.status_code == 200
    assert f'href="/patients/{scene.patient.id}"' in confirmation.text
    assert "张*明" in (await client.get("/emergency")).text


async def test_emergency_page_shows_lookup_problems(client, world, scene):
    csrf = await sign_in(client, world.db, scene.outsider)
    missing = await client.post("/emergency/lookup", data={"csrf_token": csrf, "national_id": "99999919990101999X"})
    assert missing.status_code == 404 and 'data-testid="emergency-error"' in missing.text
    short = await client.post("/emergency/break-glass", data={
        "csrf_token": csrf, "patient_id": scene.patient.id, "facility_id": scene.other.id, "reason": "hurry"})
    assert short.status_code == 422 and 'data-testid="breakglass-form"' in short.text
    assert await world.db.scalar(select(BreakGlass.id)) is None


async def test_someone_elses_emergency_window_is_not_shown(client, world, scene):
    glass = await emergency.start_break_glass(world.db, await world.principal(scene.outsider), scene.patient.id,
                                              "collapsed in the corridor", scene.other.id)
    await sign_in(client, world.db, scene.doctor)
    assert (await client.get(f"/emergency/open/{glass.id}")).status_code == 404
