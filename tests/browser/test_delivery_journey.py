"""Medicine delivery end to end on a phone, against a real server: the patient opens the refill the
doctor approved, chooses delivery to a new address, sees the price with the cold-chain surcharge,
pays through the demo provider; the pharmacist (laptop) packs it and hands it to SF Express; the
courier's signed webhook reports it in transit and then delivered; the patient's order page, open
all the while, shows each step as it arrives without a reload."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from alembic import command

from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.db import make_engine, make_sessionmaker, unit_of_work
from carebridge.migrations import alembic_config
from carebridge.network.models import Facility, Tier
from carebridge.records import entries
from carebridge.records.models import Patient, PatientRegistration
from carebridge.records.schemas import MedicationIn
from tests.browser.conftest import CHROMIUM, _free_port, _wait_until_up
from tests.browser.diagnosis_server import database_url
from tests.browser.steps import sign_in
from tests.conftest import ENGINES
from tests.delivery.conftest import COURIER_SECRET, event, signed

pytestmark = pytest.mark.browser
PASSWORD = "delivery-journey-password"
ROOT = Path(__file__).resolve().parents[2]
TRACKING = "SF1402026112399"


async def _arrange(session) -> dict:  # noqa: ANN001
    county = Facility(code="DL-COUNTY", name="潞州区人民医院", name_en="Luzhou District People's Hospital",
                      tier=Tier.county_hospital.value, address="长治市潞州区英雄南路 1 号")
    session.add(county)
    await session.flush()
    patient = Patient(name="王秀英", name_en="Wang Xiuying", sex="female", birth_date=dt.date(1952, 3, 8),
                      national_id="110105195203081226", phone="13800138000")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=county.id, mrn="LZ-000321"))
    await auth.create_user(session, username="wang.xiuying", display_name="王秀英", password=PASSWORD,
                           roles=[(Role.patient, county.id)], patient_id=patient.id)
    await auth.create_user(session, username="pharm.zhao", display_name="赵药师", password=PASSWORD,
                           roles=[(Role.pharmacist, county.id)])
    doctor = await auth.create_user(session, username="dr.li", display_name="李医生", password=PASSWORD,
                                    roles=[(Role.doctor, county.id)])
    await session.flush()
    # The doctor approves a refill of insulin (cold chain) through the records service.
    refill = await entries.add_medication(session, await auth.load_principal(session, doctor, via="session"),
                                          patient.id, MedicationIn(display="甘精胰岛素注射液", code="A10AE04",
                                                                   code_system="ATC", dose="300U", status="intended"))
    return {"refill": refill.id}


@pytest.fixture(scope="module", params=ENGINES)
async def server(request, tmp_path_factory):  # noqa: ANN001, ANN201
    if not CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: CI must run the browser tests")
        pytest.skip("chromium not installed")
    tmp = tmp_path_factory.mktemp(f"delivery-{request.param}")
    url = await database_url(request.param, tmp, "delivery")
    await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
    engine = make_engine(url)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        ids = await _arrange(session)
    await engine.dispose()
    port = _free_port()
    env = {**os.environ, "CAREBRIDGE_DATABASE_URL": url, "CAREBRIDGE_DATA_DIR": str(tmp),
           "CAREBRIDGE_BLOB_DIR": str(tmp / "blobs"), "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
           "CAREBRIDGE_DELIVERY_COURIER_SECRETS": f'{{"sf": "{COURIER_SECRET}"}}'}
    log = (tmp / "server.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "tests.browser.delivery_app", "--port", str(port)],  # noqa: ASYNC220
                               env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    _wait_until_up(base_url, process, tmp / "server.log")
    yield base_url, ids
    process.terminate()
    process.wait(timeout=15)


async def _courier(base_url: str, kind: str, event_id: str, hours: float, location: str, **kw) -> dict:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    body, headers = signed(event(TRACKING, kind, event_id, when, location, **kw))
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/api/v1/delivery/courier/sf/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_patient_orders_delivery_pays_pharmacy_ships_courier_delivers(browser, server):  # noqa: ANN001
    base_url, ids = server
    phone_context = await browser.new_context(viewport={"width": 390, "height": 844}, base_url=base_url,
                                              locale="zh-CN", is_mobile=True, has_touch=True)
    laptop_context = await browser.new_context(viewport={"width": 1280, "height": 860}, base_url=base_url,
                                               locale="zh-CN")
    phone, laptop = await phone_context.new_page(), await laptop_context.new_page()
    for page in (phone, laptop):
        page.set_default_timeout(10_000)
    try:
        await _patient_orders_and_pays(phone, ids["refill"])
        order_url = phone.url
        await _pharmacy_packs_and_ships(laptop)
        await phone.goto(order_url)
        await phone.locator("[data-testid=delivery-state].state-shipped").wait_for()
        await phone.screenshot(path=_shot("03-phone-shipped"), full_page=True)
        # The page stays open; the courier's signed events arrive and the timeline follows live.
        assert await _courier(base_url, "in_transit", "sf-e1", 2, "长治转运中心") == {"status": "applied"}
        await phone.locator("[data-testid=timeline] li.tl-in_transit").wait_for()
        delivered = await _courier(base_url, "delivered", "sf-e2", 5, "长治市潞州区英雄中路", note="本人签收")
        assert delivered == {"status": "applied"}
        await phone.locator("[data-testid=delivery-state].state-delivered").wait_for()
        newest = phone.get_by_test_id("timeline").locator("li").first
        assert await newest.get_attribute("class") == "tl-courier tl-deliver tl-delivered"
        assert "本人签收" in await newest.inner_text() and "长治市潞州区英雄中路" in await newest.inner_text()
        # The same event again (a courier retrying) changes nothing.
        assert await _courier(base_url, "delivered", "sf-e2", 5, "长治市潞州区英雄中路") == {"status": "duplicate"}
        assert await phone.get_by_test_id("timeline").locator("li").count() == 6
        await phone.screenshot(path=_shot("04-phone-delivered"), full_page=True)
    finally:
        await phone_context.close()
        await laptop_context.close()


async def _patient_orders_and_pays(phone, refill_id: int) -> None:  # noqa: ANN001
    await sign_in(phone, "wang.xiuying", PASSWORD)
    await phone.goto(f"/portal/deliveries/new?kind=medication&source_id={refill_id}")
    await phone.get_by_test_id("cold-chain").wait_for()
    await phone.get_by_test_id("method-delivery").check()
    assert await phone.get_by_test_id("self-pay-delivery").is_visible()
    assert not await phone.get_by_test_id("self-pay-pickup").is_visible()
    assert await phone.get_by_test_id("self-pay-delivery").inner_text() == "¥198.00"  # 168 + 10 fee + 20 cold
    await phone.fill("input[name=recipient]", "王秀英")
    await phone.fill("input[name=phone]", "13800138000")
    await phone.fill("input[name=region]", "山西省 长治市 潞州区")
    await phone.fill("input[name=detail]", "英雄中路 168 号 2 单元 302")
    await phone.screenshot(path=_shot("01-phone-choose"), full_page=True)
    await phone.get_by_test_id("delivery-submit").click()
    await phone.wait_for_url("**/payments/charges/**")
    await phone.get_by_test_id("pay").click()
    await phone.get_by_test_id("confirm-payment").click()
    await phone.get_by_test_id("charge-status").filter(has_text="已支付").wait_for()
    await phone.goto("/portal/deliveries")
    await phone.locator("[data-testid=delivery-list] a").first.click()
    await phone.locator("[data-testid=delivery-state].state-paid").wait_for()
    await phone.screenshot(path=_shot("02-phone-paid"), full_page=True)


async def _pharmacy_packs_and_ships(laptop) -> None:  # noqa: ANN001
    await sign_in(laptop, "pharm.zhao", PASSWORD)
    await laptop.goto("/pharmacy/dispensing")
    row = laptop.locator("tr.cold").first
    await row.wait_for()
    await row.locator("button[data-testid^=pack-]").click()
    row = laptop.locator("tr.cold").first
    await row.locator("select[name=courier]").select_option("sf")
    await row.locator("input[name=tracking_number]").fill(TRACKING)
    await laptop.screenshot(path=_shot("03-laptop-ship"), full_page=True)
    await row.locator("button[data-testid^=ship-]").click()
    await laptop.get_by_text(TRACKING).first.wait_for()


def _shot(step: str) -> str:
    from tests.browser.conftest import OUTPUT

    OUTPUT.mkdir(parents=True, exist_ok=True)
    return str(OUTPUT / f"delivery-journey-{step}.png")
