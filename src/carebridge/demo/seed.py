"""`carebridge demo`: load the demo network once, deterministically, in one transaction.

87 facilities from village clinics up to a national centre, 200 practitioners with rosters, one
administrator per hospital, 1,000 patients with one to three years of coded records, and one
login per role. A second call finds the data and changes nothing."""

from __future__ import annotations

import datetime as dt
import logging
import random
import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import AccessGrant, Purpose
from carebridge.audit import service as audit
from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.auth.passwords import hash_password
from carebridge.config import get_settings
from carebridge.demo.bulk import BulkWriter
from carebridge.demo.clinical import SUBTYPES, EntrySink, Staffing, record_history
from carebridge.demo.consultations import write_consultations
from carebridge.demo.delivery import write_delivery
from carebridge.demo.diagnostics import write_diagnostics
from carebridge.demo.home_nursing import write_home_nursing
from carebridge.demo.network import NATIONAL_CODE, ensure_departments, facility_specs, write_facilities
from carebridge.demo.patients import PatientProfile, profiles, write_patients
from carebridge.demo.pharmacy import write_pharmacy
from carebridge.demo.portal_accounts import write_portal_accounts
from carebridge.demo.staff import CHINA, DEMO_LOGINS, Person, people, write_people
from carebridge.demo.test_appointments import write_test_appointments
from carebridge.demo.visits import write_visits
from carebridge.kit.blobs import BlobStore, LocalBlobStore
from carebridge.kit.clock import utcnow
from carebridge.network.models import Facility
from carebridge.records.models import Patient, RecordEntry

log = logging.getLogger(__name__)

DEMO_PASSWORD = "carebridge-demo"  # noqa: S105 - published on purpose: it only ever opens the demo
NETWORK_SEED = 20240611
PATIENTS = 1000


async def load_demo(session: AsyncSession, *, scale: float = 1.0, blobs: BlobStore | None = None,
                    today: dt.date | None = None) -> tuple[bool, list[tuple[str, str]]]:
    """Returns (created_now, [(role, username), ...]). `scale` shrinks the patient count (tests)."""
    if await session.scalar(select(Facility.id).where(Facility.code == NATIONAL_CODE)) is not None:
        return False, list(DEMO_LOGINS)
    started = time.perf_counter()
    today = today or utcnow().astimezone(CHINA).date()
    rng = random.Random(NETWORK_SEED)
    bulk = BulkWriter(session)
    departments = await ensure_departments(session)
    specs = facility_specs(rng)
    await write_facilities(bulk, specs, departments)
    staff = people(rng, specs)
    week_start = today - dt.timedelta(days=today.weekday())
    # One argon2 hash (~155 ms) shared by every demo user instead of one per user.
    password_hash = await hash_password(DEMO_PASSWORD)
    await write_people(bulk, staff, password_hash, departments, week_start)
    patients = profiles(round(PATIENTS * scale), specs, today)
    entries = await _write_records(bulk, patients, staff, specs, departments, today)
    await write_consultations(bulk, patients, staff, specs, departments, entries, today)
    await bulk.finish()
    await _store_documents(entries, blobs)
    await _showcase_patient(session, patients[0], staff, password_hash)
    await write_diagnostics(session, blobs or LocalBlobStore(get_settings().blob_dir), patients[0].id)
    await write_visits(session, patients[0].id)
    await write_delivery(session, patients[0].id)
    await write_pharmacy(session, patients[0].id)
    await write_home_nursing(session, patients[0].id)
    await write_test_appointments(session, patients[0].id)
    await write_portal_accounts(session, patients[0].id)
    counts = await _counts(session)
    await audit.append(session, audit.Entry(
        action="create", outcome="success", actor=audit.Actor(name="carebridge demo"),
        resource_type="DemoNetwork", resource_id=NATIONAL_CODE,
        detail={**counts, "seed": NETWORK_SEED, "seconds": round(time.perf_counter() - started, 1)}))
    log.info("demo network loaded: %s", counts)
    return True, list(DEMO_LOGINS)


async def _write_records(bulk: BulkWriter, patients: list[PatientProfile], staff: list[Person],
                         specs: list, departments: dict[str, int], today: dt.date) -> EntrySink:
    for profile, pid in zip(patients, await bulk.ids(Patient.__table__, len(patients)), strict=True):
        profile.id = pid
    staffing = _staffing(staff, specs, departments)
    sink = EntrySink()
    first_seen = {p.index: record_history(sink, p, today, staffing) for p in patients}
    registrar = {}
    for person in staff:
        if person.role == Role.doctor:
            registrar.setdefault(person.facility.code, person.user_id)
    await write_patients(bulk, patients, first_seen, registrar)
    sink.rebase((await bulk.ids(RecordEntry.__table__, len(sink.spine))).start)
    await bulk.insert(RecordEntry.__table__, sink.spine)
    for kind, model in SUBTYPES.items():
        await bulk.insert(model.__table__, sink.sub[kind.value])
    return sink


def _staffing(staff: list[Person], specs: list, departments: dict[str, int]) -> Staffing:
    doctors: dict[str, list[int]] = {}
    for person in staff:
        if person.role == Role.doctor:
            for facility in [person.facility, *(site for site, _ in person.sites)]:
                doctors.setdefault(facility.code, []).append(person.user_id)
    cardiologist = next(p.user_id for p in staff if p.username == "demo.cardiologist")
    return Staffing(doctors, {s.code: s for s in specs}, departments, cardiologist)


async def _store_documents(sink: EntrySink, blobs: BlobStore | None) -> None:
    store = blobs or LocalBlobStore(get_settings().blob_dir)
    for data in sink.blobs.values():
        await store.put(data)


async def _showcase_patient(session: AsyncSession, patient: PatientProfile, staff: list[Person],
                            password_hash: str) -> None:
    """The demo patient's own login, a consultation grant for the cardiologist, and two clinicians
    who opened the record, so "who viewed my record" has something to say."""
    by_name = {p.username: p for p in staff}
    doctor, cardiologist = by_name["demo.doctor"], by_name["demo.cardiologist"]
    await auth.create_user(session, username="demo.patient", display_name=patient.name.zh, password=None,
                           password_hash=password_hash, roles=[(Role.patient, patient.home.id)], patient_id=patient.id,
                           phone=patient.phone)
    session.add(AccessGrant(patient_id=patient.id, grantee_user_id=cardiologist.user_id,
                            purpose=Purpose.consultation.value, scope_all=True, source_type="manual",
                            granted_by_id=doctor.user_id, expires_at=utcnow() + dt.timedelta(days=30)))
    await session.flush()
    for person, purpose, basis in [(doctor, Purpose.treatment, "registration"),
                                   (cardiologist, Purpose.consultation, "grant")]:
        await audit.append(session, audit.Entry(
            action="read", outcome="allowed",
            actor=audit.Actor(user_id=person.user_id, name=person.name.zh, role=Role.doctor.value,
                              facility_id=person.facility.id),
            patient_id=patient.id, resource_type="Patient", resource_id=patient.id, purpose=purpose.value,
            detail={"basis": basis}))


async def _counts(session: AsyncSession) -> dict[str, int]:
    from carebridge.network.models import Practitioner

    return {name: await session.scalar(select(func.count()).select_from(model))
            for name, model in [("facilities", Facility), ("practitioners", Practitioner),
                                ("patients", Patient), ("record_entries", RecordEntry)]}
