"""Refills: the patient asks, a doctor of the prescribing facility approves (a new prescription that a
pharmacist reviews), edits then approves, or declines; refusals say why."""

from __future__ import annotations

from sqlalchemy import select

from carebridge.notifications.models import Notification
from carebridge.portal.mine import my_items
from carebridge.portal.pharmacy import dispensing, mine, refills  # noqa: F401 - mine registers its source
from carebridge.portal.pharmacy.models import Prescription
from carebridge.records.models import MedicationStatement
from tests.portal.pharmacy.conftest import age_out, approve, line, write


async def _ask(client, world, net, prescription_id: int, user=None):  # noqa: ANN001, ANN202
    return await client.post(f"/api/v1/prescriptions/{prescription_id}/refill-requests",
                             json={"note": "药快吃完了"}, headers=await world.token(user or net.patient_user))


async def _decide(client, world, user, request_id: int, action: str, **body):  # noqa: ANN001, ANN202
    return await client.post(f"/api/v1/prescriptions/refill-requests/{request_id}/{action}",
                             json=body or None, headers=await world.token(user))


async def _dispensed_order(world, net, **kw) -> Prescription:  # noqa: ANN001
    order = await write(world, net, **kw)
    await approve(world, net, order)
    await dispensing.mark_dispensed(world.db, order.id)
    return order


async def test_a_refill_that_the_doctor_and_the_pharmacist_approve(client, world, net):
    order = await _dispensed_order(world, net)
    asked = await _ask(client, world, net, order.id)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["state"], request["prescription_id"], request["facility_id"]) == (
        "requested", order.id, net.township.id)
    told = (await world.db.scalars(select(Notification.user_id)
                                   .where(Notification.link.like("/prescriptions/refills/%")))).all()
    assert told == [net.doctor.id]  # the prescriber

    inbox = await client.get("/api/v1/prescriptions/refill-requests", headers=await world.token(net.doctor2))
    assert [r["id"] for r in inbox.json()["items"]] == [request["id"]]
    approved = await _decide(client, world, net.doctor2, request["id"], "approve")
    assert approved.status_code == 200, approved.text
    new_id = approved.json()["new_prescription_id"]
    assert approved.json()["state"] == "approved" and new_id is not None

    queue = await client.get("/api/v1/pharmacy/review", headers=await world.token(net.pharmacist))
    assert new_id in [p["id"] for p in queue.json()["items"]]
    refill = (await client.get(f"/api/v1/prescriptions/{new_id}", headers=await world.token(net.pharmacist))).json()
    assert refill["refill_of_id"] == order.id and refill["refills_allowed"] == 0
    assert [i["drug_code"] for i in refill["items"]] == ["amlodipine-5mg-tab", "atorvastatin-20mg-tab"]
    # The order's own medication is not a duplicate of itself.
    assert not [c for c in refill["checks"] if c["kind"] == "duplicate"]
    done = await client.post(f"/api/v1/prescriptions/{new_id}/actions/approve",
                             headers=await world.token(net.pharmacist))
    assert done.json()["state"] == "approved"

    await world.db.refresh(order)
    assert order.refills_used == 1
    ready = await dispensing.dispensable_prescription(world.db, new_id)
    assert ready is not None and [line.code for line in ready.lines] == ["amlodipine-5mg-tab", "atorvastatin-20mg-tab"]
    listed = await client.get(f"/api/v1/prescriptions?patient_id={net.patient.id}",
                              headers=await world.token(net.patient_user))
    assert {p["id"]: p["state"] for p in listed.json()["items"]} == {new_id: "approved", order.id: "dispensed"}
    statuses = (await world.db.execute(select(MedicationStatement.code, MedicationStatement.status)
                                       .where(MedicationStatement.code == "C08CA01")
                                       .execution_options(populate_existing=True))).all()
    assert sorted(s for _, s in statuses) == ["active", "completed"]  # the refill took over


async def test_edit_then_approve_writes_the_edited_lines(client, world, net):
    order = await _dispensed_order(world, net)
    request = (await _ask(client, world, net, order.id)).json()
    edited = await _decide(client, world, net.doctor, request["id"], "approve",
                           items=[line(dose=10, days=28)], note="血压控制欠佳，加量")
    assert edited.status_code == 200, edited.text
    refill = (await client.get(f"/api/v1/prescriptions/{edited.json()['new_prescription_id']}",
                               headers=await world.token(net.doctor))).json()
    assert [(i["drug_code"], i["dose"], i["quantity"]) for i in refill["items"]] == [("amlodipine-5mg-tab", 10, 2)]
    assert refill["versions"][0]["note"] == "血压控制欠佳，加量"


async def test_decline_needs_a_reason_and_tells_the_patient(client, world, net):
    order = await _dispensed_order(world, net)
    request = (await _ask(client, world, net, order.id)).json()
    assert (await _decide(client, world, net.doctor, request["id"], "decline")).status_code == 422
    declined = await _decide(client, world, net.doctor, request["id"], "decline", reason="请先来门诊复查血压")
    assert declined.json()["state"] == "declined" and declined.json()["reason"] == "请先来门诊复查血压"
    told = (await world.db.scalars(select(Notification.user_id).where(Notification.title.like("%refill%")))).all()
    assert net.patient_user.id in told
    await world.db.refresh(order)
    assert order.refills_used == 0  # a declined request uses no refill
    again = await _ask(client, world, net, order.id)
    assert again.status_code == 201  # and the patient may ask again


async def test_refusals_say_why(client, world, net):
    pending = await write(world, net)
    refused = await _ask(client, world, net, pending.id)
    assert (refused.status_code, refused.json()["code"]) == (409, "not_approved")

    acute = await write(world, net, kind="acute", refills_allowed=0, items=[line(days=3)])
    await approve(world, net, acute)
    refused = await _ask(client, world, net, acute.id)
    assert (refused.status_code, refused.json()["code"]) == (409, "not_refillable")
    assert "cannot be refilled" in refused.json()["message"]

    twice = await _dispensed_order(world, net, refills_allowed=2)
    for n in range(2):
        asked = (await _ask(client, world, net, twice.id)).json()
        waiting = await _ask(client, world, net, twice.id)
        assert (waiting.status_code, waiting.json()["code"]) == (409, "refill_waiting")
        await _decide(client, world, net.doctor, asked["id"], "approve")
        under_way = await _ask(client, world, net, twice.id)
        # While the refill is prepared no other is taken; once both are used, that is the reason given.
        assert under_way.json()["code"] == ("refill_in_progress" if n == 0 else "no_refills_left")
        refill = await world.db.scalar(select(Prescription).where(Prescription.refill_of_id == twice.id,
                                                                  Prescription.state == "pending_review"))
        await approve(world, net, refill)
        await dispensing.mark_dispensed(world.db, refill.id)
    none_left = await _ask(client, world, net, refill.id)  # asked on a refill: counted on the original order
    assert (none_left.status_code, none_left.json()["code"]) == (409, "no_refills_left")

    old = await _dispensed_order(world, net)
    await age_out(world.db, old, days=31)
    expired = await _ask(client, world, net, old.id)
    assert (expired.status_code, expired.json()["code"]) == (409, "prescription_expired")


async def test_approving_a_decided_request_again_is_a_409(client, world, net):
    order = await _dispensed_order(world, net)
    request = (await _ask(client, world, net, order.id)).json()
    assert (await _decide(client, world, net.doctor, request["id"], "approve")).status_code == 200
    again = await _decide(client, world, net.doctor2, request["id"], "approve")
    assert again.status_code == 409
    made = (await world.db.scalars(select(Prescription.id).where(Prescription.refill_of_id == order.id))).all()
    assert len(made) == 1


async def test_the_patient_can_withdraw_a_waiting_request(client, world, net):
    order = await _dispensed_order(world, net)
    request = (await _ask(client, world, net, order.id)).json()
    withdrawn = await _decide(client, world, net.patient_user, request["id"], "cancel")
    assert withdrawn.json()["state"] == "cancelled"
    assert (await _ask(client, world, net, order.id)).status_code == 201


async def test_my_orders_lists_the_prescriptions_and_the_refill_request(world, net):
    order = await _dispensed_order(world, net)
    pending = await write(world, net)
    await refills.request_refill(world.db, await world.principal(net.patient_user), order.id)
    items = [i for i in await my_items(world.db, net.patient.id) if i.kind in ("prescription", "refill")]
    assert {(i.kind, i.status, i.url) for i in items} == {
        ("prescription", "dispensed", f"/portal/prescriptions/{order.id}"),
        ("prescription", "pending_review", f"/portal/prescriptions/{pending.id}"),
        ("refill", "requested", f"/portal/prescriptions/{order.id}")}
    assert all("苯磺酸氨氯地平片" in i.title or "Amlodipine" in i.title for i in items if i.kind == "prescription")
