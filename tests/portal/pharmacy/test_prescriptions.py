"""Writing a prescription through the API: the checks it runs, where it is reviewed, the record's
medication statements, the pharmacist's decision and the doctor's revision."""

from __future__ import annotations

from sqlalchemy import select

from carebridge.notifications.models import Notification
from carebridge.records.models import MedicationStatement
from tests.portal.pharmacy.conftest import chronic_body, line


async def _write(client, world, net, body=None, user=None):  # noqa: ANN001, ANN202
    response = await client.post("/api/v1/prescriptions", json=body or chronic_body(net),
                                 headers=await world.token(user or net.doctor))
    assert response.status_code == 201, response.text
    return response.json()


async def _statements(db, patient_id: int) -> dict[str, tuple[str, bool]]:  # noqa: ANN001
    rows = (await db.execute(select(MedicationStatement.code, MedicationStatement.status,
                                    MedicationStatement.voided_at).where(MedicationStatement.patient_id == patient_id)
                             .execution_options(populate_existing=True))).all()
    return {f"{code}:{n}": (status, voided is not None) for n, (code, status, voided) in enumerate(rows)}


async def test_a_township_prescription_is_reviewed_at_the_county_with_the_checks(client, world, net):
    made = await _write(client, world, net)
    assert made["state"] == "pending_review" and made["dispensing_facility_id"] == net.county.id
    assert made["kind"] == "chronic" and made["refills_allowed"] == 2 and made["version_no"] == 1
    assert [i["drug_code"] for i in made["items"]] == ["amlodipine-5mg-tab", "atorvastatin-20mg-tab"]
    # 5 mg daily for 30 days from 28-tablet boxes: two boxes; the suggestion is used when no quantity is given.
    assert [i["quantity"] for i in made["items"]] == [2, 5]
    assert made["items"][0]["unit_fen"] == 260 and made["items"][0]["insured"] is True
    assert made["checks"] == [] and made["check_level"] == ""
    notes = (await world.db.scalars(select(Notification.user_id).where(Notification.kind == "prescription"))).all()
    assert set(notes) == {net.pharmacist.id, net.pharmacist2.id}


async def test_the_checks_find_allergy_interaction_dose_duplicate_and_age(client, world, net):
    body = chronic_body(net, kind="acute", refills_allowed=0, items=[
        line("amoxicillin-500mg-cap", 500, "tid", 7),  # penicillin allergy (high): contraindicated
        line("ibuprofen-sr-300mg-cap", 1200, "bid", 5),  # 2400 mg ok; with aspirin: interaction; 68 y: age caution
        line("celecoxib-200mg-cap", 400, "bid", 5),  # two NSAIDs; 800 mg a day is above 400
    ])
    made = await _write(client, world, net, body)
    found = {(c["kind"], c["severity"]) for c in made["checks"]}
    assert ("allergy", "contraindicated") in found
    assert ("interaction", "moderate") in found  # ibuprofen with low-dose aspirin (active in the record)
    assert ("max_dose", "major") in found and ("duplicate", "major") in found
    assert ("age", "moderate") in found
    assert made["check_level"] == "contraindicated"
    assert made["checks"][0]["severity"] == "contraindicated"  # most severe first
    allergy = next(c for c in made["checks"] if c["kind"] == "allergy")
    assert "青霉素" in allergy["text"] and "Amoxicillin" in allergy["text"]
    dose = next(c for c in made["checks"] if c["kind"] == "max_dose")
    assert "800 mg" in dose["text"] and "400 mg" in dose["text"]
    interaction = next(c for c in made["checks"] if c["kind"] == "interaction" and "Ibuprofen" in c["text"])
    assert "30 minutes" in interaction["advice"] and interaction["source"]


async def test_a_chronic_prescription_refuses_acute_only_drugs_and_long_supplies(client, world, net):
    headers = await world.token(net.doctor)
    refused = await client.post("/api/v1/prescriptions", headers=headers, json=chronic_body(
        net, items=[line("amoxicillin-500mg-cap", 500, "tid", 7)]))
    assert refused.status_code == 422 and refused.json()["details"]["line"] == 1
    too_long = await client.post("/api/v1/prescriptions", headers=headers, json=chronic_body(
        net, kind="acute", refills_allowed=0, items=[line(days=14)]))
    assert too_long.status_code == 422 and too_long.json()["details"]["max"] == 7
    six = await client.post("/api/v1/prescriptions", headers=headers, json=chronic_body(net, items=[line()] * 6))
    assert six.status_code == 422
    acute_refills = await client.post("/api/v1/prescriptions", headers=headers,
                                      json=chronic_body(net, kind="acute", items=[line(days=3)]))
    assert acute_refills.status_code == 422 and acute_refills.json()["details"]["field"] == "refills_allowed"


async def test_the_record_shows_the_lines_as_intended_then_active(client, world, net):
    made = await _write(client, world, net)
    statements = await _statements(world.db, net.patient.id)
    assert sorted(v for k, v in statements.items() if k.startswith(("C08CA01", "C10AA05"))) == [
        ("intended", False), ("intended", False)]
    approved = await client.post(f"/api/v1/prescriptions/{made['id']}/actions/approve",
                                 headers=await world.token(net.pharmacist))
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    statements = await _statements(world.db, net.patient.id)
    assert sorted(v for k, v in statements.items() if k.startswith(("C08CA01", "C10AA05"))) == [
        ("active", False), ("active", False)]
    told = (await world.db.scalars(select(Notification.user_id).where(Notification.kind == "prescription",
                                                                      Notification.link.like("/portal/%")))).all()
    assert told == [net.patient_user.id]


async def test_returned_revised_and_approved_keeps_every_version(client, world, net):
    made = await _write(client, world, net)
    pharmacist = await world.token(net.pharmacist)
    no_reason = await client.post(f"/api/v1/prescriptions/{made['id']}/actions/return", headers=pharmacist)
    assert no_reason.status_code == 422
    returned = await client.post(f"/api/v1/prescriptions/{made['id']}/actions/return", headers=pharmacist,
                                 json={"reason": "阿托伐他汀剂量请核对，患者肝功能异常"})
    assert returned.json()["state"] == "returned" and returned.json()["allowed_actions"] == []
    told = (await world.db.scalars(select(Notification).where(Notification.link == f"/prescriptions/{made['id']}")
                                   )).all()
    assert [(n.user_id, "阿托伐他汀" in n.body) for n in told] == [(net.doctor.id, False)]  # no clinical text
    doctor_view = await client.get(f"/api/v1/prescriptions/{made['id']}", headers=await world.token(net.doctor))
    assert set(doctor_view.json()["allowed_actions"]) == {"resubmit", "cancel"}
    assert doctor_view.json()["state_reason"].startswith("阿托伐他汀")

    revised = await client.post(f"/api/v1/prescriptions/{made['id']}/versions", headers=await world.token(net.doctor),
                                json={"items": [line(), line("rosuvastatin-10mg-tab", 10, "qd")],
                                      "note": "改为瑞舒伐他汀"})
    assert revised.status_code == 200, revised.text
    body = revised.json()
    assert body["state"] == "pending_review" and body["version_no"] == 2 and body["id"] == made["id"]
    assert [v["number"] for v in body["versions"]] == [2, 1]
    assert body["versions"][1]["outcome"] == "returned" and body["versions"][1]["items"][1]["drug_code"] == (
        "atorvastatin-20mg-tab")
    statements = await _statements(world.db, net.patient.id)
    assert [v for k, v in statements.items() if k.startswith("C10AA05")] == [("intended", True)]  # voided
    assert [v for k, v in statements.items() if k.startswith("C10AA07")] == [("intended", False)]
    approved = await client.post(f"/api/v1/prescriptions/{made['id']}/actions/approve", headers=pharmacist)
    assert approved.json()["state"] == "approved" and approved.json()["versions"][0]["outcome"] == "approved"


async def test_approving_twice_in_a_row_is_a_clear_409(client, world, net):
    made = await _write(client, world, net)
    first = await client.post(f"/api/v1/prescriptions/{made['id']}/actions/approve",
                              headers=await world.token(net.pharmacist))
    second = await client.post(f"/api/v1/prescriptions/{made['id']}/actions/approve",
                               headers=await world.token(net.pharmacist2))
    assert first.status_code == 200 and second.status_code == 409
    assert second.json()["code"] == "already_reviewed" and second.json()["details"]["state"] == "approved"


async def test_cancel_needs_a_reason_and_stops_the_statements(client, world, net):
    made = await _write(client, world, net)
    headers = await world.token(net.doctor2)  # any doctor of the prescribing facility
    assert (await client.post(f"/api/v1/prescriptions/{made['id']}/actions/cancel", headers=headers)).status_code == 422
    cancelled = await client.post(f"/api/v1/prescriptions/{made['id']}/actions/cancel", headers=headers,
                                  json={"reason": "患者已在上级医院取药"})
    assert cancelled.json()["state"] == "cancelled"
    statements = await _statements(world.db, net.patient.id)
    assert sorted(v for k, v in statements.items() if k.startswith(("C08CA01", "C10AA05"))) == [
        ("stopped", False), ("stopped", False)]


async def test_the_catalogue_lists_chronic_drugs_with_prices_and_cold_chain(client, world, net):
    response = await client.get("/api/v1/pharmacy/drugs", params={"q": "胰岛素", "chronic": True},
                                headers=await world.token(net.doctor))
    drugs = response.json()
    assert len(drugs) >= 3 and all(d["cold_chain"] and d["chronic"] for d in drugs)
    everything = await client.get("/api/v1/pharmacy/drugs", headers=await world.token(net.doctor))
    assert 40 <= len(everything.json()) <= 60


async def test_lists_refuse_an_unknown_state(client, world, net):
    headers = await world.token(net.doctor)
    assert (await client.get("/api/v1/prescriptions?state=lost", headers=headers)).status_code == 422
    assert (await client.get("/api/v1/prescriptions/refill-requests?state=lost", headers=headers)).status_code == 422
    returned = await client.get("/api/v1/prescriptions?state=returned", headers=headers)
    assert returned.status_code == 200 and returned.json()["items"] == []
