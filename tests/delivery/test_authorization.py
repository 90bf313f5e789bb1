"""Who may see and move an order: anonymous, another patient, a pharmacist of another facility, a
doctor who may read the record, the patient, the dispensing pharmacy. Missing and forbidden look
the same (404), and every refusal is written down."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from tests.access.conftest import sign_in
from tests.delivery.steps import act, order, paid_order


async def test_another_patient_cannot_see_an_order_or_the_address_by_id(client, world, pharmacy):
    made = await paid_order(client, world, pharmacy)
    other = await world.token(pharmacy.other_patient_user)
    responses = [
        await client.get(f"/api/v1/delivery/orders/{made['id']}", headers=other),
        await client.get(f"/api/v1/delivery/orders/{made['id'] + 1000}", headers=other),
        await client.get(f"/api/v1/delivery/orders?patient_id={pharmacy.patient.id}", headers=other),
        await client.get(f"/api/v1/delivery/addresses?patient_id={pharmacy.patient.id}", headers=other),
        await act(client, world, pharmacy.other_patient_user, made["id"], "cancel"),
    ]
    assert [r.status_code for r in responses] == [404, 404, 404, 404, 404]
    assert all("坞城路" not in r.text for r in responses)
    denied = (await world.db.scalars(select(AuditEvent.resource_id).where(
        AuditEvent.outcome == "denied", AuditEvent.resource_type == "DeliveryOrder"))).all()
    assert str(made["id"]) in denied
    await sign_in(client, world.db, pharmacy.other_patient_user)
    page = await client.get(f"/portal/deliveries/{made['id']}")
    assert page.status_code == 404 and "坞城路" not in page.text


async def test_another_patients_remembered_address_cannot_be_used_or_forgotten(client, world, pharmacy):
    await paid_order(client, world, pharmacy)
    mine = (await client.get(f"/api/v1/delivery/addresses?patient_id={pharmacy.patient.id}",
                             headers=await world.token(pharmacy.patient_user))).json()[0]["id"]
    theirs = await pharmacy.refill(patient=pharmacy.other_patient)
    used = await order(client, world, pharmacy.other_patient_user, theirs, address_id=mine)
    forgot = await client.delete(f"/api/v1/delivery/addresses/{mine}?patient_id={pharmacy.other_patient.id}",
                                 headers=await world.token(pharmacy.other_patient_user))
    assert (used.status_code, forgot.status_code) == (404, 404)


async def test_nobody_orders_another_patients_medicine(client, world, pharmacy):
    refill = await pharmacy.refill()
    other = await order(client, world, pharmacy.other_patient_user, refill)
    staff = await order(client, world, pharmacy.pharmacist, refill)
    doctor = await order(client, world, pharmacy.doctor, refill)
    anonymous = await client.post("/api/v1/delivery/orders", json={"source_kind": "medication",
                                                                   "source_id": refill.id, "method": "pickup"})
    # Staff of the patient's facility may read the record, so a plain 403 tells them nothing new.
    assert [r.status_code for r in (other, staff, doctor, anonymous)] == [404, 403, 403, 401]


@pytest.mark.parametrize("action", ["pack", "cancel"])
async def test_a_pharmacist_of_another_facility_cannot_see_or_act(client, world, pharmacy, action):
    made = await paid_order(client, world, pharmacy)
    elsewhere = await world.token(pharmacy.other_pharmacist)
    seen = await client.get(f"/api/v1/delivery/orders/{made['id']}", headers=elsewhere)
    acted = await act(client, world, pharmacy.other_pharmacist, made["id"], action, reason="不是我们的")
    queue = await client.get(f"/api/v1/delivery/dispensing?facility_id={pharmacy.county.id}",
                             headers=await world.token(pharmacy.other_pharmacist))
    own_queue = await client.get("/api/v1/delivery/dispensing", headers=await world.token(pharmacy.other_pharmacist))
    assert (seen.status_code, acted.status_code, queue.status_code) == (404, 404, 404)
    assert own_queue.status_code == 200 and own_queue.json()["items"] == []


async def test_patient_and_doctor_cannot_make_the_pharmacys_moves(client, world, pharmacy):
    made = await paid_order(client, world, pharmacy, method="pickup")
    by_patient = await act(client, world, pharmacy.patient_user, made["id"], "prepare")
    by_doctor = await act(client, world, pharmacy.doctor, made["id"], "prepare")
    doctor_reads = await client.get(f"/api/v1/delivery/orders/{made['id']}", headers=await world.token(pharmacy.doctor))
    assert (by_patient.status_code, by_doctor.status_code) == (403, 403)
    assert doctor_reads.status_code == 200 and doctor_reads.json()["allowed_actions"] == []
    assert doctor_reads.json()["pickup_code"] is None  # only the patient's side sees the code
    listed = await client.get(f"/api/v1/delivery/orders?patient_id={pharmacy.patient.id}",
                              headers=await world.token(pharmacy.doctor))
    assert [(o["allowed_actions"], o["pickup_code"]) for o in listed.json()["items"]] == [([], None)]
    queue = await client.get("/api/v1/delivery/dispensing", headers=await world.token(pharmacy.doctor))
    assert queue.status_code == 403


async def test_the_dispensing_pharmacy_sees_its_queue_and_acts(client, world, pharmacy):
    made = await paid_order(client, world, pharmacy)
    theirs = await world.token(pharmacy.pharmacist)
    queue = await client.get("/api/v1/delivery/dispensing", headers=theirs)
    assert [i["id"] for i in queue.json()["items"]] == [made["id"]]
    assert queue.json()["items"][0]["allowed_actions"] == ["cancel", "pack"]
    assert (await act(client, world, pharmacy.pharmacist, made["id"], "pack")).status_code == 200
    read = (await world.db.scalars(select(AuditEvent.action).where(
        AuditEvent.resource_type == "DeliveryOrder", AuditEvent.actor_user_id == pharmacy.pharmacist.id))).all()
    assert {"delivery_queue", "delivery_pack"} <= set(read)


async def test_anonymous_callers_are_sent_to_sign_in(client, world, pharmacy):
    made = await paid_order(client, world, pharmacy)
    api = await client.get(f"/api/v1/delivery/orders/{made['id']}")
    page = await client.get(f"/portal/deliveries/{made['id']}")
    staff = await client.get("/pharmacy/dispensing")
    assert api.status_code == 401
    assert page.status_code == staff.status_code == 303 and page.headers["location"].startswith("/login")
