"""Adding coded entries of every kind with provenance; validation; voiding keeps the row."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from carebridge.records.entries import interpret
from carebridge.records.models import RecordEntry


def _path(clinic, kind: str) -> str:
    return f"/api/v1/patients/{clinic.patient.id}/{kind}"


async def _entries(db) -> int:
    return await db.scalar(select(func.count()).select_from(RecordEntry))


async def test_observation_defaults_unit_and_range_from_loinc_and_flags_abnormal(client, clinic):
    response = await client.post(_path(clinic, "observations"), headers=clinic.headers["nurse_a"],
                                 json={"code": "8480-6", "value": 152, "occurred_at": "2024-05-01T08:30:00+08:00"})
    assert response.status_code == 201, response.text
    entry = response.json()
    assert entry["details"]["unit"] == "mm[Hg]"
    assert (entry["details"]["ref_low"], entry["details"]["ref_high"]) == (90, 139)
    assert entry["details"]["interpretation"] == "H"
    assert entry["occurred_at"] == "2024-05-01T00:30:00Z"
    assert entry["provenance"]["facility_id"] == clinic.a.id
    assert entry["provenance"]["author_id"] == clinic.nurse_a.id
    assert entry["provenance"]["facility_name"] == "县医院A"


@pytest.mark.parametrize(("value", "low", "high", "flag"), [
    (5.0, 3.9, 6.1, "N"), (6.2, 3.9, 6.1, "H"), (3.0, 3.9, 6.1, "L"), (8.4, 3.9, 6.1, "HH"), (1.0, 3.9, 6.1, "LL"),
    (200, None, 125, "H"), (100, None, 125, "N"), (5, None, None, ""),
])
def test_interpretation_flags(value, low, high, flag):
    assert interpret(value, low, high) == flag


async def test_unknown_loinc_needs_a_ucum_unit_and_text_values_have_no_flag(client, clinic):
    h = clinic.headers["doctor_a"]
    no_unit = await client.post(_path(clinic, "observations"), headers=h, json={"code": "2345-7", "value": 5.4})
    assert no_unit.status_code == 422 and no_unit.json()["details"]["field"] == "unit"
    ok = await client.post(_path(clinic, "observations"), headers=h,
                           json={"code": "2345-7", "value": 5.4, "unit": "mmol/L", "ref_low": 3.9, "ref_high": 6.1})
    assert ok.status_code == 201 and ok.json()["details"]["interpretation"] == "N"
    text = await client.post(_path(clinic, "observations"), headers=h, json={"code": "5778-6", "value_text": "黄色"})
    assert text.status_code == 201 and text.json()["details"]["interpretation"] == ""


@pytest.mark.parametrize("body", [
    {"code": "8480-7", "value": 120},  # LOINC check digit wrong
    {"code": "84806", "value": 120},
    {"code": "8480-6"},  # no value
    {"code": "8480-6", "value": 120, "value_text": "high"},  # both
    {"code": "8480-6", "value": 120, "unit": "kPa"},  # not the unit this code is kept in
    {"code": "8480-6", "value": 120, "ref_low": 150, "ref_high": 100},
    {"code": "8480-6", "value": 120, "colour": "red"},  # unknown field
    {"code": "8480-6", "value": "high"},
    {"code": "8480-6", "value": 120, "occurred_at": "2024-05-01T08:30:00"},  # no time zone
])
async def test_bad_observations_are_422_and_leave_nothing(client, clinic, db, body):
    before = await _entries(db)
    response = await client.post(_path(clinic, "observations"), headers=clinic.headers["doctor_a"], json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_input"
    assert await _entries(db) == before


async def test_future_times_are_refused_but_small_clock_drift_is_tolerated(client, clinic):
    h = clinic.headers["doctor_a"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    future = await client.post(_path(clinic, "observations"), headers=h,
                               json={"code": "8867-4", "value": 70, "occurred_at": later.isoformat()})
    assert future.status_code == 422 and future.json()["details"]["field"] == "occurred_at"
    drift = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    ok = await client.post(_path(clinic, "observations"), headers=h,
                           json={"code": "8867-4", "value": 70, "occurred_at": drift.isoformat()})
    assert ok.status_code == 201


async def test_condition_is_icd10_validated(client, clinic):
    h = clinic.headers["doctor_a"]
    ok = await client.post(_path(clinic, "conditions"), headers=h, json={"code": "e11.9"})
    assert ok.status_code == 201
    assert ok.json()["code"] == "E11.9" and ok.json()["code_system"] == "ICD-10"
    assert ok.json()["display"] == "Type 2 diabetes mellitus without complications"
    for bad in ("110", "I1", "hypertension", "I10.12345"):
        response = await client.post(_path(clinic, "conditions"), headers=h, json={"code": bad})
        assert response.status_code == 422, bad
    status = await client.post(_path(clinic, "conditions"), headers=h, json={"code": "I10", "clinical_status": "cured"})
    assert status.status_code == 422


async def test_encounter_medication_allergy_procedure(client, clinic):
    h = clinic.headers["doctor_a"]
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).isoformat()
    end = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    encounter = await client.post(_path(clinic, "encounters"), headers=h, json={
        "encounter_class": "teleconsultation", "reason": "胸闷", "occurred_at": start, "ended_at": end})
    assert encounter.status_code == 201 and encounter.json()["details"]["encounter_class"] == "teleconsultation"
    backwards = await client.post(_path(clinic, "encounters"), headers=h, json={
        "encounter_class": "outpatient", "occurred_at": end, "ended_at": start})
    assert backwards.status_code == 422
    medication = await client.post(_path(clinic, "medications"), headers=h, json={
        "display": "氨氯地平", "dose": "5 mg", "route": "口服", "frequency": "每日一次",
        "encounter_id": encounter.json()["id"]})
    assert medication.status_code == 201 and medication.json()["details"]["dose"] == "5 mg"
    not_an_encounter = await client.post(_path(clinic, "medications"), headers=h, json={
        "display": "阿司匹林", "encounter_id": medication.json()["id"]})
    assert not_an_encounter.status_code == 422
    allergy = await client.post(_path(clinic, "allergies"), headers=h, json={
        "display": "青霉素", "criticality": "high", "reaction": "过敏性休克"})
    assert allergy.status_code == 201
    procedure = await client.post(_path(clinic, "procedures"), headers=h, json={
        "display": "冠状动脉造影", "body_site": "心脏"})
    assert procedure.status_code == 201
    header = await client.get(f"/api/v1/patients/{clinic.patient.id}", headers=h)
    assert header.json()["allergies"] == ["青霉素 (过敏性休克)"]


async def test_void_keeps_the_row_marks_it_and_needs_a_reason(client, clinic, db):
    h = clinic.headers["doctor_a"]
    entry = (await client.post(_path(clinic, "observations"), headers=h, json={"code": "8867-4", "value": 72})).json()
    before = await _entries(db)
    no_reason = await client.post(f"/api/v1/entries/{entry['id']}/void", headers=h, json={"reason": ""})
    assert no_reason.status_code == 422
    voided = await client.post(f"/api/v1/entries/{entry['id']}/void", headers=h, json={"reason": "wrong patient"})
    assert voided.status_code == 200
    assert voided.json()["voided"] is True and voided.json()["void_reason"] == "wrong patient"
    assert await _entries(db) == before
    again = await client.post(f"/api/v1/entries/{entry['id']}/void", headers=h, json={"reason": "again please"})
    assert again.status_code == 409
    timeline = (await client.get(f"/api/v1/patients/{clinic.patient.id}/timeline", headers=h)).json()
    shown = next(item for item in timeline["items"] if item["id"] == entry["id"])
    assert shown["voided"] is True and shown["voided_at"]
    fhir = (await client.get(f"/api/v1/entries/{entry['id']}", headers=h)).json()["fhir"]
    assert fhir["status"] == "entered-in-error"


async def test_void_only_where_the_entry_was_recorded(client, clinic, world):
    from carebridge.auth.models import Role

    entry = (await client.post(_path(clinic, "observations"), headers=clinic.headers["doctor_a"],
                               json={"code": "8867-4", "value": 72})).json()
    # A clinician at B who also broke the glass may write, but not undo A's entries.
    doctor = await world.user((Role.doctor, clinic.b.id))
    from carebridge.access.models import BreakGlass
    world.db.add(BreakGlass(patient_id=clinic.patient.id, user_id=doctor.id, facility_id=clinic.b.id,
                            reason="unconscious in ER", expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=4)))
    await world.db.flush()
    response = await client.post(f"/api/v1/entries/{entry['id']}/void", headers=await world.token(doctor),
                                 json={"reason": "not mine"})
    assert response.status_code == 403
