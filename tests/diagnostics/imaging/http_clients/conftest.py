"""A live `carebridge serve` (granian) with a small imaging world, for the tests that talk to it as
real clients do: dicomweb-client over HTTP with a Bearer token, and Chromium signing in and reading.
Its own database (SQLite file, or `<test db>_imaging` on PostgreSQL) and blob folder, arranged
through the real services; the DICOM listener is off (nothing here needs it)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.db import make_engine, make_sessionmaker, unit_of_work
from carebridge.diagnostics import service as diagnosis
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_series
from carebridge.diagnostics.imaging.store import store_instance
from carebridge.kit.blobs import LocalBlobStore
from carebridge.migrations import alembic_config
from carebridge.network.models import Facility, ServiceOffering, Tier
from carebridge.records.models import Patient, PatientRegistration
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _free_port, _wait_until_up
from tests.conftest import ENGINES
from tests.diagnostics.imaging.live import database_url

PASSWORD = "imaging-test-password"
SLICES = 20


async def _store_study(session: AsyncSession, blobs: LocalBlobStore, sender: Facility, hub: Facility, mrn: str,
                       accession: str, count: int, when: dt.datetime, description: str) -> dict:
    spec = SeriesSpec(patient_id=mrn, patient_name="WANG^XIUYING", accession_number=accession, count=count,
                      size=256, when=when, study_description=description)
    stored = [await store_instance(session, blobs, data, sending_facility_id=sender.id, hub_facility_id=hub.id,
                                   calling_ae="CT1") for data in ct_series(spec)]
    return {"study_uid": spec.study_uid, "series_uid": spec.series_uid,
            "sop_uids": [s.sop_instance_uid for s in stored]}


async def arrange_imaging_world(session: AsyncSession, blob_dir: Path) -> dict:
    """A community centre sends head CTs to the city hospital's reading hub: one from last year (the
    prior) and today's. A doctor at an unrelated hospital has an account too."""
    community = Facility(code="IMG-COMM", name="东坝社区卫生服务中心", name_en="Dongba Community Health Center",
                         tier=Tier.community_center.value)
    hub = Facility(code="IMG-HUB", name="市第一医院影像中心", name_en="City No.1 Hospital Imaging",
                   tier=Tier.city_hospital.value)
    elsewhere = Facility(code="IMG-ELSE", name="南山县医院", name_en="Nanshan County Hospital",
                         tier=Tier.county_hospital.value)
    session.add_all([community, hub, elsewhere])
    await session.flush()
    session.add(ServiceOffering(facility_id=hub.id, kind="imaging_reading", open_to_all=True, active=True))
    sender = await auth.create_user(session, username="img.sender", display_name="张医生 (社区)", password=PASSWORD,
                                    roles=[(Role.doctor, community.id)])
    reader = await auth.create_user(session, username="img.reader", display_name="周医生 (影像)", password=PASSWORD,
                                    roles=[(Role.doctor, hub.id)])
    outsider = await auth.create_user(session, username="img.outsider", display_name="吴医生", password=PASSWORD,
                                      roles=[(Role.doctor, elsewhere.id)])
    patient = Patient(name="王秀英", name_en="Wang Xiuying", sex="female", birth_date=dt.date(1952, 3, 8))
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=community.id, mrn="DB-000731"))
    session.add(Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=sender.id,
                        facility_id=community.id))
    await session.flush()
    sending = await auth.load_principal(session, sender, via="token")
    orders, studies = [], []
    for when, count, description in ((dt.datetime(2025, 4, 2, 14, 0), 8, "CT HEAD 2025"),
                                     (dt.datetime(2026, 3, 1, 9, 30), SLICES, "CT HEAD")):
        order = await diagnosis.order_diagnosis(session, sending, diagnosis.OrderRequest(
            patient_id=patient.id, modality="CT", clinical_question="Headache after a fall: bleeding?"))
        orders.append(order)
        studies.append(await _store_study(session, LocalBlobStore(blob_dir), community, hub, "DB-000731",
                                          order.accession_number, count, when, description))
    tokens = {}
    for user in (reader, sender, outsider):
        principal = await auth.load_principal(session, user, via="token")
        tokens[user.username], _ = await auth.create_api_token(session, principal, "live test")
    return {"password": PASSWORD, "reader": reader.username, "sender": sender.username,
            "outsider": outsider.username, "tokens": tokens, "order_id": orders[1].id,
            "prior_order_id": orders[0].id, "study": studies[1], "prior": studies[0], "patient_name": patient.name}


class ImagingServer:
    def __init__(self, base_url: str, world: dict) -> None:
        self.base_url, self.world = base_url, world


@pytest.fixture(scope="session", params=ENGINES)
async def imaging_server(request, tmp_path_factory):  # noqa: ANN001, ANN201
    tmp = tmp_path_factory.mktemp(f"imaging-live-{request.param}")
    url = await database_url(request.param, tmp, "_imaging")
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        world = await arrange_imaging_world(session, tmp / "blobs")
    await engine.dispose()
    port = _free_port()
    env = {**os.environ, "CAREBRIDGE_DATABASE_URL": url, "CAREBRIDGE_DATA_DIR": str(tmp),
           "CAREBRIDGE_BLOB_DIR": str(tmp / "blobs"), "CAREBRIDGE_DICOM_ENABLED": "false",
           "CAREBRIDGE_DICOM_PORT": str(_free_port())}
    log = (tmp / "server.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "carebridge", "serve", "--host", "127.0.0.1",  # noqa: ASYNC220
                                "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    _wait_until_up(base_url, process, tmp / "server.log")
    yield ImagingServer(base_url, world)
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture(scope="session")
async def chromium():  # noqa: ANN201
    if not CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: CI must run the browser tests")
        pytest.skip("chromium not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()
