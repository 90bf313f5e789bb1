"""Two people in two Chromium browsers: the sending doctor has the order page open; the
reader at the hub claims the order on the reading page, fills the structured form (autosaved),
flags a critical finding and signs; the sender's open page shows the signed report and the critical
banner without a reload, and the sender acknowledges it. A real `carebridge serve` on loopback with
its own database built by the migrations; the world is arranged through the services."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.diagnostics import service, studies
from carebridge.diagnostics.report_models import ReadingHubSettings
from carebridge.diagnostics.studies import Arrival
from carebridge.network.models import Facility, Practitioner, ServiceOffering, Tier
from carebridge.records.models import Patient, PatientRegistration
from tests.browser.conftest import Shots
from tests.browser.diagnosis_server import start_server
from tests.browser.steps import sign_in
from tests.conftest import ENGINES

pytestmark = pytest.mark.browser
PASSWORD = "reports-browser-password"
ADMIN_TOTP = pyotp.random_base32()
IMPRESSION = "右侧大脑中动脉供血区急性脑梗死，未见出血。"


async def _arrives(session, sender_id: int, hub_id: int, order, uid: str) -> None:  # noqa: ANN001
    await studies.receive_item(session, Arrival(study_uid=uid, sending_facility_id=sender_id, hub_facility_id=hub_id,
                                                modality=order.modality, size_bytes=1000, single_object=True,
                                                order_id=order.id))


async def _arrange(session, blob_dir) -> dict:  # noqa: ANN001
    hub = Facility(code="RB-HUB", name="江城市中心医院", name_en="Jiangcheng Central Hospital",
                   tier=Tier.city_hospital.value)
    community = Facility(code="RB-COMM", name="东湖社区卫生服务中心", name_en="Donghu Community Health Center",
                         tier=Tier.community_center.value)
    session.add_all([hub, community])
    await session.flush()
    session.add(ServiceOffering(facility_id=hub.id, kind="imaging_reading", open_to_all=True, active=True))
    sender = await auth.create_user(session, username="dr.sender", display_name="周敏 (社区)", password=PASSWORD,
                                    roles=[(Role.doctor, community.id)])
    reader = await auth.create_user(session, username="dr.reader", display_name="林涛 (影像科)", password=PASSWORD,
                                    roles=[(Role.doctor, hub.id)])
    session.add(Practitioner(user_id=reader.id, title="attending", license_no="RB-0001", languages=["zh"]))
    patient = Patient(name="赵德胜", name_en="Zhao Desheng", sex="male", birth_date=dt.date(1949, 11, 2),
                      national_id="110105194911020019")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=community.id, mrn="DH-00777"))
    session.add(Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=sender.id,
                        facility_id=community.id))
    await session.flush()
    order = await service.order_diagnosis(session, await auth.load_principal(session, sender, via="token"),
                                          service.OrderRequest(patient_id=patient.id, modality="CT", body_part="HEAD",
                                                               clinical_question="左侧肢体无力2小时，排除脑出血。",
                                                               urgency="stat"))
    await _arrives(session, community.id, hub.id, order, "1.2.826.0.1.3680043.9.77.1")
    second = await service.order_diagnosis(session, await auth.load_principal(session, sender, via="token"),
                                           service.OrderRequest(patient_id=patient.id, modality="MG",
                                                                clinical_question="右乳外上象限可触及肿块。"))
    await _arrives(session, community.id, hub.id, second, "1.2.826.0.1.3680043.9.77.2")
    third = await service.order_diagnosis(session, await auth.load_principal(session, sender, via="token"),
                                          service.OrderRequest(patient_id=patient.id, modality="CT", body_part="CHEST",
                                                               clinical_question="咳嗽两周，发热。"))
    await _arrives(session, community.id, hub.id, third, "1.2.826.0.1.3680043.9.77.3")
    second_reader = await auth.create_user(session, username="dr.second", display_name="郭静 (影像科)",
                                           password=PASSWORD, roles=[(Role.doctor, hub.id)])
    session.add(Practitioner(user_id=second_reader.id, title="chief", license_no="RB-0002", languages=["zh"]))
    admin = await auth.create_user(session, username="hub.admin", display_name="钱主任 (管理)", password=PASSWORD,
                                   roles=[(Role.facility_admin, hub.id)])
    admin.totp_secret, admin.totp_enabled = ADMIN_TOTP, True  # administrators sign in with a second factor
    session.add(ReadingHubSettings(facility_id=hub.id, two_step=False, double_read_percent=100))
    await session.flush()
    return {"order_id": order.id, "phone_order_id": second.id, "qa_order_id": third.id,
            "qa_accession": third.accession_number, "hub_id": hub.id}


@pytest.fixture(scope="module", params=ENGINES)
async def live(request, tmp_path_factory):  # noqa: ANN001, ANN201
    server = await start_server(request.param, tmp_path_factory.mktemp(f"reports-live-{request.param}"),
                                "reports_browser", _arrange)
    yield server.base_url, server.ids
    server.stop()


async def _person(browser, base_url: str, name: str, width: int = 1280, height: int = 860):  # noqa: ANN001, ANN202
    context = await browser.new_context(viewport={"width": width, "height": height}, base_url=base_url,
                                         locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(10_000)
    page.shots = Shots(page, name)
    page.console_lines = []
    page.on("console", lambda m: page.console_lines.append(f"{m.type}: {m.text} ({m.location.get('url', '')})"))
    # A request the page itself abandons by navigating away (the viewer's image list) is not a failure.
    page.on("requestfailed", lambda r: "ERR_ABORTED" not in (r.failure or "")
            and page.console_lines.append(f"http failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and page.console_lines.append(f"http {r.status}: {r.url}"))
    return page


async def test_the_reader_signs_and_the_senders_open_page_shows_it_without_reload(live, browser):
    base_url, world = live
    report_url = f"/diagnosis/orders/{world['order_id']}/report"
    sender = await _person(browser, base_url, "reports-sender")
    reader = await _person(browser, base_url, "reports-reader")
    try:
        await sign_in(sender, "dr.sender", PASSWORD)
        await sender.goto(f"/diagnosis/orders/{world['order_id']}")  # the order page, with the report panel
        await sender.locator("[data-testid=report-pending]").wait_for()
        await sender.evaluate("window.__notReloaded = true")

        await sign_in(reader, "dr.reader", PASSWORD)
        await reader.goto(f"/diagnosis/orders/{world['order_id']}/read")
        await reader.click("[data-testid=claim]")
        await reader.locator("[data-testid=claim-countdown]").wait_for()
        await reader.select_option("[data-testid=field-haemorrhage]", "none")
        await reader.select_option("[data-testid=field-infarct]", "present")
        await reader.fill("[data-testid=field-midline_shift]", "0")
        await reader.fill("[data-testid=report-impression-input]", IMPRESSION)
        await reader.locator("#autosave-status[data-state=saved]").wait_for()
        await reader.check("[data-testid=report-critical-flag]")
        await reader.fill("[data-testid=report-critical-note]", "急性脑梗死，溶栓时间窗内")
        await reader.shots("writes-the-report")
        await reader.click("[data-testid=report-sign-final]")
        await reader.wait_for_url(f"**{report_url}")
        await reader.locator("[data-testid=report-verified][data-verified=true]").wait_for()
        await reader.shots("signed")

        # The sender's page was open all along: the live panel shows the report and the banner.
        await sender.locator("[data-testid=report-panel][data-signed=true]").wait_for(timeout=8_000)
        assert await sender.evaluate("window.__notReloaded") is True
        assert IMPRESSION in await sender.locator("[data-testid=report-impression]").inner_text()
        assert await sender.locator("[data-testid=report-critical][data-critical=unacknowledged]").count() == 1
        await sender.shots("sees-the-report-live")
        await sender.fill("[data-testid=report-ack-note]", "已通知急诊，启动溶栓流程")
        await sender.click("[data-testid=report-ack]")
        await sender.wait_for_url(f"**/diagnosis/orders/{world['order_id']}")  # back on the order page
        await sender.locator("[data-testid=report-critical][data-critical=acknowledged]").wait_for()
        await sender.shots("acknowledged")
    finally:
        for page in (sender, reader):
            errors = [line for line in page.console_lines if line.startswith(("error", "http"))
                      and "favicon.ico" not in line]
            await page.context.close()
            assert not errors, errors


async def test_the_reading_page_fits_a_phone(live, browser):
    base_url, world = live
    reader = await _person(browser, base_url, "reports-reader-phone", width=390, height=844)
    try:
        await sign_in(reader, "dr.reader", PASSWORD)
        await reader.goto(f"/diagnosis/orders/{world['phone_order_id']}/read")
        await reader.click("[data-testid=claim]")
        await reader.locator("[data-testid=claim-countdown]").wait_for()
        await reader.select_option("[data-testid=field-birads]", "4B")
        await reader.locator("#autosave-status[data-state=saved]").wait_for()
        width = await reader.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
        box = await reader.locator("[data-testid=report-sign-final]").bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44  # a thumb can hit it
        await reader.shots("phone")
    finally:
        errors = [line for line in reader.console_lines if line.startswith(("error", "http"))
                  and "favicon.ico" not in line]
        await reader.context.close()
        assert not errors, errors


async def test_a_second_attending_double_reads_blind_and_the_admin_sees_the_discrepancy(live, browser):
    base_url, world = live
    reader = await _person(browser, base_url, "reports-qa-first")
    second = await _person(browser, base_url, "reports-qa-second", width=390, height=844)
    admin = await _person(browser, base_url, "reports-qa-admin")
    try:
        await sign_in(reader, "dr.reader", PASSWORD)
        await reader.goto(f"/diagnosis/orders/{world['qa_order_id']}/read")
        await reader.click("[data-testid=claim]")
        await reader.select_option("[data-testid=field-consolidation]", "present")
        await reader.fill("[data-testid=report-impression-input]", "右下肺炎。")
        await reader.click("[data-testid=report-sign-final]")
        await reader.locator("[data-testid=report-verified][data-verified=true]").wait_for()

        await sign_in(second, "dr.second", PASSWORD)
        await second.goto("/diagnosis/qa")
        await second.locator("tr", has_text=world["qa_accession"]).locator("a").click()
        await second.locator("[data-testid=qa-reading-form]").wait_for()
        assert "右下肺炎。" not in await second.content()  # blind
        await second.goto(f"/diagnosis/orders/{world['qa_order_id']}/report")
        await second.locator("[data-testid=report-blinded]").wait_for()
        await second.go_back()
        await second.fill("[data-testid=qa-impression]", "右下肺炎，伴右侧少量胸腔积液。")
        await second.shots("reads-blind")
        await second.click("[data-testid=qa-submit]")
        assert "右下肺炎。" in await second.locator("[data-testid=qa-first-impression]").inner_text()
        await second.check("[data-testid=qa-grade-2a]")
        await second.fill("[data-testid=qa-comment]", "漏报右侧少量胸腔积液。")
        await second.click("[data-testid=qa-grade-submit]")
        await second.locator("[data-testid=qa-grade-result]").wait_for()
        await second.shots("graded")

        await sign_in(admin, "hub.admin", PASSWORD, ADMIN_TOTP)
        await admin.goto(f"/diagnosis/hubs/{world['hub_id']}/qa")
        row = admin.locator("[data-testid=qa-stats] tbody tr", has_text="林涛")
        assert "1" in await row.inner_text()
        assert await admin.locator("[data-testid=qa-discrepancies] tbody tr", has_text="2a").count() >= 1
        await admin.shots("quality")
        await admin.goto(f"/diagnosis/hubs/{world['hub_id']}/reading-settings")
        await admin.shots("settings")
    finally:
        for page in (reader, second, admin):
            errors = [line for line in page.console_lines if line.startswith(("error", "http"))
                      and "favicon.ico" not in line]
            await page.context.close()
            assert not errors, errors
