"""A refill end to end in Chromium against a real `carebridge serve`: the patient, on a phone, asks
to refill a long-term prescription; the township doctor approves it on a laptop; the county
pharmacist opens it from the review queue, sees the automatic checks (clopidogrel with the
omeprazole in the record) and approves; the patient's phone shows the refill approved with
"Get my medicine"; the patient has it delivered, pays, the pharmacist packs it and hands it to the
courier, and the courier's signed webhook marks it delivered; the prescription then reads dispensed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from carebridge.auth import service as auth
from carebridge.auth.models import Role, User
from carebridge.kit.clock import utcnow
from carebridge.network.models import Facility, FacilityLink, Tier
from carebridge.portal.pharmacy import dispensing, service
from carebridge.records.models import MedicationStatement, Patient, PatientRegistration
from tests.browser import diagnosis_server
from tests.browser.conftest import Shots
from tests.browser.steps import sign_in
from tests.conftest import ENGINES
from tests.delivery.conftest import COURIER_SECRET, event, signed

pytestmark = pytest.mark.browser
PASSWORD = "pharmacy-journey-password"
PHONE, LAPTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 860}
TRACKING = "SF7702026112301"


async def _arrange(session, blob_dir: Path) -> dict:  # noqa: ANN001, ARG001
    county = Facility(code="PJ-CTY", name="青山县人民医院", name_en="Qingshan County Hospital",
                      tier=Tier.county_hospital.value)
    town = Facility(code="PJ-TWN", name="青山乡卫生院", name_en="Qingshan Township Health Centre",
                    tier=Tier.township_center.value)
    session.add_all([county, town])
    await session.flush()
    session.add(FacilityLink(facility_id=town.id, hub_id=county.id))
    doctor = await auth.create_user(session, username="dr.zhou", display_name="周医生", password=PASSWORD,
                                    roles=[(Role.doctor, town.id)])
    await auth.create_user(session, username="ph.qian", display_name="钱药师", password=PASSWORD,
                           roles=[(Role.pharmacist, county.id)])
    patient = Patient(name="孙秀英", name_en="Sun Xiuying", sex="female", birth_date=dt.date(1953, 8, 19),
                      national_id="420106195308191228")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=town.id, mrn="QS-000318"))
    await auth.create_user(session, username="sun.xiuying", display_name="孙秀英", password=PASSWORD,
                           roles=[(Role.patient, town.id)], patient_id=patient.id)
    session.add(MedicationStatement(patient_id=patient.id, occurred_at=utcnow() - dt.timedelta(days=200),
                                    facility_id=town.id, code_system="ATC", code="A02BC01", display="奥美拉唑肠溶胶囊",
                                    dose="20 mg", route="口服", frequency="qd", status="active"))
    await session.flush()
    writer = await auth.load_principal(session, doctor, via="token")
    order = await service.write_prescription(session, writer, service.PrescriptionInput(
        patient_id=patient.id, kind="chronic", diagnosis="冠心病支架术后；高血压", refills_allowed=2, items=(
            service.ItemInput("clopidogrel-75mg-tab", 75, "qd", 28),
            service.ItemInput("amlodipine-5mg-tab", 5, "qd", 28))))
    pharmacist = await auth.load_principal(session, await _user(session, "ph.qian"), via="token")
    await service.review(session, pharmacist, order.id, "approve")
    await dispensing.mark_dispensed(session, order.id)
    return {"order_id": order.id, "patient_id": patient.id}


async def _user(session, username: str) -> User:  # noqa: ANN001
    return await session.scalar(select(User).where(User.username == username))


@pytest.fixture(scope="module", params=ENGINES)
async def pharmacy_server(request, tmp_path_factory):  # noqa: ANN001, ANN201
    server = await diagnosis_server.start_server(
        request.param, tmp_path_factory.mktemp(f"pharmacy-{request.param}"), "pharmacy_journey", _arrange,
        env={"CAREBRIDGE_DELIVERY_COURIER_SECRETS": json.dumps({"sf": COURIER_SECRET})})
    yield server
    server.stop()


async def _person(browser, base_url: str, viewport: dict, name: str):  # noqa: ANN001, ANN202
    context = await browser.new_context(viewport=viewport, base_url=base_url, locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(15_000)
    page.shots = Shots(page, name)
    page.problems = []
    page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
            and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("favicon.ico")
            and page.problems.append(f"{r.status} {r.url}"))
    return page


async def test_a_refill_the_doctor_and_the_pharmacist_approve(browser, pharmacy_server):
    order, base = pharmacy_server.ids["order_id"], pharmacy_server.base_url
    engine = "sqlite" if pharmacy_server.url.startswith("sqlite") else "postgresql"
    patient = await _person(browser, base, PHONE, f"pharmacy-{engine}-patient")
    doctor = await _person(browser, base, LAPTOP, f"pharmacy-{engine}-doctor")
    pharmacist = await _person(browser, base, LAPTOP, f"pharmacy-{engine}-pharmacist")
    try:
        await sign_in(patient, "sun.xiuying", PASSWORD)
        await patient.goto("/portal/prescriptions")
        await patient.shots("my-prescriptions")
        await patient.click(f"[data-testid=refill-{order}]")
        await patient.locator("[data-testid=refill-asked]").wait_for()
        await patient.shots("refill-asked")

        await sign_in(doctor, "dr.zhou", PASSWORD)
        await doctor.goto(f"/prescriptions/new?patient={pharmacy_server.ids['patient_id']}")
        await doctor.select_option("[data-testid=rx-drug-0]", "metformin-500mg-tab")
        await doctor.fill("[data-testid=rx-dose-0]", "500")
        await doctor.select_option("[data-testid=rx-frequency-0]", "tid")
        suggested = doctor.locator("[data-testid=rx-line-0] [data-testid=rx-suggested]")
        await suggested.wait_for()  # the quantity the line needs, from dose × frequency × days
        assert "2" in await suggested.inner_text()
        await doctor.shots("write-form")
        await doctor.goto("/prescriptions/refills")
        await doctor.locator("[data-testid=refill-inbox-list] a").first.click()
        await doctor.shots("refill-request")
        await doctor.click("[data-testid=refill-approve]")
        await doctor.wait_for_url("**/prescriptions/*")
        assert "pending_review" in await doctor.locator("[data-testid=rx-state]").get_attribute("class")
        refill_id = int(doctor.url.rsplit("/", 1)[1])

        await sign_in(pharmacist, "ph.qian", PASSWORD)
        await pharmacist.goto("/pharmacy/review")
        await pharmacist.shots("queue")
        await pharmacist.click(f"[data-testid=review-{refill_id}]")
        check = pharmacist.locator("[data-testid=rx-checks] li[data-kind=interaction]")
        await check.first.wait_for()
        assert await check.first.get_attribute("data-severity") == "major"
        assert "奥美拉唑" in await check.first.inner_text()
        await pharmacist.shots("review")
        await pharmacist.click("[data-testid=action-approve]")
        await pharmacist.locator("[data-testid=queue-empty]").wait_for()

        await patient.goto("/portal/prescriptions")
        state = patient.locator(f"[data-testid=my-rx-state-{refill_id}]")
        assert "rx-state-approved" in await state.get_attribute("class")
        assert (await state.inner_text()).strip() in ("已通过", "Approved")
        assert await patient.locator(f"[data-testid=get-medicine-{refill_id}]").get_attribute("href") == (
            f"/portal/deliveries/new?prescription={refill_id}")
        await patient.shots("refill-approved")
        await _delivered(patient, pharmacist, base, refill_id)
    finally:
        for page in (patient, doctor, pharmacist):
            problems = list(page.problems)
            await page.context.close()
            assert not problems, problems


async def _delivered(patient, pharmacist, base: str, refill_id: int) -> None:  # noqa: ANN001
    """The approved refill goes home: delivery chosen and paid on the phone, packed and shipped by the
    pharmacist, reported delivered by the courier's signed webhook."""
    await patient.click(f"[data-testid=get-medicine-{refill_id}]")
    await patient.get_by_test_id("method-delivery").check()
    await patient.fill("input[name=recipient]", "孙秀英")
    await patient.fill("input[name=phone]", "13900139000")
    await patient.fill("input[name=region]", "湖北省 青山县 城关镇")
    await patient.fill("input[name=detail]", "解放路 12 号 1 单元 201")
    await patient.get_by_test_id("delivery-submit").click()
    await patient.wait_for_url("**/payments/charges/**")
    await patient.get_by_test_id("pay").click()
    await patient.get_by_test_id("confirm-payment").click()
    await patient.get_by_test_id("charge-status").filter(has_text="已支付").wait_for()
    await patient.get_by_test_id("back-to-purpose").click()
    await patient.locator("[data-testid=delivery-state].state-paid").wait_for()
    order_url = patient.url

    await pharmacist.goto("/pharmacy/dispensing")
    await pharmacist.locator("button[data-testid^=pack-]").first.click()
    await pharmacist.locator("select[name=courier]").first.select_option("sf")
    await pharmacist.locator("input[name=tracking_number]").first.fill(TRACKING)
    await pharmacist.locator("button[data-testid^=ship-]").first.click()
    await pharmacist.get_by_text(TRACKING).first.wait_for()

    body, headers = signed(event(TRACKING, "delivered", "sf-rx-1", dt.datetime.now(dt.UTC), "青山县城关镇"))
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post("/api/v1/delivery/courier/sf/events", content=body, headers=headers)
    assert response.json() == {"status": "applied"}
    await patient.goto(order_url)
    await patient.locator("[data-testid=delivery-state].state-delivered").wait_for()
    await patient.shots("delivered")
    await patient.goto("/portal/prescriptions")
    assert "rx-state-dispensed" in await patient.locator(f"[data-testid=my-rx-state-{refill_id}]").get_attribute(
        "class")
