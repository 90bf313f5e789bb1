"""The diagnosis pages: order from the form, the order page on both sides, the reconciliation queue."""

from __future__ import annotations

from carebridge.diagnostics import studies
from carebridge.diagnostics.studies import Arrival
from tests.auth.conftest import login_as
from tests.diagnostics.conftest import place_order


async def test_a_doctor_orders_from_the_form_and_the_hub_sees_the_order(client, world, db, dnet):
    csrf = await login_as(client, db, dnet.sender)
    form = await client.get(f"/diagnosis/orders/new?patient_id={dnet.patient.id}")
    assert form.status_code == 200 and dnet.hub.name in form.text
    sent = await client.post("/diagnosis/orders/new", data={
        "csrf_token": csrf, "patient_id": dnet.patient.id, "modality": "CT", "body_part": "HEAD",
        "clinical_question": "Fall, on anticoagulants: bleed?", "urgency": "stat"})
    assert sent.status_code == 303, sent.text
    url = sent.headers["location"]
    page = await client.get(url)
    assert "Awaiting images" in page.text and "Fall, on anticoagulants" in page.text
    assert "Cancel this order" in page.text
    client.cookies.clear()
    await login_as(client, db, dnet.reader)
    seen = await client.get(url)
    assert seen.status_code == 200 and dnet.patient.name in seen.text and "Cancel this order" not in seen.text
    listed = await client.get("/diagnosis?side=received")
    assert url in listed.text


async def test_a_bad_order_form_says_what_is_wrong(client, world, db, dnet):
    csrf = await login_as(client, db, dnet.sender)
    refused = await client.post("/diagnosis/orders/new", data={
        "csrf_token": csrf, "patient_id": dnet.patient.id, "modality": "PET", "clinical_question": "Staging"})
    assert refused.status_code == 422 and "modality" in refused.text


async def test_pages_refuse_outsiders_and_anonymous(client, world, db, dnet):
    order = await place_order(world, db, dnet)
    anonymous = await client.get(f"/diagnosis/orders/{order.id}")
    assert anonymous.status_code in (302, 303, 401)
    await login_as(client, db, dnet.outsider)
    assert (await client.get(f"/diagnosis/orders/{order.id}")).status_code == 404
    assert (await client.get(f"/diagnosis/orders/new?patient_id={dnet.patient.id}")).status_code == 404
    assert (await client.get(f"/diagnosis/hubs/{dnet.hub.id}/reconciliation")).status_code == 403
    listed = await client.get("/diagnosis")
    assert order.accession_number not in listed.text


async def test_the_hub_technician_links_a_stray_study_from_the_queue(client, world, db, dnet):
    order = await place_order(world, db, dnet)
    stray = await studies.receive_item(db, Arrival(
        study_uid="1.2.840.99.1", sending_facility_id=dnet.community.id, hub_facility_id=dnet.hub.id,
        modality="CT", sent_patient_key="X-999", sent_patient_name="ZHANG^SAN", size_bytes=10))
    csrf = await login_as(client, db, dnet.hub_tech)
    queue = await client.get(f"/diagnosis/hubs/{dnet.hub.id}/reconciliation")
    assert "ZHANG^SAN" in queue.text and order.accession_number in queue.text
    linked = await client.post(f"/diagnosis/hubs/{dnet.hub.id}/reconciliation/{stray.id}",
                               data={"csrf_token": csrf, "order_id": order.id})
    assert linked.status_code == 303
    assert "Every study has found its order" in (await client.get(f"/diagnosis/hubs/{dnet.hub.id}/reconciliation")).text
    timeline = await client.get(f"/diagnosis/orders/{order.id}")
    assert "Study linked by hand" in timeline.text
