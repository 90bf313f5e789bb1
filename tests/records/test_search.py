"""Patient search: by name prefix, phone, national ID or record number; only patients the caller
may see; one audit row per search that does not repeat the national ID."""

import datetime as dt

from sqlalchemy import select

from carebridge.auth.models import Role
from carebridge.records import service
from carebridge.records.models import PatientRegistration
from tests.records.conftest import audit_rows, national_id


async def _search(client, headers, q, **params):
    response = await client.get("/api/v1/patients", params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_finds_by_name_prefix_phone_national_id_and_mrn(client, clinic, world, db):
    other = await world.patient(clinic.a, name="张三丰", phone="13811112222", national_id=None)
    await world.patient(clinic.a, name="李张", national_id=None)  # contains but does not start with 张
    h = clinic.headers["doctor_a"]
    names = [p["name"] for p in (await _search(client, h, "张"))["items"]]
    assert names == ["张三", "张三丰"]
    assert [p["id"] for p in (await _search(client, h, "张三丰"))["items"]] == [other.id]
    assert [p["id"] for p in (await _search(client, h, "138-1111-2222"))["items"]] == [other.id]
    nid = clinic.patient.national_id
    assert [p["id"] for p in (await _search(client, h, nid.lower()))["items"]] == [clinic.patient.id]
    mrn = await db.scalar(select(PatientRegistration.mrn).where(PatientRegistration.patient_id == other.id))
    assert [p["id"] for p in (await _search(client, h, mrn))["items"]] == [other.id]
    assert (await _search(client, h, "王"))["items"] == []


async def test_clinician_elsewhere_does_not_find_a_patient_registered_only_at_a(client, clinic):
    for q in ("张三", clinic.patient.national_id):
        assert (await _search(client, clinic.headers["doctor_b"], q))["items"] == []
    assert len((await _search(client, clinic.headers["doctor_a"], "张三"))["items"]) == 1


async def test_patient_user_finds_only_themselves(client, clinic, world):
    await world.patient(clinic.a, name="张四", national_id=None)
    found = await _search(client, clinic.headers["patient"], "张")
    assert [p["id"] for p in found["items"]] == [clinic.patient.id]


async def test_administrators_cannot_search_records(client, clinic):
    response = await client.get("/api/v1/patients", params={"q": "张"}, headers=clinic.headers["admin_a"])
    assert response.status_code == 403
    anonymous = await client.get("/api/v1/patients", params={"q": "张"})
    assert anonymous.status_code == 401


async def test_merged_records_are_not_listed(client, clinic, world):
    twin = await world.patient(clinic.a, name="张三", birth_date=dt.date(1970, 3, 1), national_id=None)
    twin.merged_into_id = clinic.patient.id
    await world.db.flush()
    found = await _search(client, clinic.headers["doctor_a"], "张三")
    assert [p["id"] for p in found["items"]] == [clinic.patient.id]


async def test_pages_through_results_with_a_cursor(client, clinic, world):
    for i in range(5):
        await world.patient(clinic.a, name=f"赵{i}", national_id=None)
    h = clinic.headers["doctor_a"]
    first = await _search(client, h, "赵", limit=2)
    second = await _search(client, h, "赵", limit=2, cursor=first["next_cursor"])
    third = await _search(client, h, "赵", limit=2, cursor=second["next_cursor"])
    names = [p["name"] for page in (first, second, third) for p in page["items"]]
    assert names == [f"赵{i}" for i in range(5)]
    assert third["next_cursor"] is None
    bad = await client.get("/api/v1/patients", params={"q": "赵", "cursor": "!!"}, headers=h)
    assert bad.status_code == 422


async def test_each_search_is_one_audit_row_without_the_national_id(client, clinic, db):
    nid = clinic.patient.national_id
    before = len(await audit_rows(db, action="search"))
    await _search(client, clinic.headers["doctor_a"], nid)
    rows = (await audit_rows(db, action="search"))[before:]
    assert len(rows) == 1
    row = rows[0]
    assert row.patient_id is None and row.actor_user_id == clinic.doctor_a.id
    assert row.detail["query_kind"] == "national_id" and row.detail["results"] == 1
    assert nid not in str(row.detail) and nid not in row.resource_id


async def test_service_search_for_a_benchmark_caller(db, world):
    facility = await world.facility()
    doctor = await world.principal(await world.user((Role.doctor, facility.id)))
    patient = await world.patient(facility, name="钱七", national_id=national_id())
    page = await service.search_patients(db, doctor, "钱")
    assert [p.id for p in page.items] == [patient.id] and page.next_cursor is None
