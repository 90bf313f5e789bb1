"""A son signs up for the internet hospital on his phone (390x844) with his phone number and the
code the server's console sender printed, gives his real name, lands on /portal, switches to his
elderly mother (whose signed paper permission her township doctor recorded) and reads her record.
His mother withdraws the permission from her own phone: his next page about her is not found and
the switcher no longer offers her. A real `carebridge serve` with its own database."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.network.models import Facility, Tier
from carebridge.portal.accounts import family
from carebridge.records.models import Condition, Observation, Patient, PatientRegistration
from tests.browser.conftest import Shots
from tests.browser.diagnosis_server import start_server
from tests.conftest import ENGINES

pytestmark = pytest.mark.browser
PASSWORD = "portal-browser-password"
SON_PHONE, MOTHER_PHONE = "13912345678", "13700001111"
SON_ID = "140402197203150031"  # valid GB 11643 check digit, born 1972-03-15, male


async def _arrange(session, blob_dir) -> dict:  # noqa: ANN001
    hospital = Facility(code="PA-HOSP", name="长治市人民医院", name_en="Changzhi People's Hospital",
                        tier=Tier.city_hospital.value)
    town = Facility(code="PA-TOWN", name="西街乡卫生院", name_en="Xijie Township Health Centre",
                    tier=Tier.township_center.value)
    session.add_all([hospital, town])
    await session.flush()
    doctor = await auth.create_user(session, username="dr.town", display_name="韩医生", password=PASSWORD,
                                    roles=[(Role.doctor, town.id)])
    mother = Patient(name="李秀英", sex="female", birth_date=dt.date(1941, 2, 3), national_id="140402194102030029",
                     phone=MOTHER_PHONE)
    session.add(mother)
    await session.flush()
    session.add(PatientRegistration(patient_id=mother.id, facility_id=town.id, mrn="XJ-00031"))
    session.add(Consent(patient_id=mother.id, status="granted", scope_all=True, recorded_by_id=doctor.id,
                        facility_id=town.id))
    now = dt.datetime.now(dt.UTC)
    session.add_all([
        Condition(patient_id=mother.id, occurred_at=now - dt.timedelta(days=400), facility_id=town.id,
                  code_system="ICD-10", code="I10", display="原发性高血压", author_id=doctor.id),
        Observation(patient_id=mother.id, occurred_at=now - dt.timedelta(days=3), facility_id=town.id,
                    code_system="LOINC", code="8480-6", display="收缩压", value_num=152, unit="mm[Hg]",
                    interpretation="H", author_id=doctor.id)])
    await auth.create_user(session, username="li.xiuying", display_name="李秀英", password=PASSWORD,
                           roles=[(Role.patient, town.id)], patient_id=mother.id, phone=MOTHER_PHONE)
    await family.record_paper_permission(
        session, await auth.load_principal(session, doctor, via="session"), mother.id,
        family.CaregiverInput(phone=SON_PHONE, name="王小明", relationship="child", scope="all"), "授权书 2026-118")
    await session.flush()
    return {"mother_id": mother.id}


@pytest.fixture(scope="module", params=ENGINES)
async def live(request, tmp_path_factory):  # noqa: ANN001, ANN201
    tmp = tmp_path_factory.mktemp(f"portal-live-{request.param}")
    server = await start_server(request.param, tmp, "portal_browser", _arrange,
                                env={"CAREBRIDGE_PORTAL_CODE_CHANNEL": "console"})
    yield server.base_url, server.ids, tmp / "server.log"
    server.stop()


def code_from_log(log: Path, phone: str) -> str:
    """The console sender's outbox, as the server printed it."""
    codes = re.findall(rf"sign-in code for {phone}: (\d{{6}})", log.read_text())
    assert codes, "no code in the server log"
    return codes[-1]


async def _phone(browser, base_url: str, name: str):  # noqa: ANN001, ANN202
    context = await browser.new_context(viewport={"width": 390, "height": 844}, base_url=base_url, locale="zh-CN",
                                         is_mobile=True, has_touch=True)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    page.shots = Shots(page, name)
    return page


async def _fits(page) -> bool:  # noqa: ANN001
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


async def test_a_son_signs_up_by_phone_acts_for_his_mother_and_loses_access_when_she_withdraws(live, browser):
    base_url, world, log = live
    son = await _phone(browser, base_url, "portal-son")
    await son.goto("/portal")
    await son.wait_for_url("**/portal/signin**")
    await son.fill("input[name=phone]", SON_PHONE)
    await son.shots("phone-number")
    await son.click("#ask-code button[type=submit]")
    await son.locator("input[name=code]").wait_for()
    await son.fill("input[name=code]", code_from_log(log, SON_PHONE))
    await son.shots("code")
    await son.click("form[action='/portal/signin'] button[type=submit]")
    await son.wait_for_url("**/portal/signup")
    await son.fill("input[name=name]", "王小明")
    await son.fill("input[name=national_id]", SON_ID)
    await son.shots("real-name")
    await son.click("form[action='/portal/signup'] button[type=submit]")
    await son.wait_for_url(re.compile(r".*/portal\?done=linked$"))
    assert await son.locator("#acting-name").inner_text() == "王小明"
    assert await _fits(son)
    await son.shots("home")

    mother_link = son.locator(f"[data-testid=switch][data-patient='{world['mother_id']}']")
    await mother_link.click()
    await son.wait_for_url(re.compile(r".*/portal$"))
    assert await son.locator("#acting-name").inner_text() == "李秀英"
    await son.shots("acting-for-mother")
    await son.click("[data-testid=tile-records]")
    await son.locator("[data-testid=conditions]").wait_for()
    assert "李秀英" in await son.locator("[data-testid=record-header]").inner_text()
    results = await son.locator("[data-testid=results]").inner_text()
    assert "152" in results
    assert await _fits(son)
    await son.shots("mothers-record")
    await son.goto("/portal/family")
    await son.shots("family")

    mother = await _phone(browser, base_url, "portal-mother")
    await mother.goto("/portal/signin?mode=password")
    await mother.fill("input[name=username]", "li.xiuying")
    await mother.fill("input[name=password]", PASSWORD)
    await mother.click("form[action='/portal/signin/password'] button[type=submit]")
    await mother.wait_for_url(re.compile(r".*/portal$"))
    await mother.goto("/portal/access-log")
    log_text = await mother.locator("[data-testid=access-log]").inner_text()
    assert "王小明" in log_text  # her son's reading, written down as a family member acting for her
    await mother.shots("who-viewed")
    await mother.goto("/portal/family")
    assert "王小明" in await mother.locator("[data-testid=my-caregivers]").inner_text()
    await mother.shots("family")
    await mother.click("[data-testid=withdraw]")
    await mother.wait_for_url("**/portal/family?done=revoked")
    await mother.shots("withdrawn")

    answer = await son.goto(f"/portal/records?patient_id={world['mother_id']}")
    assert answer.status == 404
    await son.goto("/portal")
    assert await son.locator("#acting-name").inner_text() == "王小明"
    assert await son.locator("[data-testid=switch]").count() == 0
    await son.shots("after-withdrawal")
