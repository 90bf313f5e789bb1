"""The real-name step and the link to the master patient index. Knowing someone's name and ID
number never opens their record: only the phone on file (proven by code) links at once; any other
match waits for staff where the patient is registered; a person new to the network gets a record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.auth.models import User
from carebridge.records.models import Patient, PatientLink, PatientRegistration
from tests.portal.accounts.conftest import national_id, new_phone, profile, token_for_phone


async def test_a_person_new_to_the_network_gets_a_record_at_the_internet_hospital(client, app, db, scene):
    headers = await token_for_phone(client, app, phone := new_phone())
    nid = national_id(dt.date(1990, 7, 1), "male")
    answer = await profile(client, headers, "赵新", nid)
    assert answer.status_code == 200, answer.text
    me = answer.json()
    assert me["link_status"] == "linked" and me["sex"] == "male" and me["birth_date"] == "1990-07-01"
    patient = await db.get(Patient, me["patient_id"])
    assert (patient.name, patient.national_id, patient.phone, patient.sex) == ("赵新", nid, phone, "male")
    registered = await db.scalar(select(PatientRegistration.facility_id).where(
        PatientRegistration.patient_id == patient.id))
    assert registered == scene.hospital.id
    record = await client.get(f"/api/v1/portal/patients/{patient.id}/record", headers=headers)
    assert record.status_code == 200 and record.json()["access_basis"] == "self"
    created = await db.scalar(select(AuditEvent).where(AuditEvent.patient_id == patient.id,
                                                       AuditEvent.action == "create"))
    assert created.detail["source"] == "portal_signup"


async def test_the_phone_on_file_with_name_and_id_links_at_once(client, app, scene):
    headers = await token_for_phone(client, app, scene.mother.phone)
    me = (await profile(client, headers, "李秀英", scene.mother.national_id)).json()
    assert me["link_status"] == "linked" and me["patient_id"] == scene.mother.id
    assert (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/record", headers=headers)).status_code == 200


async def test_name_and_id_without_the_phone_on_file_open_nothing_until_staff_confirm(client, app, db, world, scene):
    impostor = await token_for_phone(client, app, new_phone())
    me = (await profile(client, impostor, "李秀英", scene.mother.national_id)).json()
    assert me["link_status"] == "pending" and me["patient_id"] is None
    for path in ("record", "reports", "orders", "access-log"):
        denied = await client.get(f"/api/v1/portal/patients/{scene.mother.id}/{path}", headers=impostor)
        assert denied.status_code == 404, path

    stranger = await client.get("/api/v1/portal/link-claims", headers=await world.token(scene.other_doctor))
    assert stranger.json() == []
    town = await world.token(scene.town_doctor)
    claims = (await client.get("/api/v1/portal/link-claims", headers=town)).json()
    assert [(c["patient_id"], c["reason"], c["claimant_name"]) for c in claims] == [
        (scene.mother.id, "same_national_id", "李秀英")]
    claim_id = claims[0]["id"]
    elsewhere = await client.post(f"/api/v1/portal/link-claims/{claim_id}/confirm",
                                  headers=await world.token(scene.other_doctor))
    assert elsewhere.status_code == 404
    admin = await client.post(f"/api/v1/portal/link-claims/{claim_id}/confirm",
                              headers=await world.token(scene.town_admin))
    assert admin.status_code == 404  # administrators manage; they do not hand records to people

    confirmed = await client.post(f"/api/v1/portal/link-claims/{claim_id}/confirm", headers=town,
                                  json={"note": "核对身份证原件"})
    assert confirmed.status_code == 204
    twice = await client.post(f"/api/v1/portal/link-claims/{claim_id}/reject", headers=town)
    assert twice.status_code == 409
    me = (await client.get("/api/v1/portal/me", headers=impostor)).json()
    assert me["link_status"] == "linked" and me["patient_id"] == scene.mother.id
    assert (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/record",
                             headers=impostor)).status_code == 200
    trail = (await db.scalars(select(AuditEvent).where(AuditEvent.patient_id == scene.mother.id,
                                                       AuditEvent.action == "portal_link")
                              .order_by(AuditEvent.seq))).all()
    decisions = [e.outcome for e in trail if e.outcome not in ("allowed", "denied")]
    assert decisions == ["pending", "confirmed", "linked"]
    assert [e.actor_user_id for e in trail if e.outcome == "denied"] == [scene.other_doctor.id, scene.town_admin.id]


async def test_a_refused_claim_on_an_id_leaves_the_account_unlinked(client, app, world, scene):
    headers = await token_for_phone(client, app, new_phone())
    await profile(client, headers, "李秀英", scene.mother.national_id)
    town = await world.token(scene.town_doctor)
    claim_id = (await client.get("/api/v1/portal/link-claims", headers=town)).json()[0]["id"]
    assert (await client.post(f"/api/v1/portal/link-claims/{claim_id}/reject", headers=town)).status_code == 204
    me = (await client.get("/api/v1/portal/me", headers=headers)).json()
    assert me["link_status"] == "refused" and me["patient_id"] is None
    assert (await client.get("/api/v1/portal/link-claims", headers=town)).json() == []


async def test_a_look_alike_without_an_id_waits_and_a_refusal_makes_a_new_record(client, app, db, world, scene):
    birth = dt.date(1950, 9, 9)
    look_alike = await world.patient(scene.town, name="王芳", birth_date=birth, national_id=None, phone="")
    headers = await token_for_phone(client, app, new_phone())
    me = (await profile(client, headers, "王芳", national_id(birth))).json()
    assert me["link_status"] == "pending"
    town = await world.token(scene.town_doctor)
    claims = (await client.get("/api/v1/portal/link-claims", headers=town)).json()
    assert [(c["patient_id"], c["reason"]) for c in claims] == [(look_alike.id, "same_name_and_birth_date")]
    await client.post(f"/api/v1/portal/link-claims/{claims[0]['id']}/reject", headers=town)
    me = (await client.get("/api/v1/portal/me", headers=headers)).json()
    assert me["link_status"] == "linked" and me["patient_id"] not in (None, look_alike.id)
    remembered = await db.scalar(select(PatientLink).where(PatientLink.patient_id == me["patient_id"]))
    assert remembered.other_patient_id == look_alike.id and remembered.kind == "not_duplicate"


async def test_confirming_a_look_alike_fills_in_its_missing_id(client, app, db, world, scene):
    birth = dt.date(1948, 4, 4)
    look_alike = await world.patient(scene.town, name="张桂兰", birth_date=birth, national_id=None, phone="")
    headers = await token_for_phone(client, app, new_phone())
    nid = national_id(birth)
    await profile(client, headers, "张桂兰", nid)
    town = await world.token(scene.town_doctor)
    claim_id = (await client.get("/api/v1/portal/link-claims", headers=town)).json()[0]["id"]
    await client.post(f"/api/v1/portal/link-claims/{claim_id}/confirm", headers=town)
    await db.refresh(look_alike)
    assert look_alike.national_id == nid


async def test_a_different_id_on_file_is_a_different_person(client, app, db, world, scene):
    birth = dt.date(1960, 1, 1)
    await world.patient(scene.town, name="刘伟", birth_date=birth, sex="male", national_id=national_id(birth, "male"))
    headers = await token_for_phone(client, app, new_phone())
    me = (await profile(client, headers, "刘伟", national_id(birth, "male"))).json()
    assert me["link_status"] == "linked"


async def test_real_name_details_are_checked(client, app, scene):
    headers = await token_for_phone(client, app, new_phone())
    valid = national_id(dt.date(1980, 1, 1))
    bad_check_digit = valid[:17] + ("0" if valid[17] != "0" else "1")
    for name, nid in (("", valid), ("张三", "123"), ("张三", bad_check_digit), ("张三", "110105198002300012")):
        answer = await profile(client, headers, name, nid)
        assert answer.status_code == 422, (name, nid, answer.text)
    ok = await profile(client, headers, "张三", national_id(dt.date(1980, 1, 1)))
    assert ok.status_code == 200
    again = await profile(client, headers, "张三", national_id(dt.date(1980, 1, 1)))
    assert again.status_code == 409


async def test_the_linked_account_is_the_patient_user(client, app, db, scene):
    headers = await token_for_phone(client, app, scene.mother.phone)
    me = (await profile(client, headers, "李秀英", scene.mother.national_id)).json()
    user = await db.get(User, me["user_id"])
    assert user.patient_id == scene.mother.id and user.display_name == "李秀英"
