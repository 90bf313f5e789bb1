"""The demo network as a newcomer meets it: the promised sizes, valid identifiers, a network tree,
records with real trends, logins that work, and the same data every time."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
from collections import Counter, defaultdict

import pytest
from alembic import command
from sqlalchemy import func, select

from carebridge.access.models import Consent
from carebridge.access.service import access_patient
from carebridge.audit.models import AuditEvent
from carebridge.auth import service as auth
from carebridge.auth.models import RoleAssignment, User
from carebridge.db import make_engine, make_sessionmaker, unit_of_work
from carebridge.demo.seed import DEMO_PASSWORD, load_demo
from carebridge.diagnostics.report_record import LOINC as DIAGNOSIS_REPORT_LOINC
from carebridge.errors import NotFound
from carebridge.kit.blobs import LocalBlobStore
from carebridge.migrations import alembic_config
from carebridge.network.models import Facility, FacilityLink, PracticeSite, Practitioner, RosterShift
from carebridge.records.codes import OBSERVATIONS
from carebridge.records.models import Document, Observation, Patient, PatientRegistration, RecordEntry

TODAY = dt.date(2025, 3, 12)
EXPECTED_TIERS = {"national_center": 1, "provincial_hospital": 2, "city_hospital": 4, "county_hospital": 8,
                  "village_clinic": 48}
LEVEL = {"village_clinic": 1, "township_center": 2, "community_center": 2, "county_hospital": 3,
         "city_hospital": 4, "provincial_hospital": 5, "national_center": 6}


def valid_resident_id(value: str) -> bool:
    """GB 11643 written independently of the generator: weight of position i is 2^(17-i) mod 11."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))  # raises on an impossible birth date
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(value[:17]))
    check = (12 - total % 11) % 11
    return value[17] == ("X" if check == 10 else str(check))


async def count(db, model) -> int:  # noqa: ANN001
    return await db.scalar(select(func.count()).select_from(model))


async def test_full_demo_has_the_promised_network_people_and_patients(db, tmp_path):
    created, logins = await load_demo(db, blobs=LocalBlobStore(tmp_path), today=TODAY)
    assert created
    tiers = Counter((await db.scalars(select(Facility.tier))).all())
    assert {t: tiers[t] for t in EXPECTED_TIERS} == EXPECTED_TIERS
    assert tiers["township_center"] + tiers["community_center"] == 24
    assert 180 <= await count(db, Practitioner) <= 220
    assert await count(db, Patient) == 1000
    ids = (await db.scalars(select(Patient.national_id))).all()
    assert all(valid_resident_id(nid) for nid in ids)
    assert len(set(ids)) == 1000
    unregistered = await db.scalar(select(func.count()).select_from(Patient).where(
        ~select(PatientRegistration.id).where(PatientRegistration.patient_id == Patient.id).exists()))
    assert unregistered == 0
    assert await count(db, RecordEntry) > 30_000
    refused = await db.scalar(select(func.count()).select_from(Consent).where(Consent.status == "refused"))
    assert 0 < refused < 200
    assert [role for role, _ in logins] == ["platform_admin", "facility_admin", "doctor", "specialist", "nurse",
                                            "technician", "radiologist", "pathologist", "pharmacist", "patient"]


async def test_every_facility_but_the_national_centre_hangs_from_a_hub_one_tier_up(db, tmp_path):
    await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=TODAY)
    facilities = {f.id: f for f in (await db.scalars(select(Facility))).all()}
    links = (await db.scalars(select(FacilityLink))).all()
    hubs = defaultdict(list)
    for link in links:
        hubs[link.facility_id].append(facilities[link.hub_id])
    for fid, facility in facilities.items():
        if facility.tier == "national_center":
            assert fid not in hubs
            continue
        assert len(hubs[fid]) == 1, facility.code
        assert LEVEL[hubs[fid][0].tier] == LEVEL[facility.tier] + 1, facility.code
        assert 31 < facility.latitude < 36 and 111 < facility.longitude < 116  # around Henan
        assert facility.name and facility.name_en and facility.province_code and facility.address


async def test_staff_have_rosters_for_this_week_and_next_and_some_practise_at_two_sites(db, tmp_path):
    await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=TODAY)
    monday = dt.datetime(2025, 3, 10, tzinfo=dt.UTC)
    rostered = set((await db.scalars(select(RosterShift.practitioner_id).where(
        RosterShift.starts_at >= monday - dt.timedelta(hours=8),
        RosterShift.starts_at < monday + dt.timedelta(days=14)))).all())
    assert rostered == set((await db.scalars(select(Practitioner.id))).all())
    sites = Counter((await db.scalars(select(PracticeSite.practitioner_id))).all())
    assert 5 <= sum(1 for n in sites.values() if n > 1) < len(sites)
    titles = Counter((await db.scalars(select(Practitioner.title))).all())
    assert set(titles) == {"resident", "attending", "associate_chief", "chief"}


async def test_observations_are_coded_and_chronic_disease_trends_towards_target(db, tmp_path):
    await load_demo(db, scale=0.2, blobs=LocalBlobStore(tmp_path), today=TODAY)
    rows = (await db.execute(select(Observation.patient_id, Observation.code, Observation.occurred_at,
                                    Observation.value_num, Observation.unit, Observation.interpretation,
                                    Observation.ref_low, Observation.ref_high))).all()
    series = defaultdict(list)
    for patient_id, code, at, value, unit, flag, low, high in rows:
        assert unit == OBSERVATIONS[code].unit
        expected = "H" if high is not None and value > high else "L" if low is not None and value < low else "N"
        assert flag[:1] == (expected if low is not None or high is not None else "")  # H or HH, L or LL
        series[patient_id, code].append((at, value))
    assert _share_falling(series, "8480-6") > 0.8  # treated hypertension
    assert _share_falling(series, "4548-4") > 0.8  # treated diabetes


def _share_falling(series: dict, code: str) -> float:
    falling = total = 0
    for (_, c), points in series.items():
        values = [v for _, v in sorted(points)]
        if c != code or len(values) < 4 or statistics.mean(values[:2]) < 145 and code == "8480-6":
            continue
        if code == "4548-4" and values[0] < 7.5:
            continue
        total += 1
        falling += statistics.mean(values[-2:]) < statistics.mean(values[:2])
    assert total >= 5
    return falling / total


async def test_documents_are_real_files_in_the_blob_store(db, tmp_path):
    store = LocalBlobStore(tmp_path)
    await load_demo(db, scale=0.05, blobs=store, today=TODAY)
    documents = (await db.scalars(select(Document))).all()
    assert {d.media_type for d in documents} == {"application/pdf", "image/png"}
    for document in documents:
        data = await store.get(document.blob_digest)
        assert len(data) == document.size_bytes
        assert data.startswith(b"%PDF-" if document.media_type == "application/pdf" else b"\x89PNG\r\n\x1a\n")


async def test_second_call_reuses_the_demo_and_changes_nothing(db, tmp_path):
    first = await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=TODAY)
    before = (await count(db, Patient), await count(db, RecordEntry), await count(db, User),
              await count(db, AuditEvent))
    again = await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=TODAY)
    assert first[0] is True and again == (False, first[1])
    assert before == (await count(db, Patient), await count(db, RecordEntry), await count(db, User),
                      await count(db, AuditEvent))


async def test_demo_logins_sign_in_and_admins_are_sent_to_the_second_factor(client, db, tmp_path):
    _, logins = await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=TODAY)
    for role, username in logins:
        response = await client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 303, username
        pending = response.headers["location"].startswith("/login/second-factor")
        assert pending == (role in ("platform_admin", "facility_admin")), username
        client.cookies.clear()
    wrong = await client.post("/login", data={"username": "demo.doctor", "password": "not-the-demo-password"})
    assert wrong.status_code == 401


async def test_showcase_patient_is_visible_to_the_right_clinicians_and_sees_who_looked(db, tmp_path):
    await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=TODAY)
    users = {u.username: u for u in (await db.scalars(select(User))).all()}
    patient_id = users["demo.patient"].patient_id
    entries = Counter((await db.scalars(select(RecordEntry.kind).where(RecordEntry.patient_id == patient_id))).all())
    assert entries["encounter"] >= 20 and entries["document"] >= 3 and entries["observation"] >= 100
    for username in ("demo.doctor", "demo.cardiologist", "demo.patient"):
        principal = await auth.load_principal(db, users[username], via="token")
        assert (await access_patient(db, principal, patient_id)).patient.id == patient_id
    far_away = await db.scalar(select(RoleAssignment.user_id).join(Facility).where(
        Facility.code == "VC-420322-03-2", RoleAssignment.role == "doctor"))
    stranger = await auth.load_principal(db, await db.get(User, far_away), via="token")
    with pytest.raises(NotFound):
        await access_patient(db, stranger, patient_id)
    viewers = (await db.scalars(select(AuditEvent.actor_name).where(
        AuditEvent.patient_id == patient_id, AuditEvent.action == "read"))).all()
    assert {users["demo.doctor"].display_name, users["demo.cardiologist"].display_name} <= set(viewers)


async def _seed_fresh_file(path, blobs) -> tuple:  # noqa: ANN001
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            await load_demo(session, scale=0.05, blobs=blobs, today=TODAY)
        async with unit_of_work(make_sessionmaker(engine)) as session:
            codes = (await session.scalars(select(Facility.code).order_by(Facility.id))).all()
            nids = (await session.scalars(select(Patient.national_id).order_by(Patient.id))).all()
            values = (await session.execute(select(Observation.code, Observation.value_num)
                                            .order_by(Observation.id))).all()
            # The record's documents are generated from the seed; the diagnosis demo's images and
            # signed reports carry fresh UIDs and signing times, so their files differ run to run.
            files = (await session.scalars(select(Document.blob_digest).where(
                Document.code.not_in(DIAGNOSIS_REPORT_LOINC.values())).order_by(Document.blob_digest))).all()
            return codes, nids, [tuple(v) for v in values], files
    finally:
        await engine.dispose()


async def test_two_fresh_databases_get_identical_demo_data(tmp_path):
    first = await _seed_fresh_file(tmp_path / "one.db", LocalBlobStore(tmp_path / "blobs1"))
    second = await _seed_fresh_file(tmp_path / "two.db", LocalBlobStore(tmp_path / "blobs2"))
    assert len(first[0]) == 87 and len(first[1]) == 50 and len(first[2]) > 1000
    assert first == second and first[3]
    assert set(first[3]) <= {p.name for p in (tmp_path / "blobs2").rglob("*") if p.is_file()}


async def test_the_demo_patient_has_diagnosis_orders_in_every_state_a_reader_meets(db, tmp_path):
    from carebridge.diagnostics import reports, studies
    from carebridge.diagnostics.models import DiagnosisOrder

    await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=TODAY)
    users = {u.username: u for u in (await db.scalars(select(User).where(User.username.like("demo.%")))).all()}
    orders = {o.modality: o for o in (await db.scalars(select(DiagnosisOrder))).all()}
    assert {m: o.state for m, o in orders.items()} == {"CT": "reported", "DX": "ready", "ECG": "ready", "SM": "ready"}
    radiologist = await auth.load_principal(db, users["demo.radiologist"], via="token")
    signed = await reports.access_report(db, radiologist, orders["CT"].id)
    assert signed.final and signed.verification.verified and signed.row.critical_ack_at is not None
    assert orders["CT"].hub_facility_id == orders["DX"].hub_facility_id
    assert len(await studies.unmatched_studies(db, radiologist, orders["DX"].hub_facility_id)) == 1
    pathologist = await auth.load_principal(db, users["demo.pathologist"], via="token")
    assert orders["SM"].hub_facility_id in pathologist.facilities_with("doctor")
