"""The small network the DICOM ingest bench sends into: a community centre (the sender, with its CT
registered as DICOM peer BENCH), a city hospital reading its images, a doctor at the centre (the
API token the bench polls the order with), a patient and one order per accession number. Built
through the services on a fresh database made by the real migrations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from alembic import command
from sqlalchemy import text

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.db import make_engine, make_sessionmaker, unit_of_work
from carebridge.diagnostics import service as diagnosis
from carebridge.diagnostics.imaging import peers
from carebridge.migrations import alembic_config
from carebridge.network.models import Facility, ServiceKind, ServiceOffering, Tier
from carebridge.records.models import Patient, PatientRegistration

PEER_AE = "BENCH"
MRN = "BENCH-MRN-1"


@dataclass
class BenchWorld:
    token: str
    order_ids: dict[str, int]  # accession number -> order id


async def fresh_database(url: str) -> None:
    """PostgreSQL: drop and re-create the database (only one whose name starts with `bench`)."""
    if url.startswith("postgresql"):
        base, name = url.rsplit("/", 1)
        if not name.startswith("bench"):
            raise SystemExit(f"refusing to drop database {name!r}: bench databases start with 'bench'")
        admin = make_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()


async def arrange(url: str, accessions: list[str]) -> BenchWorld:
    await fresh_database(url)
    import asyncio

    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            return await _arrange(session, accessions)
    finally:
        await engine.dispose()


async def _arrange(session, accessions: list[str]) -> BenchWorld:  # noqa: ANN001
    community = Facility(code="BENCH-CC", name="基准社区卫生服务中心", name_en="Bench community centre",
                         tier=Tier.community_center.value)
    hub = Facility(code="BENCH-HUB", name="基准市医院", name_en="Bench city hospital", tier=Tier.city_hospital.value)
    session.add_all([community, hub])
    await session.flush()
    session.add(ServiceOffering(facility_id=hub.id, kind=ServiceKind.imaging_reading.value, open_to_all=True,
                                active=True))
    doctor = await auth.create_user(session, username="bench-doctor", display_name="Bench doctor",
                                    password="bench-password-123", roles=[("doctor", community.id)])
    admin = await auth.create_user(session, username="bench-admin", display_name="Bench admin",
                                   password="bench-password-123", roles=[("facility_admin", community.id)])
    patient = Patient(name="基准患者", sex="female", birth_date=dt.date(1960, 1, 1), national_id="110105196001010000")
    session.add(patient)
    await session.flush()
    session.add_all([PatientRegistration(patient_id=patient.id, facility_id=community.id, mrn=MRN),
                     Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=doctor.id,
                             facility_id=community.id)])
    await session.flush()
    await peers.register_peer(session, await auth.load_principal(session, admin, via="token"), community.id,
                              peers.PeerData(PEER_AE, "bench storescu"))
    principal = await auth.load_principal(session, doctor, via="token")
    order_ids = {}
    for accession in accessions:
        order = await diagnosis.order_diagnosis(session, principal, diagnosis.OrderRequest(
            patient_id=patient.id, modality="CT", clinical_question="Bench: head CT after a fall",
            accession_number=accession))
        order_ids[accession] = order.id
    secret, _ = await auth.create_api_token(session, principal, "bench")
    return BenchWorld(secret, order_ids)
