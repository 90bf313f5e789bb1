"""A technician sends a CT series for an order from the upload page in Chromium: the files go one by
one, the good ones show as stored, a damaged one shows why it was refused; the facility admin's
DICOM peers page lists the CT. Screenshots at desktop and phone width."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys

import pytest

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.db import make_engine, make_sessionmaker, unit_of_work
from carebridge.diagnostics import service as diagnosis
from carebridge.diagnostics.imaging import peers
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_series
from carebridge.network.models import Facility, ServiceKind, ServiceOffering, Tier
from carebridge.records.models import Patient, PatientRegistration
from carebridge.web.deps import SESSION_COOKIE
from tests.browser.conftest import CHROMIUM, OUTPUT, _free_port, _wait_until_up
from tests.conftest import ENGINES
from tests.diagnostics.imaging import live
from tests.diagnostics.imaging.corpus import corpus

pytestmark = pytest.mark.browser


async def _arrange(url: str) -> dict:
    from alembic import command

    from carebridge.migrations import alembic_config

    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as s:
            centre = Facility(code="UP-CC", name="城东社区卫生服务中心", name_en="East community centre",
                              tier=Tier.community_center.value)
            hub = Facility(code="UP-HUB", name="市第一人民医院", name_en="City First Hospital",
                           tier=Tier.city_hospital.value)
            s.add_all([centre, hub])
            await s.flush()
            s.add(ServiceOffering(facility_id=hub.id, kind=ServiceKind.imaging_reading.value, open_to_all=True,
                                  active=True))
            tech = await auth.create_user(s, username="up-tech", display_name="李技师", password="pw-123456789",
                                          roles=[(Role.technician, centre.id)])
            admin = await auth.create_user(s, username="up-admin", display_name="管理员", password="pw-123456789",
                                           roles=[(Role.facility_admin, centre.id)])
            patient = Patient(name="王秀英", sex="female", birth_date=dt.date(1958, 3, 2),
                              national_id="110105195803020021")
            s.add(patient)
            await s.flush()
            s.add_all([PatientRegistration(patient_id=patient.id, facility_id=centre.id, mrn="E-1001"),
                       Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=tech.id,
                               facility_id=centre.id)])
            await s.flush()
            order = await diagnosis.order_diagnosis(s, await auth.load_principal(s, tech, via="token"),
                                                    diagnosis.OrderRequest(patient_id=patient.id, modality="CT",
                                                                           body_part="HEAD",
                                                                           clinical_question="跌倒后头痛，排除出血"))
            admin_principal = await auth.load_principal(s, admin, via="token")
            await peers.register_peer(s, admin_principal, centre.id, peers.PeerData("CT_ROOM1", "64 排 CT"))
            tech_cookie, _ = await auth.start_session(s, tech, ip="127.0.0.1", mfa_verified=True)
            admin_cookie, _ = await auth.start_session(s, admin, ip="127.0.0.1", mfa_verified=True)
            return {"order": order.id, "accession": order.accession_number, "centre": centre.id,
                    "tech": tech_cookie, "admin": admin_cookie}
    finally:
        await engine.dispose()


@pytest.fixture(params=ENGINES)
async def upload_server(request, tmp_path):  # noqa: ANN001, ANN201
    if not CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: CI must run the browser tests")
        pytest.skip("chromium not installed")
    url = await live.database_url(request.param, tmp_path, "_upload")
    world = await _arrange(url)
    port = _free_port()
    env = {**os.environ, "CAREBRIDGE_DATABASE_URL": url, "CAREBRIDGE_DATA_DIR": str(tmp_path),
           "CAREBRIDGE_BLOB_DIR": str(tmp_path / "blobs"), "PYTHONPATH": str(live.SRC)}
    log = tmp_path / "server.log"
    process = subprocess.Popen([sys.executable, "-m", "carebridge", "serve", "--host", "127.0.0.1", "--port",  # noqa: ASYNC220
                                str(port)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(_wait_until_up, base, process, log)
    yield base, world
    process.terminate()
    process.wait(timeout=15)


async def _page(browser, base: str, cookie: str, width: int, height: int):  # noqa: ANN001, ANN202
    context = await browser.new_context(viewport={"width": width, "height": height}, base_url=base, locale="en-US")
    await context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": base}])
    page = await context.new_page()
    page.set_default_timeout(20_000)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    # A refused file answers 422 by design; anything else failing is a problem.
    page.on("response", lambda r: page.problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and "favicon.ico" not in r.url and not r.url.endswith("/dicom") else None)
    return page


async def _shot(page, name: str) -> None:  # noqa: ANN001
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(OUTPUT / f"imaging-{name}.png"), full_page=True)


async def test_a_technician_sends_a_series_and_sees_each_file_result(browser, upload_server, tmp_path):
    base, world = upload_server
    files = []
    for i, data in enumerate(ct_series(SeriesSpec(count=3, size=256, accession_number="SCANNER"))):
        files.append(tmp_path / f"IM{i:04d}.dcm")
        files[-1].write_bytes(data)
    files.append(tmp_path / "IM9999.dcm")
    files[-1].write_bytes(corpus()["truncated"][0])
    page = await _page(browser, base, world["tech"], 1280, 860)
    await page.goto(f"/diagnosis/imaging/upload?order={world['order']}")
    assert await page.locator("#upload-order").input_value() == str(world["order"])
    await page.set_input_files("#upload-files", [str(f) for f in files])
    await page.click("#upload-start")
    await page.locator("#upload-summary", has_text="Done").wait_for()
    results = [await c.inner_text() for c in await page.locator("#upload-results tbody td:nth-child(2)").all()]
    assert results[:3] == ["stored"] * 3
    assert results[3].startswith("refused: the file is incomplete")
    assert "3 stored" in await page.locator("#upload-summary").inner_text()
    await _shot(page, "upload-desktop")
    phone = await _page(browser, base, world["tech"], 390, 844)
    await phone.goto(f"/diagnosis/imaging/upload?order={world['order']}")
    await phone.set_input_files("#upload-files", [str(f) for f in files[:2]])
    await phone.click("#upload-start")
    await phone.locator("#upload-summary", has_text="Done").wait_for()
    assert "2 already here" in await phone.locator("#upload-summary").inner_text()  # sent again: idempotent
    await _shot(phone, "upload-phone")
    assert not page.problems and not phone.problems
    await page.context.close()
    await phone.context.close()


async def test_the_admin_sees_the_registered_ct_on_the_peers_page(browser, upload_server):
    base, world = upload_server
    for width, height, name in ((1280, 860, "desktop"), (390, 844, "phone")):
        page = await _page(browser, base, world["admin"], width, height)
        await page.goto(f"/facilities/{world['centre']}/dicom-peers")
        assert await page.locator("input[name=ae_title]").first.input_value() == "CT_ROOM1"
        await _shot(page, f"peers-{name}")
        assert not page.problems
        await page.context.close()
