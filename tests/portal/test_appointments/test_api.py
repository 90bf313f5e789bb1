"""The JSON API and who may use it: anonymous, the wrong role, another facility, another patient,
and the allowed caller, for the catalogue, bookings, the facility's side and doctor's orders."""

from __future__ import annotations

from datetime import date, timedelta

from tests.portal.test_appointments.conftest import TestNet, pay

API = "/api/v1/test-appointments"
CUSTOM = {"code": "US-BREAST", "name": "乳腺超声", "name_en": "Breast ultrasound", "category": "ultrasound",
          "prep": "无需空腹。", "list_price_fen": 9000, "insured": True}


async def _book(client, world, net: TestNet, code: str, **extra) -> dict:  # noqa: ANN001
    db = world.db
    test = await net.test_at(db, net.community, code)
    headers = await world.token(net.patient_user)
    body = {"patient_id": net.patient.id, "test_id": test.id,
            "starts_at": (await net.first_slot(db, test)).starts_at.isoformat(), **extra}
    response = await client.post(f"{API}/bookings", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "pending_payment" and response.json()["charge_id"]
    await pay(world, net.patient_user, response.json()["id"])
    return (await client.get(f"{API}/bookings/{response.json()['id']}", headers=headers)).json()


async def test_anonymous_callers_are_asked_to_sign_in(client, net: TestNet) -> None:
    for method, path in (("get", f"{API}/codes"), ("get", f"{API}/bookings/1"), ("post", f"{API}/bookings"),
                         ("post", f"{API}/facilities/{net.community.id}/tests"),
                         ("get", f"{API}/facilities/{net.community.id}/bookings")):
        response = await client.request(method.upper(), path, json={})
        assert response.status_code == 401, path


async def test_only_the_facilitys_administrators_edit_its_catalogue(client, world, net: TestNet) -> None:
    path = f"{API}/facilities/{net.community.id}/tests"
    for user in (net.county_admin, net.community_tech, net.patient_user):
        response = await client.post(path, json=CUSTOM, headers=await world.token(user))
        assert response.status_code == 403, user.username
    admin = await world.token(net.community_admin)
    created = await client.post(path, json=CUSTOM, headers=admin)
    assert created.status_code == 201
    test = created.json()
    assert (test["modality"], test["body_part"], test["hours"]) == ("US", "BREAST", [])
    assert (await client.post(path, json=CUSTOM, headers=admin)).json()["code"] == "duplicate_test"
    hours = [{"weekdays": "135", "opens": "08:00", "closes": "10:00", "block_minutes": 30, "capacity": 2}]
    other = await world.token(net.county_admin)
    assert (await client.put(f"{API}/tests/{test['id']}/hours", json=hours, headers=other)).status_code == 403
    cheaper = await client.patch(f"{API}/tests/{test['id']}", json={"list_price_fen": 1}, headers=other)
    assert cheaper.status_code == 403
    published = await client.put(f"{API}/tests/{test['id']}/hours", json=hours, headers=admin)
    assert published.json()["hours"] == [{**hours[0]}]
    hidden = await client.patch(f"{API}/tests/{test['id']}", json={"active": False}, headers=admin)
    assert hidden.json()["active"] is False
    everyone = await client.get(path, headers=await world.token(net.patient_user))
    assert "US-BREAST" not in {t["code"] for t in everyone.json()}
    mine = await client.get(path, params={"include_inactive": True}, headers=admin)
    assert "US-BREAST" in {t["code"] for t in mine.json()}


async def test_catalogue_codes_are_checked(client, world, net: TestNet) -> None:
    path, admin = f"{API}/facilities/{net.community.id}/tests", await world.token(net.community_admin)
    for bad in ({**CUSTOM, "code": "1558-5", "category": "lab"}, {**CUSTOM, "code": "CT-HEAD"},
                {**CUSTOM, "category": "scan"}, {**CUSTOM, "code": "X"}):
        response = await client.post(path, json=bad, headers=admin)
        assert response.status_code == 422, bad
    overlap = [{"weekdays": "1", "opens": "08:00", "closes": "10:00", "capacity": 1},
               {"weekdays": "12", "opens": "09:30", "closes": "11:00", "capacity": 1}]
    test = await net.test_at(world.db, net.community, "ECG")
    assert (await client.put(f"{API}/tests/{test.id}/hours", json=overlap, headers=admin)).status_code == 422


async def test_offers_show_the_discount_and_the_saving(client, world, net: TestNet) -> None:
    response = await client.get(f"{API}/offers", params={"code": "ECG", "patient_id": net.patient.id},
                                headers=await world.token(net.patient_user))
    community, county = response.json()
    assert community["facility_id"] == net.community.id and community["price"]["self_pay_fen"] == 2250
    assert community["saving_fen"] == 250 and community["compared_with_facility_id"] == net.county.id
    assert county["price"] == {"list_fen": 2500, "discount_fen": 0, "insurance_fen": 0, "self_pay_fen": 2500,
                               "rules": []}
    other = await client.get(f"{API}/offers", params={"code": "ECG", "patient_id": net.patient.id},
                             headers=await world.token(net.other_user))
    assert other.status_code == 404


async def test_a_booking_is_seen_and_cancelled_only_by_its_patient_and_facility(client, world, net: TestNet) -> None:
    booking = await _book(client, world, net, "58410-2")
    assert booking["state"] == "booked" and booking["allowed_actions"] == ["cancel"]
    path = f"{API}/bookings/{booking['id']}"
    for user in (net.other_user, net.outsider, net.county_admin, net.community_admin, net.county_doctor):
        headers = await world.token(user)
        assert (await client.get(path, headers=headers)).status_code == 404, user.username
        assert (await client.post(f"{path}/cancel", json={"reason": "nope"}, headers=headers)).status_code == 404
        assert (await client.post(f"{path}/check-in", headers=headers)).status_code == 404
    assert (await client.get(f"{API}/bookings", params={"patient_id": net.patient.id},
                             headers=await world.token(net.other_user))).status_code == 404
    staff = await client.get(path, headers=await world.token(net.community_nurse))
    assert staff.status_code == 200 and set(staff.json()["allowed_actions"]) == {"check_in", "cancel"}
    listed = await client.get(f"{API}/bookings", params={"patient_id": net.patient.id},
                              headers=await world.token(net.patient_user))
    assert [b["id"] for b in listed.json()] == [booking["id"]]
    cancelled = await client.post(f"{path}/cancel", json={"reason": "出差"},
                                  headers=await world.token(net.patient_user))
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["allowed_actions"] == []


async def test_a_patient_cannot_book_for_another_patient(client, world, net: TestNet) -> None:
    test = await net.test_at(world.db, net.community, "58410-2")
    body = {"patient_id": net.patient.id, "test_id": test.id,
            "starts_at": (await net.first_slot(world.db, test)).starts_at.isoformat()}
    response = await client.post(f"{API}/bookings", json=body, headers=await world.token(net.other_user))
    assert response.status_code == 404


async def test_the_facility_checks_in_and_enters_results_which_the_patient_reads(client, world, net: TestNet) -> None:
    booking = await _book(client, world, net, "1558-6")
    path, tech = f"{API}/bookings/{booking['id']}", await world.token(net.community_tech)
    assert (await client.post(f"{path}/check-in", headers=await world.token(net.patient_user))).status_code == 403
    checked = await client.post(f"{path}/check-in", headers=tech)
    assert checked.json()["state"] == "checked_in" and checked.json()["lab_order_id"]
    bad = await client.post(f"{path}/results", json={"results": [{"code": "4548-4", "value": 6}]}, headers=tech)
    assert bad.status_code == 422
    done = await client.post(f"{path}/results", json={"results": [{"code": "1558-6", "value": 7.4}]}, headers=tech)
    assert done.status_code == 200 and done.json()["state"] == "resulted"
    mine = (await client.get(path, headers=await world.token(net.patient_user))).json()
    assert [(r["code"], r["value"], r["unit"], r["interpretation"]) for r in mine["results"]] == [
        ("1558-6", 7.4, "mmol/L", "H")]
    timeline = await client.get(f"/api/v1/patients/{net.patient.id}/timeline",
                                headers=await world.token(net.patient_user))
    assert any(e["code"] == "1558-6" and e["id"] == mine["results"][0]["entry_id"] for e in timeline.json()["items"])


async def test_the_days_list_is_only_for_the_facilitys_staff(client, world, net: TestNet) -> None:
    booking = await _book(client, world, net, "58410-2")
    day = booking["starts_at"][:10]
    path = f"{API}/facilities/{net.community.id}/bookings"
    for user in (net.outsider, net.community_admin, net.patient_user):
        assert (await client.get(path, params={"day": day}, headers=await world.token(user))).status_code == 403
    rows = []
    for shown in (day, (date.fromisoformat(day) + timedelta(days=1)).isoformat()):  # local day vs UTC date
        rows += (await client.get(path, params={"day": shown}, headers=await world.token(net.community_tech))).json()
    assert [(r["id"], r["patient_name"]) for r in rows] == [(booking["id"], net.patient.name)]


async def test_doctors_orders_come_from_doctors_with_the_record(client, world, net: TestNet) -> None:
    body = {"patient_id": net.patient.id, "code": "CT-HEAD", "reason": "反复头痛"}
    path = f"{API}/doctor-orders"
    assert (await client.post(path, json=body, headers=await world.token(net.patient_user))).status_code == 403
    assert (await client.post(path, json=body, headers=await world.token(net.county_doctor))).status_code == 404
    from carebridge.records.models import PatientRegistration

    world.db.add(PatientRegistration(patient_id=net.patient.id, facility_id=net.county.id, mrn="C-7"))
    await world.db.flush()
    created = await client.post(path, json=body, headers=await world.token(net.county_doctor))
    assert created.status_code == 201 and created.json()["state"] == "open"
    mine = await client.get(path, params={"patient_id": net.patient.id}, headers=await world.token(net.patient_user))
    assert [o["code"] for o in mine.json()] == ["CT-HEAD"]
    theirs = await client.get(path, params={"patient_id": net.patient.id}, headers=await world.token(net.other_user))
    assert theirs.status_code == 404
