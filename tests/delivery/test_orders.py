"""Ordering a refill for pickup or delivery, paying, the pharmacy's steps, cancelling with a refund."""

from __future__ import annotations

from sqlalchemy import func, select

from carebridge.notifications.models import Notification
from carebridge.payments.models import Charge, ChargeLine
from carebridge.portal.delivery.models import DeliveryAddress
from carebridge.records.models import MedicationStatement
from tests.delivery.conftest import ADDRESS
from tests.delivery.steps import act, get, order, paid_order, pay


async def test_delivery_order_is_charged_for_drugs_and_fees_then_paid(client, world, pharmacy):
    insulin = await pharmacy.refill("A10AE04", "甘精胰岛素注射液", "300U")
    placed = await order(client, world, pharmacy.patient_user, insulin)
    assert placed.status_code == 201, placed.text
    made = placed.json()
    assert (made["state"], made["cold_chain"], made["drugs_fen"], made["fees_fen"]) == (
        "awaiting_payment", True, 16800, 3000)
    assert made["pay_url"] == f"/payments/charges/{made['charge_id']}"
    charge = await world.db.get(Charge, made["charge_id"])
    assert (charge.purpose, charge.purpose_id, charge.total_fen) == ("fulfilment", made["id"], 19800)
    codes = (await world.db.scalars(select(ChargeLine.code).where(ChargeLine.charge_id == charge.id)
                                    .order_by(ChargeLine.id))).all()
    assert codes == ["A10AE04", "delivery_fee", "cold_chain_fee"]

    await pay(client, world, pharmacy.patient_user, made["charge_id"])
    paid = await get(client, world, pharmacy.patient_user, made["id"])
    assert paid["state"] == "paid" and paid["charge_status"] == "paid"
    assert [row["action"] for row in paid["timeline"]] == ["place", "pay"]
    told = (await world.db.scalars(select(Notification.user_id).where(Notification.kind == "delivery"))).all()
    assert pharmacy.pharmacist.id in told and pharmacy.patient_user.id in told
    remembered = (await world.db.scalars(select(DeliveryAddress).where(
        DeliveryAddress.patient_id == pharmacy.patient.id))).all()
    assert [(a.recipient, a.detail) for a in remembered] == [(ADDRESS["recipient"], ADDRESS["detail"])]


async def test_a_remembered_address_is_offered_and_reused(client, world, pharmacy):
    await paid_order(client, world, pharmacy)
    listed = await client.get(f"/api/v1/delivery/addresses?patient_id={pharmacy.patient.id}",
                              headers=await world.token(pharmacy.patient_user))
    assert listed.status_code == 200 and len(listed.json()) == 1
    again = await order(client, world, pharmacy.patient_user, await pharmacy.refill("N02BE01", "对乙酰氨基酚片"),
                        address_id=listed.json()[0]["id"])
    assert again.status_code == 201 and again.json()["address_detail"] == ADDRESS["detail"]
    assert await world.db.scalar(select(func.count()).select_from(DeliveryAddress)) == 1


async def test_a_source_is_fulfilled_once_until_cancelled(client, world, pharmacy):
    refill = await pharmacy.refill()
    first = await order(client, world, pharmacy.patient_user, refill)
    second = await order(client, world, pharmacy.patient_user, refill, method="pickup")
    assert (first.status_code, second.status_code, second.json()["code"]) == (201, 409, "already_ordered")
    cancelled = await act(client, world, pharmacy.patient_user, first.json()["id"], "cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["charge_status"] == "cancelled"
    assert (await order(client, world, pharmacy.patient_user, refill, method="pickup")).status_code == 201


async def test_what_is_not_dispensable_cannot_be_ordered(client, world, pharmacy):
    refill = await pharmacy.refill()
    refill.status = "stopped"  # the doctor stopped it
    await world.db.flush()
    refused = await order(client, world, pharmacy.patient_user, refill)
    missing = await client.post("/api/v1/delivery/orders", headers=await world.token(pharmacy.patient_user),
                                json={"source_kind": "medication", "source_id": 999_999, "method": "pickup"})
    unknown_kind = await client.post("/api/v1/delivery/orders", headers=await world.token(pharmacy.patient_user),
                                     json={"source_kind": "spaceship", "source_id": refill.id, "method": "pickup"})
    assert (refused.status_code, missing.status_code) == (409, 409)
    assert refused.json()["code"] == missing.json()["code"] == "not_dispensable"
    assert unknown_kind.status_code == 422


async def test_a_bad_address_is_refused_and_nothing_is_kept(client, world, pharmacy):
    refused = await order(client, world, pharmacy.patient_user, await pharmacy.refill(),
                          address={**ADDRESS, "phone": "call me"})
    assert refused.status_code == 422 and refused.json()["details"]["field"] == "phone"
    assert await world.db.scalar(select(func.count()).select_from(Charge)) == 0
    assert await world.db.scalar(select(func.count()).select_from(DeliveryAddress)) == 0


async def test_pickup_is_handed_over_only_against_the_patients_code(client, world, pharmacy):
    refill = await pharmacy.refill()
    made = await paid_order(client, world, pharmacy, refill, method="pickup")
    code = made["pickup_code"]
    assert code and len(code) == 6 and made["fees_fen"] == 0
    staff_view = await get(client, world, pharmacy.pharmacist, made["id"])
    assert staff_view["pickup_code"] is None  # the pharmacy checks it, it does not read it
    assert (await act(client, world, pharmacy.pharmacist, made["id"], "prepare")).json()["state"] == "ready_for_pickup"
    wrong = await act(client, world, pharmacy.pharmacist, made["id"], "hand_over",
                      pickup_code="000000" if code != "000000" else "111111")
    assert wrong.status_code == 422 and wrong.json()["details"]["field"] == "pickup_code"
    done = await act(client, world, pharmacy.pharmacist, made["id"], "hand_over", pickup_code=code)
    assert done.status_code == 200 and done.json()["state"] == "picked_up"
    await world.db.refresh(refill)
    assert refill.status == "active"  # the source was told: dispensed
    assert (await get(client, world, pharmacy.patient_user, made["id"]))["pickup_code"] is None


async def test_cancelling_a_paid_order_refunds_it_but_not_after_packing(client, world, pharmacy):
    made = await paid_order(client, world, pharmacy)
    by_pharmacy = await act(client, world, pharmacy.pharmacist, made["id"], "cancel")
    assert by_pharmacy.status_code == 422  # the pharmacy must say why
    cancelled = await act(client, world, pharmacy.patient_user, made["id"], "cancel", reason="家人已在药店取药")
    body = cancelled.json()
    assert (body["state"], body["charge_status"], body["refunded_fen"]) == ("cancelled", "refunded", 6700)
    assert [row["action"] for row in body["timeline"]] == ["place", "pay", "cancel", "refund"]
    packed = await paid_order(client, world, pharmacy)
    await act(client, world, pharmacy.pharmacist, packed["id"], "pack")
    late = await act(client, world, pharmacy.patient_user, packed["id"], "cancel")
    assert late.status_code == 409


async def test_shipping_needs_a_configured_courier_and_a_fresh_tracking_number(client, world, pharmacy):
    one, two = await paid_order(client, world, pharmacy), await paid_order(
        client, world, pharmacy, await pharmacy.refill("N02BE01", "对乙酰氨基酚片"))
    for made in (one, two):
        await act(client, world, pharmacy.pharmacist, made["id"], "pack")
    unknown = await act(client, world, pharmacy.pharmacist, one["id"], "ship", courier="pigeon",
                        tracking_number="SF0000001")
    shipped = await act(client, world, pharmacy.pharmacist, one["id"], "ship", courier="sf",
                        tracking_number="sf0000001")
    reused = await act(client, world, pharmacy.pharmacist, two["id"], "ship", courier="sf",
                       tracking_number="SF0000001")
    assert (unknown.status_code, shipped.status_code, reused.status_code) == (422, 200, 409)
    assert (shipped.json()["tracking_number"], shipped.json()["courier_name"]) == ("SF0000001", "顺丰速运")
    ship_row = shipped.json()["timeline"][-1]
    assert (ship_row["action"], ship_row["party"], ship_row["location"]) == ("ship", "pharmacy", pharmacy.county.name)


async def test_my_orders_lists_the_delivery(client, world, pharmacy):
    from carebridge.portal.mine import my_items

    made = await paid_order(client, world, pharmacy, method="pickup")
    items = await my_items(world.db, pharmacy.patient.id)
    mine = [i for i in items if i.kind == "delivery"]
    assert [(i.url, i.status) for i in mine] == [(f"/portal/deliveries/{made['id']}", "paid")]
    assert (await world.db.get(MedicationStatement, made["source_id"])).status == "intended"


async def test_a_repeated_payment_notice_moves_the_order_once(client, world, pharmacy):
    from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice

    placed = (await order(client, world, pharmacy.patient_user, await pharmacy.refill(), "pickup")).json()
    checkout = await client.post(f"/api/v1/payments/charges/{placed['charge_id']}/pay",
                                 headers=await world.token(pharmacy.patient_user))
    body = await PROVIDERS["demo"].settle(world.db, checkout.json()["reference"])
    for _ in range(3):
        sent = await client.post("/api/v1/payments/providers/demo/notify", content=body,
                                 headers={SIGNATURE_HEADER: sign_demo_notice(body)})
        assert sent.status_code == 200
    made = await get(client, world, pharmacy.patient_user, placed["id"])
    assert made["state"] == "paid" and [row["action"] for row in made["timeline"]] == ["place", "pay"]
