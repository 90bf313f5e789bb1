"""The JSON API end to end, and who may do what: anonymous, another patient, a nurse the visit was
never offered to, another facility's coordinator, a doctor, and the people the order concerns."""

from __future__ import annotations

from tests.portal.home_nursing import helpers
from tests.portal.home_nursing.scene import NEAR_BASE, PATIENT_AT

API = "/api/v1/nursing"


def booking_body(scene, patient=None, service: str = "wound_dressing") -> dict:  # noqa: ANN001
    return {"patient_id": (patient or scene.patient).id, "service_id": scene.services[service].id,
            "address": "长治市潞州区英雄中路88号", "latitude": PATIENT_AT[0], "longitude": PATIENT_AT[1],
            "day": scene.day.isoformat(), "window": "afternoon", "contact_phone": "13800000000"}


async def _headers(scene, *users) -> list[dict]:  # noqa: ANN001
    return [await scene.world.token(u) for u in users]


async def test_a_whole_visit_through_the_api(client, scene) -> None:  # noqa: ANN001
    patient, nurse, coordinator = await _headers(scene, scene.patient_user, scene.nurse_a, scene.coordinator)
    booked = await client.post(f"{API}/orders", json=booking_body(scene), headers=patient)
    assert booked.status_code == 201, booked.text
    order_id = booked.json()["id"]
    assert booked.json()["allowed_actions"] == ["cancel"]
    board = (await client.get(f"{API}/visits", headers=nurse)).json()
    assert [o["id"] for o in board["to_assess"]] == [order_id]
    assessed = await client.post(f"{API}/orders/{order_id}/assessment", headers=nurse, json={
        "fall_risk": "low", "infection_risk": "low", "home_environment": "suitable", "outcome": "accept",
        "limits": {"spo2_min": 90}})
    assert assessed.json()["state"] == "assessed", assessed.text
    charge_id = assessed.json()["charge_id"]
    unpaid = await client.post(f"{API}/orders/{order_id}/dispatch", headers=coordinator, json={})
    assert unpaid.status_code == 409 and unpaid.json()["code"] == "unpaid"
    charge = (await client.get(f"/api/v1/payments/charges/{charge_id}", headers=patient)).json()
    assert charge["purpose"] == "nursing" and charge["total_fen"] == 12000
    checkout = (await client.post(f"/api/v1/payments/charges/{charge_id}/pay", headers=patient)).json()
    assert (await client.post(checkout["redirect_url"], headers=patient)).status_code == 303  # the demo provider
    paid = (await client.get(f"{API}/orders/{order_id}", headers=patient)).json()
    assert paid["paid_at"] and paid["events"][-1]["action"] == "paid"
    ranked = (await client.get(f"{API}/orders/{order_id}/candidates", headers=coordinator)).json()
    assert ranked[0]["user_id"] == scene.nurse_a.id and ranked[0]["qualified"] and ranked[0]["available"]
    assert ranked[-1]["problems"] == ["Lacks the credential: Wound care nurse"]
    sent = await client.post(f"{API}/orders/{order_id}/dispatch", headers=coordinator, json={})
    assert sent.json()["state"] == "dispatched"
    assert (await client.post(f"{API}/orders/{order_id}/accept", headers=nurse)).json()["state"] == "accepted"
    here = {"latitude": PATIENT_AT[0], "longitude": PATIENT_AT[1], "accuracy_m": 12}
    checked_in = await client.post(f"{API}/orders/{order_id}/check-in", headers=nurse, json=here)
    assert checked_in.json()["state"] == "checked_in", checked_in.text
    record = await client.put(f"{API}/orders/{order_id}/record", headers=nurse, json={
        "procedures": ["Wound cleaned"], "vitals": {"spo2": 88, "systolic": 130}})
    assert record.json()["flags"] == ["spo2_min"]
    photo = await client.post(f"{API}/orders/{order_id}/photos", headers=nurse,
                              files={"file": ("wound.png", helpers.PNG, "image/png")})
    assert photo.status_code == 201, photo.text
    content = await client.get(f"/api/v1/documents/{photo.json()['document_id']}/content", headers=patient)
    assert content.status_code == 200 and content.content == helpers.PNG  # in the patient's own record
    out = await client.post(f"{API}/orders/{order_id}/check-out", headers=nurse,
                            json={"latitude": NEAR_BASE[0], "longitude": NEAR_BASE[1]})
    assert out.json()["state"] == "checked_out"
    rated = await client.post(f"{API}/orders/{order_id}/rating", headers=patient, json={"stars": 4, "comment": "好"})
    assert rated.json()["state"] == "completed" and rated.json()["rating"] == 4
    timeline = (await client.get(f"{API}/orders/{order_id}", headers=patient)).json()["events"]
    assert [e["action"] for e in timeline][-3:] == ["photo", "check_out", "rate"]
    check_in = next(e for e in timeline if e["action"] == "check_in")
    assert check_in["latitude"] == PATIENT_AT[0] and check_in["distance_m"] == 0


async def test_refusal_explains_itself(client, scene) -> None:  # noqa: ANN001
    (young,) = await _headers(scene, scene.young_user)
    refused = await client.post(f"{API}/orders", json=booking_body(scene, scene.young), headers=young)
    assert refused.status_code == 422 and refused.json()["code"] == "not_eligible"
    assert "65" in refused.json()["message"]
    eligibility = (await client.get(f"{API}/eligibility", params={"patient_id": scene.young.id}, headers=young)).json()
    assert eligibility["eligible"] is False and eligibility["grounds"][0]["text"].startswith("Aged 40")


async def test_who_sees_an_order(client, scene) -> None:  # noqa: ANN001
    order = await helpers.book(scene)
    url = f"{API}/orders/{order.id}"
    assert (await client.get(url)).status_code == 401
    stranger_doctor = await scene.world.user(("doctor", scene.other_facility.id))
    allowed = [scene.patient_user, scene.coordinator, scene.nurse_a]  # nurse_a assesses
    refused = [scene.young_user, scene.nurse_b, scene.nurse_c, scene.other_coordinator, scene.other_nurse,
               scene.doctor, stranger_doctor]
    for user in allowed:
        response = await client.get(url, headers=await scene.world.token(user))
        assert response.status_code == 200 and response.json()["address"], user.username
    for user in refused:
        response = await client.get(url, headers=await scene.world.token(user))
        assert response.status_code == 404, user.username
        assert "英雄" not in response.text
    other_list = await client.get(f"{API}/orders", params={"patient_id": scene.patient.id},
                                  headers=await scene.world.token(scene.young_user))
    assert other_list.status_code == 404


async def test_a_nurse_sees_only_what_was_offered_to_them(client, scene, db) -> None:  # noqa: ANN001
    from carebridge.portal.home_nursing import dispatch

    order = await helpers.assessed(scene)
    url = f"{API}/orders/{order.id}"
    b, c, a = await _headers(scene, scene.nurse_b, scene.nurse_c, scene.nurse_a)
    assert (await client.get(url, headers=b)).status_code == 404
    await dispatch.dispatch(db, await scene.p(scene.coordinator), order.id,
                            [scene.practitioner["a"], scene.practitioner["b"]])
    assert (await client.get(url, headers=b)).json()["allowed_actions"] == ["accept"]
    assert (await client.get(url, headers=c)).status_code == 404
    assert (await client.post(f"{url}/accept", headers=c)).status_code == 404
    assert (await client.post(f"{url}/accept", headers=b)).status_code == 200
    taken = await client.post(f"{url}/accept", headers=a)
    assert taken.status_code == 409 and taken.json()["code"] == "taken"
    lost = (await client.get(url, headers=a)).json()  # a is still the assessor ...
    assert lost["address"]
    board = (await client.get(f"{API}/visits", headers=a)).json()
    assert board["offers"] == [] and board["visits"] == []


async def test_a_nurse_who_lost_the_offer_keeps_no_address(client, scene, db) -> None:  # noqa: ANN001
    from carebridge.portal.home_nursing import dispatch

    order = await helpers.assessed(scene)
    await dispatch.dispatch(db, await scene.p(scene.coordinator), order.id,
                            [scene.practitioner["a"], scene.practitioner["b"]])
    await dispatch.accept(db, await scene.p(scene.nurse_a), order.id)
    (b,) = await _headers(scene, scene.nurse_b)
    seen = await client.get(f"{API}/orders/{order.id}", headers=b)
    assert seen.status_code == 200 and seen.json()["address"] == "" and seen.json()["latitude"] is None
    assert seen.json()["allowed_actions"] == []


async def test_another_facilitys_coordinator_cannot_act(client, scene) -> None:  # noqa: ANN001
    order = await helpers.assessed(scene)
    other, patient, nurse = await _headers(scene, scene.other_coordinator, scene.patient_user, scene.nurse_a)
    assert (await client.post(f"{API}/orders/{order.id}/dispatch", headers=other, json={})).status_code == 404
    assert (await client.get(f"{API}/orders/{order.id}/candidates", headers=other)).status_code == 404
    assert (await client.get(f"{API}/facilities/{scene.facility.id}/desk", headers=other)).status_code == 404
    assert (await client.post(f"{API}/orders/{order.id}/actions/refuse", headers=other,
                              json={"reason": "不在服务范围"})).status_code == 404
    assert (await client.post(f"{API}/orders/{order.id}/dispatch", headers=patient, json={})).status_code == 403
    assert (await client.get(f"{API}/orders/{order.id}/candidates", headers=nurse)).status_code == 403
    assert (await client.post(f"{API}/facilities/{scene.facility.id}/services/starter",
                              headers=other)).status_code == 403


async def test_sos_reaches_the_coordinators_who_must_acknowledge(client, scene, db) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from carebridge.notifications.models import Notification

    order = await helpers.checked_in(scene)
    nurse, coordinator, other, patient = await _headers(scene, scene.nurse_a, scene.coordinator,
                                                        scene.other_coordinator, scene.patient_user)
    assert (await client.post(f"{API}/sos", headers=patient, json={})).status_code == 403
    raised = await client.post(f"{API}/sos", headers=nurse, json={
        "latitude": PATIENT_AT[0], "longitude": PATIENT_AT[1], "accuracy_m": 8, "note": "患者家属情绪激动"})
    assert raised.status_code == 201 and raised.json()["order_id"] == order.id
    sos_id = raised.json()["id"]
    alert = await db.scalar(select(Notification).where(Notification.user_id == scene.coordinator.id,
                                                       Notification.kind == "home_nursing_sos"))
    assert alert is not None and "36.20000" in alert.body and alert.link == f"/nursing/sos/{sos_id}"
    assert [a["id"] for a in (await client.get(f"{API}/facilities/{scene.facility.id}/sos",
                                               headers=coordinator)).json()] == [sos_id]
    assert (await client.post(f"{API}/sos/{sos_id}/acknowledge", headers=other, json={})).status_code == 404
    done = await client.post(f"{API}/sos/{sos_id}/acknowledge", headers=coordinator, json={"note": "已电话联系"})
    assert done.status_code == 200 and done.json()["acknowledged_by_id"] == scene.coordinator.id
    again = await client.post(f"{API}/sos/{sos_id}/acknowledge", headers=coordinator, json={})
    assert again.status_code == 409
    assert (await client.get(f"{API}/facilities/{scene.facility.id}/sos", headers=coordinator)).json() == []


async def test_unacknowledged_sos_is_sent_again(scene, db) -> None:  # noqa: ANN001
    import datetime as dt

    from carebridge.kit.clock import utcnow
    from carebridge.portal.home_nursing import sos

    await sos.raise_sos(db, await scene.p(scene.nurse_a), note="跌倒")  # no position: still raised
    later = utcnow() + dt.timedelta(minutes=6)
    assert await sos.remind_unacknowledged(db, utcnow()) == 0
    assert await sos.remind_unacknowledged(db, later) == 1
    assert await sos.remind_unacknowledged(db, later) == 0


async def test_complaints_go_to_the_facility_which_answers(client, scene) -> None:  # noqa: ANN001
    order = await helpers.checked_out(scene)
    patient, young, coordinator, other = await _headers(scene, scene.patient_user, scene.young_user,
                                                        scene.coordinator, scene.other_coordinator)
    text = {"text": "护士迟到了一个小时，也没有提前打电话"}
    assert (await client.post(f"{API}/orders/{order.id}/complaints", headers=young, json=text)).status_code == 404
    made = await client.post(f"{API}/orders/{order.id}/complaints", headers=patient, json=text)
    assert made.status_code == 201
    listed = (await client.get(f"{API}/facilities/{scene.facility.id}/complaints", headers=coordinator)).json()
    assert [c["id"] for c in listed] == [made.json()["id"]]
    answer = {"text": "非常抱歉，已对护士进行提醒，下次提前联系"}
    url = f"{API}/complaints/{made.json()['id']}/response"
    assert (await client.post(url, headers=other, json=answer)).status_code == 404
    answered = await client.post(url, headers=coordinator, json=answer)
    assert answered.status_code == 200 and answered.json()["responded_at"]


async def test_catalogue_is_managed_by_the_facility(client, scene) -> None:  # noqa: ANN001
    coordinator, patient = await _headers(scene, scene.coordinator, scene.patient_user)
    services = (await client.get(f"{API}/facilities/{scene.facility.id}/services", headers=patient)).json()
    assert {s["code"] for s in services} >= {"infusion", "catheter_placement", "ostomy_care", "wound_dressing",
                                              "injection", "maternal_newborn"}
    wound = next(s for s in services if s["code"] == "wound_dressing")
    body = {k: wound[k] for k in ("code", "name", "name_en", "description", "duration_minutes",
                                   "required_credential", "min_years", "insured", "active")}
    changed = await client.put(f"{API}/services/{wound['id']}", headers=coordinator, json={**body, "price_fen": 9900})
    assert changed.json()["price_fen"] == 9900
    bad = await client.put(f"{API}/services/{wound['id']}", headers=coordinator,
                           json={**body, "price_fen": 9900, "required_credential": "astrology"})
    assert bad.status_code == 422
    assert (await client.put(f"{API}/services/{wound['id']}", headers=patient,
                             json={**body, "price_fen": 1})).status_code == 403
    nurses = (await client.get(f"{API}/facilities/{scene.facility.id}/nurses", headers=coordinator)).json()
    a = next(n for n in nurses if n["user_id"] == scene.nurse_a.id)
    assert {c["credential"] for c in a["credentials"]} == {"assessor", "wound", "iv_therapy"} and a["years"] == 10
