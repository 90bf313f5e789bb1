"""Remote diagnosis end to end in Chromium, against a real `carebridge serve` whose completion loop
runs: a community centre's technician uploads a head CT for a STAT order from the order page; the
study goes quiet, completes and appears on the hub reader's open worklist; the reader presses Read,
scrolls through the slices, applies the subdural window, writes the structured report and signs it;
the community doctor, whose order page was open all along, sees the signed report without a reload
and acknowledges the critical finding."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.demo.phantom import head_ct
from carebridge.diagnostics import service
from carebridge.network.models import Facility, Practitioner, ServiceKind, ServiceOffering, Tier
from carebridge.records.models import Patient, PatientRegistration
from tests.browser.diagnosis_server import start_server
from tests.browser.steps import sign_in
from tests.conftest import ENGINES

pytestmark = pytest.mark.browser
PASSWORD = "diagnosis-journey-password"
SLICES = 12
IMPRESSION = "右侧顶部急性硬膜下血肿，中线左移约4毫米。"


async def _arrange(session, blob_dir: Path) -> dict:  # noqa: ANN001
    hub = Facility(code="DJ-HUB", name="江城市中心医院", name_en="Jiangcheng Central Hospital",
                   tier=Tier.city_hospital.value)
    centre = Facility(code="DJ-CHC", name="东湖社区卫生服务中心", name_en="Donghu Community Health Center",
                      tier=Tier.community_center.value)
    session.add_all([hub, centre])
    await session.flush()
    session.add(ServiceOffering(facility_id=hub.id, kind=ServiceKind.imaging_reading.value, open_to_all=True))
    reader = await auth.create_user(session, username="dr.lin", display_name="林放射", password=PASSWORD,
                                    roles=[(Role.doctor, hub.id)])
    session.add(Practitioner(user_id=reader.id, title="attending", license_no="DJ-0001", languages=["zh"]))
    doctor = await auth.create_user(session, username="dr.he", display_name="何全科", password=PASSWORD,
                                    roles=[(Role.doctor, centre.id)])
    await auth.create_user(session, username="tech.wu", display_name="吴技师", password=PASSWORD,
                           roles=[(Role.technician, centre.id)])
    patient = Patient(name="赵桂兰", name_en="Zhao Guilan", sex="female", birth_date=dt.date(1951, 6, 2),
                      national_id="420106195106021223")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=centre.id, mrn="DH-000457"))
    session.add(Consent(patient_id=patient.id, status="granted", recorded_by_id=doctor.id, facility_id=centre.id))
    await session.flush()
    order = await service.order_diagnosis(session, await auth.load_principal(session, doctor, via="token"),
                                          service.OrderRequest(patient_id=patient.id, modality="CT", urgency="stat",
                                                               body_part="HEAD",
                                                               clinical_question="跌倒后头痛，口服华法林：颅内出血？"))
    return {"order_id": order.id, "accession": order.accession_number}


@pytest.fixture(scope="module", params=ENGINES)
async def journey_server(request, tmp_path_factory):  # noqa: ANN001, ANN201
    server = await start_server(request.param, tmp_path_factory.mktemp(f"journey-{request.param}"),
                                "diagnosis_journey", _arrange)
    yield server
    server.stop()


async def _person(browser, base_url: str, viewport: dict | None = None):  # noqa: ANN001, ANN202
    context = await browser.new_context(viewport=viewport or {"width": 1280, "height": 860}, base_url=base_url,
                                        locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(15_000)
    page.problems = []
    page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
            and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("favicon.ico")
            and page.problems.append(f"{r.status} {r.url}"))
    return page


def _ct_files(folder: Path, accession: str) -> list[Path]:
    paths = []
    for n, data in enumerate(head_ct(("DH-000457", "ZHAO^GUILAN"), accession, dt.datetime(2026, 11, 23, 9), SLICES)):
        path = folder / f"IM{n + 1:04d}.dcm"
        path.write_bytes(data)
        paths.append(path)
    return paths


async def test_a_scan_travels_to_the_reader_and_the_signed_report_comes_back(browser, journey_server, tmp_path):
    ids, base = journey_server.ids, journey_server.base_url
    order_url = f"/diagnosis/orders/{ids['order_id']}"
    tech, reader, doctor = [await _person(browser, base) for _ in range(3)]
    try:
        await sign_in(doctor, "dr.he", PASSWORD)
        await doctor.goto(order_url)
        await doctor.locator("[data-testid=report-pending]").wait_for()
        await doctor.evaluate("window.__notReloaded = true")
        await sign_in(reader, "dr.lin", PASSWORD)
        await reader.goto("/diagnosis/worklist")
        await reader.locator("[data-testid=worklist-empty]").wait_for()

        await sign_in(tech, "tech.wu", PASSWORD)
        await tech.goto(order_url)
        await tech.click("[data-testid=upload-dicom]")
        await tech.set_input_files("#upload-files", [str(p) for p in _ct_files(tmp_path, ids["accession"])])
        await tech.click("#upload-start")
        await tech.locator("#upload-results .imaging-ok").nth(SLICES - 1).wait_for()
        assert await tech.locator("#upload-results .imaging-bad").count() == 0

        row = reader.locator("[data-testid=worklist-row]", has_text=ids["accession"])
        await row.wait_for(timeout=20_000)  # quiet period, completion loop, the page's own refresh
        await row.locator("[data-testid=read-button]").click()
        await reader.wait_for_url(f"**{order_url}/read")
        first = await reader.locator("[data-testid=slice-number]").inner_text()
        await reader.locator("[data-testid=viewer-canvas]").hover()
        for _ in range(3):
            await reader.keyboard.press("ArrowDown")
        await reader.wait_for_function(
            "first => document.querySelector('[data-testid=slice-number]').innerText !== first", arg=first)
        await reader.click("[data-testid=preset-subdural]")
        # The overlay is redrawn after the next frame is rendered; a busy machine may take a moment.
        await reader.locator("[data-testid=overlay-window]").filter(has_text="75").wait_for()

        await reader.select_option("[data-testid=field-haemorrhage]", "subdural")
        await reader.fill("[data-testid=field-midline_shift]", "4")
        await reader.fill("[data-testid=report-impression-input]", IMPRESSION)
        await reader.check("[data-testid=report-critical-flag]")
        await reader.fill("[data-testid=report-critical-note]", "急性硬膜下血肿")
        await reader.locator("#autosave-status[data-state=saved]").wait_for()
        await reader.click("[data-testid=report-sign-final]")
        await reader.locator("[data-testid=report-verified][data-verified=true]").wait_for()

        await doctor.locator("[data-testid=report-panel][data-signed=true]").wait_for(timeout=10_000)
        assert await doctor.evaluate("window.__notReloaded") is True
        assert IMPRESSION in await doctor.locator("[data-testid=report-impression]").inner_text()
        await doctor.fill("[data-testid=report-ack-note]", "已电话通知家属，转神经外科")
        await doctor.click("[data-testid=report-ack]")
        await doctor.locator("[data-testid=report-critical][data-critical=acknowledged]").wait_for()
        assert "已出报告" in await doctor.locator("[data-testid=order-state]").inner_text()
    finally:
        for page in (tech, reader, doctor):
            problems = list(page.problems)
            await page.context.close()
            assert not problems, problems
