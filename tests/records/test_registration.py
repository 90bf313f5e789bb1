"""Registering patients in the master index: validation, duplicate detection, record numbers,
registering a known patient elsewhere, and corrections."""

import datetime as dt

from sqlalchemy import func, select

from carebridge.records.models import Patient, PatientLink, PatientRegistration
from tests.records.conftest import audit_rows, national_id

BIRTH = dt.date(1980, 5, 17)


def _new(**kw) -> dict:
    body = {"name": "李四", "sex": "female", "birth_date": BIRTH.isoformat(), "national_id": national_id(BIRTH),
            "phone": "139 0000 1111"}
    body.update(kw)
    return {k: v for k, v in body.items() if v is not None}


async def _count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def test_register_creates_patient_with_generated_mrn_masked_in_lists(client, clinic, db):
    body = _new()
    response = await client.post("/api/v1/patients", json=body, headers=clinic.headers["doctor_a"])
    assert response.status_code == 201, response.text
    patient = response.json()
    assert patient["national_id"] == body["national_id"]  # the registering clinician may edit
    assert patient["national_id_masked"] == body["national_id"][:3] + "*" * 11 + body["national_id"][-4:]
    assert patient["phone_masked"] == "139****1111"
    assert patient["registrations"][0]["facility_id"] == clinic.a.id
    assert patient["registrations"][0]["mrn"].startswith("P")
    found = await client.get("/api/v1/patients", params={"q": "李四"}, headers=clinic.headers["doctor_a"])
    item = found.json()["items"][0]
    assert "national_id" not in item and item["national_id_masked"] == patient["national_id_masked"]
    created = await audit_rows(db, action="create", patient_id=patient["id"])
    assert created and created[-1].resource_type == "Patient" and created[-1].outcome == "allowed"


async def test_bad_national_id_check_digit_is_422_and_nothing_is_saved(client, clinic, db):
    before = await _count(db, Patient)
    nid = national_id(BIRTH)
    wrong = nid[:17] + ("0" if nid[17] != "0" else "1")
    response = await client.post("/api/v1/patients", json=_new(national_id=wrong), headers=clinic.headers["doctor_a"])
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert "check digit" in response.json()["message"]
    assert await _count(db, Patient) == before


async def test_future_birth_date_bad_sex_bad_phone_and_unknown_fields_are_refused(client, clinic):
    h = clinic.headers["doctor_a"]
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    cases = [
        _new(birth_date=tomorrow, national_id=None),
        _new(sex="alien", national_id=None),
        _new(phone="call me", national_id=None),
        _new(nickname="小李"),
        _new(sex="male"),  # the ID says female
    ]
    for body in cases:
        response = await client.post("/api/v1/patients", json=body, headers=h)
        assert response.status_code == 422, body


async def test_same_national_id_is_409_naming_the_existing_patient(client, clinic, db):
    nid = clinic.patient.national_id
    response = await client.post("/api/v1/patients", headers=clinic.headers["doctor_b"],
                                 json=_new(name="张三", sex="male", birth_date="1970-03-01", national_id=nid))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate_national_id"
    assert body["details"]["patient"]["id"] == clinic.patient.id
    assert body["details"]["patient"]["national_id_masked"] == clinic.patient.national_id_masked
    assert body["details"]["register_here"] == f"/api/v1/patients/{clinic.patient.id}/registrations"
    shown = await audit_rows(db, patient_id=clinic.patient.id, outcome="duplicate_shown")
    assert shown and shown[-1].actor_user_id == clinic.doctor_b.id
    assert nid not in str(shown[-1].detail)


async def test_possible_duplicate_must_be_confirmed_before_a_new_record(client, clinic, db):
    h = clinic.headers["doctor_b"]
    body = _new(name="张三", sex="male", birth_date="1970-03-01", national_id=None)
    before = await _count(db, Patient)
    response = await client.post("/api/v1/patients", json=body, headers=h)
    assert response.status_code == 409
    assert response.json()["code"] == "possible_duplicates"
    candidates = response.json()["details"]["candidates"]
    assert [c["id"] for c in candidates] == [clinic.patient.id]
    assert candidates[0]["reason"] == "same_name_and_birth_date"
    assert await _count(db, Patient) == before

    confirmed = await client.post("/api/v1/patients", json={**body, "confirm_not_duplicate": True}, headers=h)
    assert confirmed.status_code == 201
    link = await db.scalar(select(PatientLink).where(PatientLink.patient_id == confirmed.json()["id"]))
    assert link.kind == "not_duplicate" and link.other_patient_id == clinic.patient.id


async def test_same_phone_and_name_is_a_possible_duplicate(client, clinic, world):
    other = await world.patient(clinic.a, name="王五", birth_date=dt.date(1990, 1, 1), national_id=None,
                                phone="13912345678")
    response = await client.post("/api/v1/patients", headers=clinic.headers["doctor_a"],
                                 json=_new(name="王五", birth_date="1991-01-01", national_id=None,
                                           phone="139-1234-5678"))
    assert response.status_code == 409
    assert response.json()["details"]["candidates"][0] == {**response.json()["details"]["candidates"][0],
                                                           "id": other.id, "reason": "same_name_and_phone"}


async def test_mrn_is_unique_per_facility_but_may_repeat_elsewhere(client, clinic, db):
    taken = await db.scalar(select(PatientRegistration.mrn).where(
        PatientRegistration.patient_id == clinic.patient.id))
    clash = await client.post("/api/v1/patients", json=_new(mrn=taken), headers=clinic.headers["doctor_a"])
    assert clash.status_code == 409 and clash.json()["code"] == "duplicate_mrn"
    elsewhere = await client.post("/api/v1/patients", json=_new(mrn=taken), headers=clinic.headers["doctor_b"])
    assert elsewhere.status_code == 201
    assert elsewhere.json()["mrns"] == [taken]


async def test_clinician_with_several_facilities_must_choose_one(client, clinic, world):
    from carebridge.auth.models import Role

    both = await world.user((Role.doctor, clinic.a.id), (Role.doctor, clinic.b.id))
    h = await world.token(both)
    missing = await client.post("/api/v1/patients", json=_new(), headers=h)
    assert missing.status_code == 422
    foreign = await world.facility()
    elsewhere = await client.post("/api/v1/patients", json=_new(facility_id=foreign.id), headers=h)
    assert elsewhere.status_code == 403
    chosen = await client.post("/api/v1/patients", json=_new(facility_id=clinic.b.id), headers=h)
    assert chosen.status_code == 201
    assert chosen.json()["registrations"][0]["facility_id"] == clinic.b.id


async def test_known_patient_is_registered_at_another_facility_with_the_national_id_as_proof(client, clinic, db):
    h = clinic.headers["doctor_b"]
    path = f"/api/v1/patients/{clinic.patient.id}/registrations"
    assert (await client.get(f"/api/v1/patients/{clinic.patient.id}", headers=h)).status_code == 404
    wrong = await client.post(path, json={"national_id": national_id(dt.date(1970, 3, 1), "male")}, headers=h)
    assert wrong.status_code == 404
    none = await client.post(path, json={}, headers=h)
    assert none.status_code == 404
    right = await client.post(path, json={"national_id": clinic.patient.national_id, "mrn": "B-0001"}, headers=h)
    assert right.status_code == 201, right.text
    assert right.json()["facility_id"] == clinic.b.id and right.json()["mrn"] == "B-0001"
    assert (await client.get(f"/api/v1/patients/{clinic.patient.id}", headers=h)).status_code == 200
    again = await client.post(path, json={"national_id": clinic.patient.national_id}, headers=h)
    assert again.status_code == 409
    denied = await audit_rows(db, patient_id=clinic.patient.id, action="register", outcome="denied")
    assert len(denied) == 2


async def test_update_demographics_is_audited_and_validated(client, clinic, db):
    h = clinic.headers["doctor_a"]
    path = f"/api/v1/patients/{clinic.patient.id}"
    response = await client.patch(path, json={"phone": "13700001111", "address": "幸福路1号"}, headers=h)
    assert response.status_code == 200
    assert response.json()["phone"] == "13700001111" and response.json()["address"] == "幸福路1号"
    assert (await audit_rows(db, patient_id=clinic.patient.id, action="update"))[-1].outcome == "allowed"
    bad = await client.patch(path, json={"birth_date": "1971-03-01"}, headers=h)  # contradicts the ID
    assert bad.status_code == 422
    unknown = await client.patch(path, json={"blood_type": "A"}, headers=h)
    assert unknown.status_code == 422
    await db.refresh(clinic.patient)
    assert clinic.patient.birth_date == dt.date(1970, 3, 1)
