"""The multi-disciplinary team: seats asked for in the request, filled by the lead or coordinator;
a member from another hospital reads exactly the shared items, and loses that when the seat is freed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebridge.access.models import AccessGrant
from carebridge.access.service import access_patient
from carebridge.auth.models import Role
from carebridge.consultations import service, team
from carebridge.consultations.lifecycle import Actor
from carebridge.errors import Conflict, Forbidden, NotFound
from carebridge.network.models import Department
from tests.auth.conftest import login_as


async def _mdt_case(world, db, net):  # noqa: ANN001, ANN202
    neuro = Department(code=f"neuro_{net.specialty}", name="神经内科", name_en="Neurology")
    db.add(neuro)
    await db.flush()
    requester = await world.principal(net.requester)
    case = await service.request_consultation(db, requester, service.CaseRequest(
        patient_id=net.patient.id, question="Stroke risk and anticoagulation?", mode="live",
        team_specialties=(net.specialty, neuro.code), shared_entry_ids=(net.entries[0].id,)))
    await service.take_action(db, requester, case.id, "submit")
    await service.take_action(db, await world.principal(net.county_admin), case.id, "triage")
    await service.take_action(db, await world.principal(net.county_doctor), case.id, "accept")
    return case, neuro


async def test_requested_specialties_become_open_seats_and_route_by_the_first(world, db, net):
    case, neuro = await _mdt_case(world, db, net)
    view = await service.access_case(db, await world.principal(net.county_doctor), case.id)
    assert case.target_facility_id == net.county.id
    assert [s.member_user_id for s in view.team] == [None, None]
    assert view.team[1].department_id == neuro.id


async def test_a_member_from_another_hospital_reads_only_the_shared_items_until_freed(world, db, net):
    case, _ = await _mdt_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    seats = (await service.access_case(db, lead, case.id)).team
    await team.invite_member(db, lead, case.id, net.city_doctor.id, seat_id=seats[1].id)
    member = await world.principal(net.city_doctor)
    view = await service.access_case(db, member, case.id)
    assert view.parts == frozenset({Actor.member}) and view.actions == []
    assert [e.id for e in view.shared] == [net.entries[0].id]
    listed = await service.list_cases(db, member)
    assert [c.id for c in listed.items] == [case.id]

    await team.free_seat(db, lead, case.id, seats[1].id, "the neurologist is on leave")
    with pytest.raises(NotFound):
        await service.access_case(db, await world.principal(net.city_doctor), case.id)
    grant = await db.scalar(select(AccessGrant).where(AccessGrant.source_type == team.GRANT_SOURCE))
    assert grant.revoked_at is not None


async def test_only_the_lead_or_coordinator_invites_and_nobody_twice(world, db, net):
    case, _ = await _mdt_case(world, db, net)
    with pytest.raises(Forbidden):
        await team.invite_member(db, await world.principal(net.requester), case.id, net.city_doctor.id)
    lead = await world.principal(net.county_doctor)
    await team.invite_member(db, lead, case.id, net.city_doctor.id)
    with pytest.raises(Conflict):
        await team.invite_member(db, lead, case.id, net.city_doctor.id)
    with pytest.raises(Conflict):
        await team.invite_member(db, lead, case.id, net.requester.id)


async def test_a_facility_colleague_is_covered_by_the_facility_grant(world, db, net):
    case, _ = await _mdt_case(world, db, net)
    await team.invite_member(db, await world.principal(net.county_admin), case.id, net.county_doctor2.id)
    assert await db.scalar(select(AccessGrant).where(AccessGrant.source_type == team.GRANT_SOURCE)) is None
    colleague = await world.principal(net.county_doctor2)
    assert Actor.member in (await service.access_case(db, colleague, case.id)).parts


async def test_member_grants_end_with_the_case(world, db, net):
    case, _ = await _mdt_case(world, db, net)
    await team.invite_member(db, await world.principal(net.county_doctor), case.id, net.city_doctor.id)
    await service.take_action(db, await world.principal(net.requester), case.id, "cancel", "patient transferred")
    grant = await db.scalar(select(AccessGrant).where(AccessGrant.source_type == team.GRANT_SOURCE))
    assert (grant.expires_at - case.closed_at).days == service.GRANT_DAYS_AFTER_CLOSE
    patient = await access_patient(db, await world.principal(net.city_doctor), net.patient.id, purpose="consultation")
    assert patient.patient.id == net.patient.id  # still readable within the 30 days after close


@pytest.fixture
async def api(consult_app, client):  # noqa: ANN001, ANN201
    return client


async def test_team_routes_matrix(api, world, db, net):
    case, _ = await _mdt_case(world, db, net)
    url = f"/api/v1/consultations/{case.id}/team"
    assert (await api.post(url, json={"user_id": net.city_doctor.id})).status_code == 401
    outsider = await world.token(net.outsider)
    assert (await api.post(url, json={"user_id": net.city_doctor.id}, headers=outsider)).status_code == 404
    requester = await world.token(net.requester)
    assert (await api.post(url, json={"user_id": net.city_doctor.id}, headers=requester)).status_code == 403
    nurse = await world.user((Role.nurse, net.city.id))
    bad = await api.post(url, json={"user_id": nurse.id}, headers=await world.token(net.county_doctor))
    assert bad.status_code == 422
    ok = await api.post(url, json={"user_id": net.city_doctor.id}, headers=await world.token(net.county_doctor))
    assert ok.status_code == 200, ok.text
    seat = next(s for s in ok.json()["team"] if s["member_user_id"] == net.city_doctor.id)
    seen = await api.get(f"/api/v1/consultations/{case.id}", headers=await world.token(net.city_doctor))
    assert seen.status_code == 200 and seen.json()["my_parts"] == ["member"]
    freed = await api.post(f"{url}/{seat['id']}/free", json={"note": "no longer needed"},
                           headers=await world.token(net.county_doctor))
    assert freed.status_code == 200
    assert all(s["member_user_id"] is None for s in freed.json()["team"] if s["id"] == seat["id"])


async def test_the_case_page_shows_the_team_and_invites_from_a_form(api, world, db, net):
    case, _ = await _mdt_case(world, db, net)
    csrf = await login_as(api, db, net.county_doctor)
    page = await api.get(f"/consultations/{case.id}")
    assert page.status_code == 200 and "Multi-disciplinary team" in page.text
    member = f"<strong>{net.county_doctor2.display_name}</strong>"
    assert member not in page.text
    seat = (await service.access_case(db, await world.principal(net.county_doctor), case.id)).team[0]
    sent = await api.post(f"/consultations/{case.id}/team",
                          data={"csrf_token": csrf, "user_id": net.county_doctor2.id, "seat_id": seat.id})
    assert sent.status_code == 303, sent.text
    page = await api.get(f"/consultations/{case.id}")
    assert member in page.text and "Invited to the team" in page.text
    no_csrf = await api.post(f"/consultations/{case.id}/team", data={"user_id": net.county_doctor2.id})
    assert no_csrf.status_code == 403
