"""The timeline: newest first, keyset pages, filters, grants that narrow what is visible, the audit
rows that reads leave, and observation series."""

import datetime as dt

from carebridge.access.models import AccessGrant, Consent
from carebridge.records import service
from carebridge.records.models import Condition, Observation
from tests.records.conftest import audit_rows

T0 = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)


async def _add(db, patient, facility, author, kind, when, **kw):
    model = Observation if kind == "observation" else Condition
    defaults = ({"code_system": "LOINC", "code": "8480-6", "display": "Systolic", "unit": "mm[Hg]", "value_num": 120.0}
                if kind == "observation" else {"code_system": "ICD-10", "code": "I10", "display": "Hypertension"})
    entry = model(patient_id=patient.id, facility_id=facility.id, author_id=author.id, occurred_at=when,
                  **{**defaults, **kw})
    db.add(entry)
    await db.flush()
    return entry


async def test_newest_first_with_stable_keyset_pages(client, clinic, db):
    ids = []
    for i in range(7):  # two entries share a time: the id breaks the tie
        when = T0 + dt.timedelta(days=min(i, 5))
        ids.append((await _add(db, clinic.patient, clinic.a, clinic.doctor_a, "observation", when)).id)
    h = clinic.headers["doctor_a"]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/api/v1/patients/{clinic.patient.id}/timeline", params=params, headers=h)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]]


async def test_filters_by_kind_and_facility(client, clinic, db):
    await _add(db, clinic.patient, clinic.a, clinic.doctor_a, "observation", T0)
    condition = await _add(db, clinic.patient, clinic.a, clinic.doctor_a, "condition", T0)
    elsewhere = await _add(db, clinic.patient, clinic.b, clinic.doctor_b, "observation", T0 + dt.timedelta(days=1))
    h, path = clinic.headers["doctor_a"], f"/api/v1/patients/{clinic.patient.id}/timeline"
    only = (await client.get(path, params={"kind": "condition"}, headers=h)).json()["items"]
    assert [i["id"] for i in only] == [condition.id]
    both = (await client.get(path, params=[("kind", "condition"), ("kind", "observation")], headers=h)).json()
    assert len(both["items"]) == 3
    at_b = (await client.get(path, params={"facility_id": clinic.b.id}, headers=h)).json()["items"]
    assert [i["id"] for i in at_b] == [elsewhere.id]
    assert at_b[0]["provenance"]["facility_name"] == "乡镇卫生院B"
    unknown = await client.get(path, params={"kind": "gossip"}, headers=h)
    assert unknown.status_code == 422


async def test_a_grant_narrowed_to_some_kinds_hides_the_others(client, clinic, db):
    observation = await _add(db, clinic.patient, clinic.a, clinic.doctor_a, "observation", T0)
    condition = await _add(db, clinic.patient, clinic.a, clinic.doctor_a, "condition", T0)
    h = clinic.headers["doctor_b"]
    path = f"/api/v1/patients/{clinic.patient.id}/timeline"
    assert (await client.get(path, headers=h)).status_code == 404
    db.add(Consent(patient_id=clinic.patient.id, status="granted", scope_all=True, recorded_by_id=clinic.doctor_a.id))
    db.add(AccessGrant(patient_id=clinic.patient.id, grantee_user_id=clinic.doctor_b.id, purpose="consultation",
                       scope_all=False, scope_kinds=["observation"], granted_by_id=clinic.doctor_a.id,
                       expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1)))
    await db.flush()
    items = (await client.get(path, headers=h)).json()["items"]
    assert [i["id"] for i in items] == [observation.id]
    assert (await client.get(f"/api/v1/entries/{condition.id}", headers=h)).status_code == 404
    assert (await client.get(f"/api/v1/entries/{observation.id}", headers=h)).status_code == 200
    header = (await client.get(f"/api/v1/patients/{clinic.patient.id}", headers=h)).json()
    assert header["access_basis"] == "grant" and header["can_write"] is False and header["national_id"] is None
    write = await client.post(f"/api/v1/patients/{clinic.patient.id}/observations", headers=h,
                              json={"code": "8867-4", "value": 70})
    assert write.status_code == 404
    found = (await client.get("/api/v1/patients", params={"q": "张三"}, headers=h)).json()["items"]
    assert [p["id"] for p in found] == [clinic.patient.id]


async def test_reads_are_audited_with_actor_patient_and_basis(client, clinic, db):
    await _add(db, clinic.patient, clinic.a, clinic.doctor_a, "observation", T0)
    h = clinic.headers["doctor_a"]
    await client.get(f"/api/v1/patients/{clinic.patient.id}/timeline", headers=h)
    read = (await audit_rows(db, action="read", patient_id=clinic.patient.id))[-1]
    assert read.actor_user_id == clinic.doctor_a.id and read.outcome == "allowed"
    assert read.resource_type == "Timeline" and read.detail["basis"] == "registration"
    assert read.facility_id == clinic.a.id and read.ip == "203.0.113.7"
    await client.get(f"/api/v1/patients/{clinic.patient.id}/timeline", headers=clinic.headers["doctor_b"])
    denied = (await audit_rows(db, action="read", patient_id=clinic.patient.id))[-1]
    assert denied.actor_user_id == clinic.doctor_b.id and denied.outcome == "denied"


async def test_observation_series_is_oldest_first_without_voided_points(client, clinic, db):
    for i, value in enumerate([150, 140, 130]):
        await _add(db, clinic.patient, clinic.a, clinic.doctor_a, "observation", T0 + dt.timedelta(days=i),
                   value_num=float(value))
    await _add(db, clinic.patient, clinic.a, clinic.doctor_a, "observation", T0 + dt.timedelta(days=9),
               value_num=999.0, voided_at=T0, void_reason="typo")
    await _add(db, clinic.patient, clinic.a, clinic.doctor_a, "observation", T0, code="8462-4", value_num=90.0)
    response = await client.get(f"/api/v1/patients/{clinic.patient.id}/observations/series",
                                params={"code": "8480-6"}, headers=clinic.headers["doctor_a"])
    assert response.status_code == 200
    body = response.json()
    assert [p["value"] for p in body["points"]] == [150, 140, 130]
    assert body["unit"] == "mm[Hg]" and body["ref_high"] == 139
    bad = await client.get(f"/api/v1/patients/{clinic.patient.id}/observations/series",
                           params={"code": "8480-7"}, headers=clinic.headers["doctor_a"])
    assert bad.status_code == 422


async def test_service_timeline_and_series_for_a_direct_caller(db, world, clinic):
    doctor = await world.principal(clinic.doctor_a)
    await _add(db, clinic.patient, clinic.a, clinic.doctor_a, "observation", T0, value_num=150.0)
    page = await service.timeline(db, doctor, clinic.patient.id, kinds=["observation"], limit=10)
    assert len(page.items) == 1 and page.items[0].details["interpretation"] in ("", "N", "H")
    assert await service.observation_series(db, doctor, clinic.patient.id, "8480-6") == [(T0, 150.0)]
