"""Merging duplicate records and recording that look-alikes are different people."""

import datetime as dt

from sqlalchemy import select

from carebridge.auth.models import Role
from carebridge.records.models import Observation, Patient, PatientLink, PatientRegistration
from tests.records.conftest import audit_rows, national_id


async def _twin(world, clinic, facility=None, **kw):
    return await world.patient(facility or clinic.a, name="张三", sex="male", birth_date=dt.date(1970, 3, 1),
                               national_id=kw.pop("national_id", None), **kw)


async def test_merge_moves_entries_and_registrations_and_keeps_the_source(client, clinic, world, db):
    twin = await _twin(world, clinic, facility=clinic.b, phone="13711112222")
    await world.db.execute(PatientRegistration.__table__.insert().values(
        patient_id=twin.id, facility_id=clinic.a.id, mrn="A-TWIN"))
    db.add(Observation(patient_id=twin.id, facility_id=clinic.b.id, occurred_at=dt.datetime.now(dt.UTC),
                       code_system="LOINC", code="8867-4", display="Heart rate", value_num=70.0, unit="/min"))
    user = await world.user((Role.patient, clinic.b.id), patient_id=twin.id)
    await db.flush()
    h = clinic.headers["doctor_a"]
    duplicates = await client.get(f"/patients/{clinic.patient.id}", headers=h)
    assert duplicates.status_code == 200
    response = await client.post(f"/api/v1/patients/{clinic.patient.id}/merge", headers=h,
                                 json={"source_patient_id": twin.id, "reason": "same person, typo in ID"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["phone"] == "13711112222"  # filled from the duplicate
    assert {r["facility_id"] for r in body["registrations"]} == {clinic.a.id, clinic.b.id}
    twin_id, patient_id = twin.id, clinic.patient.id
    db.expire_all()
    source = await db.get(Patient, twin_id)
    assert source.merged_into_id == patient_id
    moved = (await db.scalars(select(Observation.patient_id).where(Observation.code == "8867-4"))).all()
    assert moved == [patient_id]
    kept = await db.scalar(select(PatientRegistration.patient_id).where(PatientRegistration.mrn == "A-TWIN"))
    assert kept == twin_id  # A already had a number for the survivor; the old one stays on the source row
    link = await db.scalar(select(PatientLink).where(PatientLink.patient_id == twin_id))
    assert link.kind == "merged" and link.other_patient_id == patient_id and "typo" in link.reason
    await db.refresh(user)
    assert user.patient_id == patient_id
    assert (await audit_rows(db, action="merge", patient_id=twin_id))[-1].outcome == "allowed"
    old_id = await client.get(f"/api/v1/patients/{twin_id}", headers=h)
    assert old_id.json()["id"] == patient_id
    again = await client.post(f"/api/v1/patients/{patient_id}/merge", headers=h,
                              json={"source_patient_id": twin_id, "reason": "once more"})
    assert again.status_code == 409


async def test_merge_needs_write_access_to_both_sides_and_a_reason(client, clinic, world):
    elsewhere = await _twin(world, clinic, facility=clinic.b)
    h = clinic.headers["doctor_a"]
    path = f"/api/v1/patients/{clinic.patient.id}/merge"
    assert (await client.post(path, headers=h, json={"source_patient_id": elsewhere.id,
                                                     "reason": "same"})).status_code == 404
    local = await _twin(world, clinic)
    assert (await client.post(path, headers=h, json={"source_patient_id": local.id})).status_code == 422
    assert (await client.post(path, headers=h, json={"source_patient_id": clinic.patient.id,
                                                     "reason": "self"})).status_code == 422


async def test_records_with_different_national_ids_cannot_be_merged(client, clinic, world):
    other = await _twin(world, clinic, national_id=national_id(dt.date(1970, 3, 1), "male"))
    response = await client.post(f"/api/v1/patients/{clinic.patient.id}/merge", headers=clinic.headers["doctor_a"],
                                 json={"source_patient_id": other.id, "reason": "looks the same"})
    assert response.status_code == 409 and response.json()["code"] == "different_people"


async def test_not_duplicate_is_recorded_once_and_hides_the_pair_from_the_duplicate_panel(client, clinic, world, db):
    twin = await _twin(world, clinic)
    h = clinic.headers["doctor_a"]
    from tests.records.conftest import sign_in

    await sign_in(client, clinic.doctor_a)
    page = await client.get(f"/patients/{clinic.patient.id}")
    assert 'data-testid="duplicates-panel"' in page.text
    path = f"/api/v1/patients/{clinic.patient.id}/not-duplicate"
    first = await client.post(path, headers=h, json={"other_patient_id": twin.id, "reason": "twins"})
    second = await client.post(path, headers=h, json={"other_patient_id": twin.id})
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"] and first.json()["kind"] == "not_duplicate"
    page = await client.get(f"/patients/{clinic.patient.id}")
    assert 'data-testid="duplicates-panel"' not in page.text
