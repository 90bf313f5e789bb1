"""The pages: the patient chooses and pays on a phone, follows the timeline; the pharmacy works its list."""

from __future__ import annotations

from sqlalchemy import select

from carebridge.portal.delivery.models import DeliveryOrder
from tests.access.conftest import sign_in
from tests.delivery.conftest import ADDRESS
from tests.delivery.steps import paid_order, pay


async def test_the_patient_chooses_delivery_sees_the_price_and_is_sent_to_pay(client, world, pharmacy):
    insulin = await pharmacy.refill("A10AE04", "甘精胰岛素注射液", "300U")
    csrf = await sign_in(client, world.db, pharmacy.patient_user)
    page = await client.get(f"/portal/deliveries/new?kind=medication&source_id={insulin.id}")
    assert page.status_code == 200
    assert "Keep cold" in page.text and "Cold-chain surcharge" in page.text and "¥168.00" in page.text
    assert 'data-testid="self-pay-delivery">¥198.00' in page.text
    assert 'data-testid="self-pay-pickup">¥168.00' in page.text
    sent = await client.post("/portal/deliveries", data={
        "csrf_token": csrf, "source_kind": "medication", "source_id": insulin.id, "method": "delivery",
        "address_id": "", **ADDRESS})
    assert sent.status_code == 303
    made = await world.db.scalar(select(DeliveryOrder).where(DeliveryOrder.source_id == insulin.id))
    assert sent.headers["location"] == f"/payments/charges/{made.charge_id}"
    assert (made.method, made.region, made.cold_chain) == ("delivery", ADDRESS["region"], True)
    again = await client.get(f"/portal/deliveries/new?kind=medication&source_id={insulin.id}")
    assert 'data-testid="already-ordered"' in again.text and f"/portal/deliveries/{made.id}" in again.text


async def test_a_refused_form_comes_back_with_the_reason_and_what_was_typed(client, world, pharmacy):
    refill = await pharmacy.refill()
    csrf = await sign_in(client, world.db, pharmacy.patient_user)
    sent = await client.post("/portal/deliveries", data={
        "csrf_token": csrf, "source_kind": "medication", "source_id": refill.id, "method": "delivery",
        "address_id": "", **{**ADDRESS, "detail": ""}})
    assert sent.status_code == 422
    assert "give the street, building and room" in sent.text and ADDRESS["recipient"] in sent.text
    assert await world.db.scalar(select(DeliveryOrder.id)) is None


async def test_the_order_page_shows_the_timeline_and_the_pickup_code(client, world, pharmacy):
    made = await paid_order(client, world, pharmacy, method="pickup")
    await sign_in(client, world.db, pharmacy.patient_user)
    page = await client.get(f"/portal/deliveries/{made['id']}")
    assert page.status_code == 200 and f'data-delivery-order="{made["id"]}"' in page.text
    assert made["pickup_code"] in page.text and "Order placed" in page.text and "Paid" in page.text
    partial = await client.get(f"/portal/deliveries/{made['id']}", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and 'data-testid="timeline"' in partial.text
    listed = await client.get("/portal/deliveries")
    assert f"/portal/deliveries/{made['id']}" in listed.text


async def test_the_pharmacy_packs_ships_and_hands_over_from_its_list(client, world, pharmacy):
    cold = await paid_order(client, world, pharmacy, await pharmacy.refill("A10AE04", "甘精胰岛素注射液"))
    pickup = await paid_order(client, world, pharmacy, method="pickup")
    csrf = await sign_in(client, world.db, pharmacy.pharmacist)
    page = await client.get("/pharmacy/dispensing")
    assert page.status_code == 200 and pharmacy.patient.name in page.text
    assert f'id="order-{cold["id"]}" class="cold"' in page.text and 'data-testid="cold-tag"' in page.text
    packed = await client.post(f"/pharmacy/dispensing/{cold['id']}/pack", data={"csrf_token": csrf})
    assert packed.status_code == 303
    taken = await client.post(f"/pharmacy/dispensing/{cold['id']}/ship", data={
        "csrf_token": csrf, "courier": "sf", "tracking_number": "bad!"})
    assert taken.status_code == 422 and "tracking number" in taken.text
    shipped = await client.post(f"/pharmacy/dispensing/{cold['id']}/ship", data={
        "csrf_token": csrf, "courier": "sf", "tracking_number": "SF7000001"})
    assert shipped.status_code == 303
    await client.post(f"/pharmacy/dispensing/{pickup['id']}/prepare", data={"csrf_token": csrf})
    handed = await client.post(f"/pharmacy/dispensing/{pickup['id']}/hand_over",
                               data={"csrf_token": csrf, "pickup_code": pickup["pickup_code"]})
    assert handed.status_code == 303
    states = dict((await world.db.execute(select(DeliveryOrder.id, DeliveryOrder.state))).all())
    assert (states[cold["id"]], states[pickup["id"]]) == ("shipped", "picked_up")


async def test_the_patient_cancels_from_the_order_page_and_is_refunded(client, world, pharmacy):
    made = await paid_order(client, world, pharmacy)
    csrf = await sign_in(client, world.db, pharmacy.patient_user)
    assert 'data-testid="cancel"' in (await client.get(f"/portal/deliveries/{made['id']}")).text
    await client.post(f"/portal/deliveries/{made['id']}/cancel", data={"csrf_token": csrf, "reason": "不需要了"})
    page = await client.get(f"/portal/deliveries/{made['id']}")
    assert "Cancelled" in page.text and 'data-testid="refunded">¥67.00' in page.text


async def test_pages_are_chinese_by_default(client, world, pharmacy):
    refill = await pharmacy.refill()
    await sign_in(client, world.db, pharmacy.patient_user)
    page = await client.get(f"/portal/deliveries/new?kind=medication&source_id={refill.id}",
                            headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text


async def test_an_unpaid_order_links_to_its_charge(client, world, pharmacy):
    refill = await pharmacy.refill()
    csrf = await sign_in(client, world.db, pharmacy.patient_user)
    await client.post("/portal/deliveries", data={"csrf_token": csrf, "source_kind": "medication",
                                                  "source_id": refill.id, "method": "pickup"})
    made = await world.db.scalar(select(DeliveryOrder).where(DeliveryOrder.source_id == refill.id))
    page = await client.get(f"/portal/deliveries/{made.id}")
    assert f'href="/payments/charges/{made.charge_id}" data-testid="pay-link"' in page.text
    await pay(client, world, pharmacy.patient_user, made.charge_id)
    assert 'data-testid="pay-link"' not in (await client.get(f"/portal/deliveries/{made.id}")).text
