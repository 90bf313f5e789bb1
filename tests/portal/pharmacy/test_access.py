"""Who may do what: anonymous, the other patient, a doctor or pharmacist of another facility, a
doctor of the county hub where the patient is not registered, a nurse, the patient themselves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.portal.pharmacy import dispensing, refills
from tests.portal.pharmacy.conftest import approve, chronic_body, write


@pytest.fixture
async def scene(world, net):  # noqa: ANN001, ANN201
    """A pending prescription, and a dispensed chronic one with a waiting refill request."""
    pending = await write(world, net)
    order = await write(world, net)
    await approve(world, net, order)
    await dispensing.mark_dispensed(world.db, order.id)
    request = await refills.request_refill(world.db, await world.principal(net.patient_user), order.id)
    return pending, order, request


async def _status(client, world, user, method: str, url: str, **kw) -> int:  # noqa: ANN001
    headers = await world.token(user) if user is not None else {}
    return (await client.request(method, url, headers=headers, **kw)).status_code


async def test_strangers_get_the_404_of_a_missing_prescription(client, world, net, scene):
    pending, order, request = scene
    for user in (net.outsider, net.other_pharmacist, net.county_doctor, net.other_patient_user):
        assert await _status(client, world, user, "GET", f"/api/v1/prescriptions/{pending.id}") == 404
        assert await _status(client, world, user, "GET", "/api/v1/prescriptions/999999") == 404
        assert await _status(client, world, user, "POST", f"/api/v1/prescriptions/{pending.id}/actions/approve") == 404
        assert await _status(client, world, user, "GET", f"/api/v1/prescriptions/refill-requests/{request.id}") == 404
        assert await _status(client, world, user, "POST",
                             f"/api/v1/prescriptions/refill-requests/{request.id}/approve") == 404
    assert await _status(client, world, net.other_patient_user, "GET",
                         f"/api/v1/prescriptions?patient_id={net.patient.id}") == 404
    assert await _status(client, world, net.other_patient_user, "POST",
                         f"/api/v1/prescriptions/{order.id}/refill-requests") == 404
    denied = (await world.db.scalars(select(AuditEvent.outcome).where(
        AuditEvent.resource_type == "Prescription", AuditEvent.outcome == "denied"))).all()
    assert denied  # refusals are written down


async def test_anonymous_callers_must_sign_in(client, world, net, scene):
    pending, _, request = scene
    for method, url in [("GET", f"/api/v1/prescriptions/{pending.id}"), ("POST", "/api/v1/prescriptions"),
                        ("GET", "/api/v1/pharmacy/review"),
                        ("POST", f"/api/v1/prescriptions/refill-requests/{request.id}/approve")]:
        assert await _status(client, world, None, method, url, json={}) == 401


async def test_the_patient_reads_but_cannot_approve_or_write(client, world, net, scene):
    pending, order, request = scene
    mine = await client.get(f"/api/v1/prescriptions/{pending.id}", headers=await world.token(net.patient_user))
    assert mine.status_code == 200 and mine.json()["allowed_actions"] == []
    assert await _status(client, world, net.patient_user, "POST",
                         f"/api/v1/prescriptions/{pending.id}/actions/approve") == 403
    assert await _status(client, world, net.patient_user, "POST",
                         f"/api/v1/prescriptions/refill-requests/{request.id}/approve") == 403
    assert await _status(client, world, net.patient_user, "POST", "/api/v1/prescriptions",
                         json=chronic_body(net)) == 404  # no write access to a record, even one's own
    assert await _status(client, world, net.patient_user, "GET", "/api/v1/pharmacy/review") == 403


async def test_only_pharmacists_of_the_dispensing_facility_review(client, world, net, scene):
    pending, _, _ = scene
    # The prescribing facility's doctor and nurse see it, but do not review it.
    approve_url = f"/api/v1/prescriptions/{pending.id}/actions/approve"
    assert await _status(client, world, net.doctor, "POST", approve_url) == 403
    nurse = await client.get(f"/api/v1/prescriptions/{pending.id}", headers=await world.token(net.nurse))
    assert nurse.status_code == 200 and nurse.json()["allowed_actions"] == []
    assert await _status(client, world, net.nurse, "POST", approve_url) == 403
    assert await _status(client, world, net.doctor, "GET", "/api/v1/pharmacy/review") == 403
    queue = await client.get("/api/v1/pharmacy/review", headers=await world.token(net.other_pharmacist))
    assert queue.json()["items"] == []


async def test_a_doctor_not_at_the_facility_cannot_approve_a_refill(client, world, net, scene):
    _, order, request = scene
    for user in (net.county_doctor, net.outsider):
        assert await _status(client, world, user, "POST",
                             f"/api/v1/prescriptions/refill-requests/{request.id}/approve") == 404
        inbox = await client.get("/api/v1/prescriptions/refill-requests", headers=await world.token(user))
        assert inbox.json()["items"] == []
    assert await _status(client, world, net.nurse, "POST",
                         f"/api/v1/prescriptions/refill-requests/{request.id}/approve") == 404
    assert await _status(client, world, net.pharmacist, "GET", "/api/v1/prescriptions/refill-requests") == 403


async def test_only_doctors_where_the_patient_is_registered_write(client, world, net):
    for user in (net.pharmacist, net.county_doctor, net.outsider):
        assert await _status(client, world, user, "POST", "/api/v1/prescriptions", json=chronic_body(net)) == 404
    assert await _status(client, world, net.nurse, "POST", "/api/v1/prescriptions", json=chronic_body(net)) == 403
    assert await _status(client, world, net.doctor2, "POST", "/api/v1/prescriptions", json=chronic_body(net)) == 201


async def test_a_doctor_cannot_ask_for_the_patients_refill(client, world, net, scene):
    _, order, _ = scene
    assert await _status(client, world, net.doctor, "POST", f"/api/v1/prescriptions/{order.id}/refill-requests") == 403
