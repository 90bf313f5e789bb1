"""A refill end to end in Chromium against a real `carebridge serve`: the patient, on a phone, asks
to refill a long-term prescription; the township doctor approves it on a laptop; the county
pharmacist opens it from the review queue, sees the automatic checks (clopidogrel with the
omeprazole in the record) and approves; the patient's phone shows the refill approved with
"Get my medicine"."""

from __future__ import annotations

import datetime as dt
import time
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

pytestmark = pytest.mark.browser
PASSWORD = "pharmacy-journey-password"
PHONE, LAPTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 860}


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
    # A worker importing the app takes ~20 s on a busy two-core machine; give it longer than the shared
    # helper's 30 s rather than fail on load, and never leave a server behind if it does not come up.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(diagnosis_server, "_wait_until_up", _patient_wait)
        server = await diagnosis_server.start_server(
            request.param, tmp_path_factory.mktemp(f"pharmacy-{request.param}"), "pharmacy_journey", _arrange)
    yield server
    server.stop()


def _patient_wait(base_url: str, process, log: Path) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    process.terminate()
    process.wait(timeout=15)
    pytest.fail(f"server did not come up:\n{log.read_text()[-3000:]}")


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
    finally:
        for page in (patient, doctor, pharmacist):
            problems = list(page.problems)
            await page.context.close()
            assert not problems, problems
