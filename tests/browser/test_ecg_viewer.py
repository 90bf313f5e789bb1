"""ECG in the browser: a township technician uploads the tracing from the order's page and sees the
viewer with the automatic pre-read; the reader at the city hospital measures an interval and an
amplitude with the calipers, changes gain and speed, and reads it on a phone; an ECG cart sends its
tracing over DICOM and the reader finds it on the worklist with its pre-read."""

import asyncio
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.browser.conftest import OUTPUT, _free_port
from tests.browser.diagnosis_server import start_server
from tests.browser.steps import sign_in
from tests.conftest import ENGINES

pytestmark = pytest.mark.browser


async def _svg_mm(page):  # noqa: ANN001, ANN202
    """The tracing's geometry: where it is on screen, and CSS pixels per SVG millimetre."""
    box = await page.locator("[data-testid=ecg-svg]").bounding_box()
    width_mm = await page.evaluate("document.querySelector('[data-testid=ecg-svg]').viewBox.baseVal.width")
    return box, box["width"] / width_mm


async def test_technician_uploads_an_ecg_and_sees_the_preread(page, live_server):
    world = live_server.world
    await sign_in(page, world["ecg_tech"], world["password"])
    await page.goto(f"/diagnosis/orders/{world['ecg_waiting_order']}/ecg")
    await page.locator("[data-testid=ecg-upload]").wait_for()
    await page.shots("upload-form")
    await page.set_input_files("[data-testid=ecg-file]", get_testdata_file("waveform_ecg.dcm"))
    await page.click("[data-testid=ecg-submit]")
    await page.locator("[data-testid=ecg-svg]").wait_for()
    measures = page.locator("[data-testid=ecg-measures]")
    await measures.wait_for()
    text = await measures.inner_text()
    assert "61" in text and "ms" in text
    assert await page.locator("[data-testid=ecg-flags] [data-flag=sinus_rhythm]").count() == 1
    panel = await page.inner_text("[data-testid=ecg-preread]")
    assert "自动预读" in panel or "Automatic pre-read" in panel  # zh-CN once the pending translations are merged
    assert await page.locator("[data-testid=ecg-svg] .ecg-trace").count() == 13  # 3x4 grid + rhythm strip
    await page.shots("uploaded-viewer")


async def test_reader_measures_with_the_calipers(page, live_server):
    world = live_server.world
    await sign_in(page, world["ecg_reader"], world["password"])
    await page.goto(f"/diagnosis/orders/{world['ecg_read_order']}/ecg")
    await page.locator("[data-testid=ecg-svg] .ecg-trace").first.wait_for()
    box, px = await _svg_mm(page)
    y = box["y"] + 30 * px
    # time caliper: two clicks one second (25 mm at 25 mm/s) apart
    await page.mouse.click(box["x"] + 40 * px, y)
    await page.mouse.click(box["x"] + 65 * px, y)
    readout = page.locator("[data-testid=ecg-readout]")
    ms = int(await readout.get_attribute("data-ms"))
    assert abs(ms - 1000) <= 20  # a screen pixel is about 14 ms at this zoom
    assert f"{round(60000 / ms)} 次/分" in await readout.inner_text()  # the page speaks zh-CN
    await page.shots("time-caliper")
    # amplitude caliper: 10 mm apart at 10 mm/mV is 1 mV
    await page.click("[data-testid=ecg-tool-amplitude]")
    await page.mouse.click(box["x"] + 50 * px, box["y"] + 20 * px)
    await page.mouse.click(box["x"] + 50 * px, box["y"] + 30 * px)
    value = float((await readout.inner_text()).split()[-2])
    assert abs(value - 1.0) <= 0.05
    await page.shots("amplitude-caliper")
    # 20 mm/mV and 50 mm/s: the paper grows, the same 1 mV is now 20 mm
    await page.select_option("[data-testid=ecg-gain]", "20")
    await page.select_option("[data-testid=ecg-speed]", "50")
    width = await page.evaluate("document.querySelector('[data-testid=ecg-svg]').viewBox.baseVal.width")
    assert width > 500
    await page.click("[data-testid=ecg-zoom-true]")
    await page.shots("gain-20-speed-50-paper-size")
    # printed, the paper is true to size: CSS millimetres are physical ones on paper
    await page.select_option("[data-testid=ecg-gain]", "10")
    await page.select_option("[data-testid=ecg-speed]", "25")
    await page.emulate_media(media="print")
    box, px = await _svg_mm(page)
    assert abs(px - 96 / 25.4) < 0.01


async def test_reader_reads_the_ecg_on_a_phone(phone, live_server):
    world = live_server.world
    await sign_in(phone, world["ecg_reader"], world["password"])
    await phone.goto(f"/diagnosis/orders/{world['ecg_read_order']}/ecg")
    await phone.locator("[data-testid=ecg-measures]").wait_for()
    await phone.locator("[data-testid=ecg-svg] .ecg-trace").first.wait_for()
    await phone.shots("phone-viewer")
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    box, px = await _svg_mm(phone)
    await phone.click("[data-testid=ecg-svg]", position={"x": 40 * px, "y": 30 * px})
    await phone.click("[data-testid=ecg-svg]", position={"x": 65 * px, "y": 30 * px})
    assert abs(int(await phone.locator("[data-testid=ecg-readout]").get_attribute("data-ms")) - 1000) <= 40


# --- an ECG cart sending over DICOM -------------------------------------------------------------

CART_PASSWORD = "ecg-cart-browser-password"


async def _arrange_cart(session, blob_dir):  # noqa: ANN001, ANN202 - a town with an ECG cart registered as a DICOM peer
    import datetime as dt

    from carebridge.access.models import Consent
    from carebridge.auth import service as auth
    from carebridge.auth.models import Role
    from carebridge.diagnostics import service as orders
    from carebridge.diagnostics.imaging import peers
    from carebridge.network.models import Facility, FacilityLink, ServiceOffering, Tier
    from carebridge.records.models import Patient, PatientRegistration

    town = Facility(code="BR-CART-TOWN", name="柳河镇卫生院", name_en="Liuhe Township Health Center",
                    tier=Tier.township_center.value)
    city = Facility(code="BR-CART-CITY", name="江城市心电诊断中心", name_en="Jiangcheng City ECG Reading Centre",
                    tier=Tier.city_hospital.value)
    session.add_all([town, city])
    await session.flush()
    session.add(FacilityLink(facility_id=town.id, hub_id=city.id))
    session.add_all(ServiceOffering(facility_id=city.id, kind=kind, open_to_all=True, active=True)
                    for kind in ("ecg_reading", "imaging_reading"))
    tech = await auth.create_user(session, username="cart.tech", display_name="孙芳 (心电技师)",
                                  password=CART_PASSWORD, roles=[(Role.technician, town.id)])
    admin = await auth.create_user(session, username="cart.admin", display_name="镇卫生院管理员",
                                   password=CART_PASSWORD, roles=[(Role.facility_admin, town.id)])
    reader = await auth.create_user(session, username="cart.reader", display_name="何伟 (心电诊断)",
                                    password=CART_PASSWORD, roles=[(Role.doctor, city.id)])
    patient = Patient(name="赵桂兰", name_en="Zhao Guilan", sex="female", birth_date=dt.date(1949, 11, 2),
                      national_id="110105194911020041")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=town.id, mrn="LH-000078"))
    session.add(Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=tech.id,
                        facility_id=town.id))
    await session.flush()
    order = await orders.order_diagnosis(session, await auth.load_principal(session, tech, via="token"),
                                         orders.OrderRequest(patient_id=patient.id, modality="ECG", urgency="urgent",
                                                             clinical_question="心悸两天，请判读心律。"))
    await peers.register_peer(session, await auth.load_principal(session, admin, via="token"), town.id,
                              peers.PeerData("ECG_CART1", "12 导联心电图机"))
    return {"order": order.id, "accession": order.accession_number, "mrn": "LH-000078", "reader": reader.username}


@pytest.fixture(params=ENGINES)
async def cart_server(request, tmp_path):  # noqa: ANN001, ANN201
    if shutil.which("storescu") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("DCMTK is not installed: CI must run the DICOM tests")
        pytest.skip("DCMTK not installed")
    port = _free_port()
    server = await start_server(request.param, tmp_path, "ecg_cart", _arrange_cart, {
        "CAREBRIDGE_DICOM_ENABLED": "true", "CAREBRIDGE_DICOM_PORT": str(port)})
    server.dicom_port = port
    yield server
    server.stop()


async def test_an_ecg_sent_by_the_cart_over_dicom_is_on_the_worklist_with_its_preread_and_opens(browser, cart_server):
    """The town's ECG cart sends the tracing with DCMTK storescu (as a cart's DICOM export does); the
    city reader sees the order on the worklist with the pre-read hint and reads it in the ECG viewer."""
    server, ids = cart_server, cart_server.ids
    ecg = dcmread(get_testdata_file("waveform_ecg.dcm"))
    ecg.AccessionNumber, ecg.PatientID, ecg.PatientName = ids["accession"], ids["mrn"], "ZHAO^GUILAN"
    ecg.StudyInstanceUID, ecg.SOPInstanceUID = generate_uid(), generate_uid()
    ecg.file_meta.MediaStorageSOPInstanceUID = ecg.SOPInstanceUID
    sent = await asyncio.to_thread(_storescu, server.dicom_port, ecg)
    assert sent.returncode == 0 and "Received Store Response (Success)" in sent.stdout, sent.stdout

    context = await browser.new_context(viewport={"width": 1280, "height": 860}, base_url=server.base_url,
                                        locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        await sign_in(page, ids["reader"], CART_PASSWORD)
        await page.goto("/diagnosis/worklist")
        row = page.locator(f"#order-{ids['order']}")
        await row.wait_for()
        hint = await row.locator("[data-testid=preread]").inner_text()
        assert "61" in hint  # the heart rate the pre-read measured (the cart printed 61/min too)
        await page.screenshot(path=str(OUTPUT / "ecg-cart-worklist.png"), full_page=True)
        await page.goto(f"/diagnosis/orders/{ids['order']}/ecg")
        await page.locator("[data-testid=ecg-svg] .ecg-trace").first.wait_for()
        assert await page.locator("[data-testid=ecg-svg] .ecg-trace").count() == 13  # 3x4 grid + rhythm strip
        assert "61" in await page.inner_text("[data-testid=ecg-measures]")
        await page.screenshot(path=str(OUTPUT / "ecg-cart-viewer.png"), full_page=True)
    finally:
        await context.close()


def _storescu(port: int, ds) -> subprocess.CompletedProcess:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ecg.dcm"
        ds.save_as(path, enforce_file_format=True)
        return subprocess.run(["storescu", "-v", "-aet", "ECG_CART1", "-aec", "CAREBRIDGE", "127.0.0.1", str(port),
                               str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "TCP_NODELAY": "1"}, timeout=120)
