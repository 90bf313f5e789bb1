"""Bench data: the demo network's facilities and staff (through the demo seeder), then N patients and
M record entries streamed straight into the database with the driver's fastest path (sqlite3
executemany, PostgreSQL COPY), patient by patient so every index is filled in key order.

Generation speed is not what the bench measures; it only has to be quick enough to run."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

from carebridge.demo import names
from carebridge.demo.bulk import BulkWriter
from carebridge.demo.network import ensure_departments, facility_specs, write_facilities
from carebridge.demo.seed import DEMO_PASSWORD, NETWORK_SEED
from carebridge.demo.staff import people, write_people
from carebridge.network.models import Tier
from carebridge.records.codes import OBSERVATIONS

SEED = 7
CHUNK_PATIENTS = 2000
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # fixed, so two runs write the same rows
HISTORY_DAYS = 3 * 365

SPINE = ("id", "patient_id", "kind", "occurred_at", "recorded_at", "facility_id", "author_id", "encounter_id",
         "code_system", "code", "display", "voided_at", "voided_by_id", "void_reason")
SUBTYPES = {
    "encounters": ("id", "encounter_class", "department_id", "reason", "ended_at"),
    "observations": ("id", "category", "value_num", "value_text", "unit", "ref_low", "ref_high", "interpretation"),
    "conditions": ("id", "clinical_status", "verification_status", "note"),
    "medication_statements": ("id", "dose", "route", "frequency", "status"),
    "procedures": ("id", "body_site", "outcome"),
}
PATIENT = ("id", "national_id", "name", "name_en", "sex", "birth_date", "phone", "address", "merged_into_id",
           "created_at", "created_by_id")
REGISTRATION = ("id", "patient_id", "facility_id", "mrn", "registered_at")
LOINC_CODES = list(OBSERVATIONS)


@dataclass
class Network:
    """What generation and measurement need to know about the seeded network."""

    primary: list[tuple[int, str, int]]  # (facility id, code, hub id) of villages and townships
    county_of: dict[int, int]  # township id -> county hospital id
    doctors: dict[int, list[int]] = field(default_factory=dict)  # facility id -> doctor user ids


async def seed_network(session) -> Network:  # noqa: ANN001 - an AsyncSession
    """Writes the demo network's facilities and staff (no patients)."""
    from carebridge.auth.passwords import hash_password

    rng = random.Random(NETWORK_SEED)
    bulk = BulkWriter(session)
    departments = await ensure_departments(session)
    specs = facility_specs(rng)
    await write_facilities(bulk, specs, departments)
    staff = people(rng, specs)
    await write_people(bulk, staff, await hash_password(DEMO_PASSWORD), departments, dt.date(2026, 1, 5))
    await bulk.finish()
    return _network(specs, staff)


async def load_network(session) -> Network:  # noqa: ANN001 - an AsyncSession
    """The same Network for a database seeded earlier: the generators are replayed and the ids
    looked up by facility code and username."""
    from sqlalchemy import select

    from carebridge.auth.models import User
    from carebridge.network.models import Facility

    rng = random.Random(NETWORK_SEED)
    specs = facility_specs(rng)
    staff = people(rng, specs)
    facility_ids = dict((await session.execute(select(Facility.code, Facility.id))).all())
    user_ids = dict((await session.execute(select(User.username, User.id))).all())
    for spec in specs:
        spec.id = facility_ids[spec.code]
    for person in staff:
        person.user_id = user_ids[person.username]
    return _network(specs, staff)


def _network(specs: list, staff: list) -> Network:
    by_code = {s.code: s for s in specs}
    towns = (Tier.township_center, Tier.community_center)
    network = Network(
        primary=[(s.id, s.code, by_code[s.hub].id) for s in specs if s.tier == Tier.village_clinic or s.tier in towns],
        county_of={s.id: by_code[s.hub].id for s in specs if s.tier in towns})
    for person in staff:
        if person.role.value == "doctor":
            for facility in [person.facility, *(site for site, _ in person.sites)]:
                network.doctors.setdefault(facility.id, []).append(person.user_id)
    return network


@dataclass
class BenchPatient:
    id: int
    name: str
    phone: str
    national_id: str
    registrations: list[tuple[int, str]]  # (facility id, MRN)
    entries: int = 0


def entry_counts(rng: random.Random, patients: int, entries: int) -> list[int]:
    """Most records are short; one in twelve is a chronic patient's long record (deep pages)."""
    raw = [rng.randint(150, 450) if rng.random() < 1 / 12 else rng.randint(8, 60) for _ in range(patients)]
    scale = entries / sum(raw)
    counts = [max(1, round(r * scale)) for r in raw]
    counts[-1] += entries - sum(counts)
    return counts


def make_patients(network: Network, count: int, entries: int) -> Iterator[tuple[BenchPatient, tuple, list]]:
    """Yields (patient, patient row, registration rows) in id order, ids starting at 1."""
    rng = random.Random(SEED)
    counts = entry_counts(rng, count, entries)
    taken: set[str] = set()
    mrn_counters: dict[int, int] = {}
    registration_id = 0
    county_codes = {fid: code.split("-")[1] for fid, code, _ in network.primary}
    for pid in range(1, count + 1):
        sex = rng.choice(["male", "female"])
        person = names.person_name(rng, sex)
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 80 * 365))
        home_id, home_code, hub_id = rng.choice(network.primary)
        serial = pid
        while (nid := names.national_id(county_codes[home_id], birth, serial, sex)) in taken:
            serial += 1
        taken.add(nid)
        facilities = [home_id]
        if home_code.startswith("VC") and rng.random() < 0.5:
            facilities.append(hub_id)
        town = hub_id if home_code.startswith("VC") else home_id
        if rng.random() < 0.2:
            facilities.append(network.county_of[town])
        regs = []
        for fid in facilities:
            mrn_counters[fid] = mrn_counters.get(fid, 0) + 1
            registration_id += 1
            regs.append((registration_id, pid, fid, f"F{fid:03d}{mrn_counters[fid]:07d}", EPOCH))
        phone = names.mobile_phone(rng) if rng.random() < 0.85 else ""
        patient = BenchPatient(pid, person.zh, phone, nid, [(r[2], r[3]) for r in regs], counts[pid - 1])
        row = (pid, nid, person.zh, person.en, sex, birth, phone, "中原省嵩阳市青石县", None, EPOCH, None)
        yield patient, row, regs


def make_entries(rng: random.Random, patient: BenchPatient, network: Network, next_id: int
                 ) -> tuple[list[tuple], dict[str, list[tuple]]]:
    """`patient.entries` entries in visits: an encounter, then observations and now and then a
    diagnosis, a prescription or a procedure, all at the visit's facility by one of its doctors."""
    spine: list[tuple] = []
    sub: dict[str, list[tuple]] = {t: [] for t in SUBTYPES}
    times = sorted(rng.randrange(HISTORY_DAYS * 24 * 60) for _ in range(max(1, patient.entries // 5)))
    visit = 0
    while len(spine) < patient.entries:
        at = EPOCH - dt.timedelta(minutes=HISTORY_DAYS * 24 * 60 - times[min(visit, len(times) - 1)])
        facility = rng.choice(patient.registrations)[0]
        author = rng.choice(network.doctors[facility])
        encounter = next_id + len(spine)
        for kind, table, code, typed in _visit_entries(rng, patient.entries - len(spine)):
            entry_id = next_id + len(spine)
            spine.append((entry_id, patient.id, kind, at, at, facility, author,
                          None if kind == "encounter" else encounter, *code, None, None, None))
            sub[table].append((entry_id, *typed))
        visit += 1
    return spine, sub


def _visit_entries(rng: random.Random, room: int) -> Iterator[tuple[str, str, tuple, tuple]]:
    yield "encounter", "encounters", ("", "", "随访"), ("outpatient", None, "随访", None)
    for loinc in rng.sample(LOINC_CODES, min(room - 1, rng.randint(2, 5))):
        code = OBSERVATIONS[loinc]
        value = round(rng.uniform(code.ref_low or 1, (code.ref_high or 100) * 1.2), 1)
        yield "observation", "observations", ("LOINC", loinc, code.name_en), (
            code.category, value, "", code.unit, code.ref_low, code.ref_high, "N")
    extra = rng.random()
    if room > 6 and extra < 0.06:
        yield "condition", "conditions", ("ICD-10", "I10", "Essential (primary) hypertension"), (
            "active", "confirmed", "")
    elif room > 6 and extra < 0.12:
        yield "medication", "medication_statements", ("ATC", "C08CA01", "氨氯地平片"), ("5 mg", "口服", "qd", "active")
    elif room > 6 and extra < 0.14:
        yield "procedure", "procedures", ("ICD-9-CM-3", "89.52", "心电图检查"), ("心脏", "完成")


def _sqlite_value(value: object) -> object:
    # SQLAlchemy's SQLite DATETIME text format; the service compares against exactly this form.
    if isinstance(value, dt.datetime):
        return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S.%f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sqlite_rows(rows: list[tuple]) -> list[tuple]:
    return [tuple(_sqlite_value(v) for v in row) for row in rows]


@dataclass
class Chunk:
    patients: list[BenchPatient] = field(default_factory=list)
    patient_rows: list[tuple] = field(default_factory=list)
    registrations: list[tuple] = field(default_factory=list)
    spine: list[tuple] = field(default_factory=list)
    sub: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in SUBTYPES})

    def tables(self) -> Iterator[tuple[str, tuple, list[tuple]]]:
        """In foreign-key order."""
        yield "patients", PATIENT, self.patient_rows
        yield "patient_registrations", REGISTRATION, self.registrations
        yield "record_entries", SPINE, self.spine
        for table, rows in self.sub.items():
            yield table, SUBTYPES[table], rows


def chunks(network: Network, patients: int, entries: int) -> Iterator[Chunk]:
    """The whole data set, CHUNK_PATIENTS patients at a time, so memory stays flat."""
    rng = random.Random(SEED + 1)
    next_id, chunk = 1, Chunk()
    for patient, row, regs in make_patients(network, patients, entries):
        spine, sub = make_entries(rng, patient, network, next_id)
        next_id += len(spine)
        chunk.patients.append(patient)
        chunk.patient_rows.append(row)
        chunk.registrations += regs
        chunk.spine += spine
        for table, rows in sub.items():
            chunk.sub[table] += rows
        if len(chunk.patients) == CHUNK_PATIENTS:
            yield chunk
            chunk = Chunk()
    if chunk.patients:
        yield chunk


def load_sqlite(path: str, network: Network, patients: int, entries: int) -> list[BenchPatient]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")  # 1 GB page cache while loading
    conn.execute("BEGIN")
    out: list[BenchPatient] = []
    for chunk in chunks(network, patients, entries):
        for table, columns, rows in chunk.tables():
            marks = ",".join("?" * len(columns))
            conn.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", _sqlite_rows(rows))
        out += chunk.patients
    conn.execute("COMMIT")
    conn.close()
    return out


async def load_postgres(conn, network: Network, patients: int, entries: int) -> list[BenchPatient]:  # noqa: ANN001
    out: list[BenchPatient] = []
    async with conn.transaction():
        for chunk in chunks(network, patients, entries):
            for table, columns, rows in chunk.tables():
                if rows:
                    await conn.copy_records_to_table(table, records=rows, columns=list(columns))
            out += chunk.patients
        for table in ("patients", "patient_registrations", "record_entries"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
    return out


def bench_patients(network: Network, patients: int, entries: int) -> list[BenchPatient]:
    """The patients of an already loaded data set, regenerated (the generator is deterministic)."""
    return [patient for patient, _, _ in make_patients(network, patients, entries)]
