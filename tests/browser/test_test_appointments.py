"""Booking a test on a phone (390x844, Chinese): the patient lets the page use her position, sees
the county hospital first but the community centre cheaper ("save ¥x"), books an ECG at the centre,
agrees to the remote reading, pays at the demo provider, and finds it booked, with its preparation,
among her tests. Then, at the
centre's desk, a technician checks in her blood test and enters the results, which she reads on
her phone.

A server of its own (its own database) so the shared browser world stays as it is."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.kit import clock
from carebridge.network.models import Facility, ServiceKind, ServiceOffering, Tier
from carebridge.payments import service as payments
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from carebridge.portal.test_appointments import catalogue, service, slots
from carebridge.records.models import Patient, PatientRegistration
from tests.browser.conftest import Shots
from tests.browser.diagnosis_server import start_server
from tests.browser.steps import sign_in
from tests.conftest import ENGINES

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-password"
NEAR_COUNTY = {"latitude": 34.8800, "longitude": 113.6500}  # where the patient's phone is


async def arrange(session: AsyncSession, _blob_dir) -> dict:  # noqa: ANN001
    def place(code: str, name: str, name_en: str, tier: Tier, lat: float, lon: float, address: str) -> Facility:
        return Facility(code=code, name=name, name_en=name_en, tier=tier.value, latitude=lat, longitude=lon,
                        address=address)

    village = place("TA-VILLAGE", "柳湾村卫生室", "Liuwan Village Clinic", Tier.village_clinic, 34.75, 113.65,
                    "青山县柳湾村")
    community = place("TA-CC", "东关社区卫生服务中心", "Dongguan Community Health Center", Tier.community_center,
                      34.768, 113.65, "青山县东关街道健康路8号")
    county = place("TA-COUNTY", "青山县人民医院", "Qingshan County People's Hospital", Tier.county_hospital,
                   34.885, 113.65, "青山县人民路1号")
    hub = place("TA-CITY", "嵩阳市中心医院", "Songyang Central Hospital", Tier.city_hospital, 35.2, 113.9,
                "嵩阳市中原路100号")
    session.add_all([village, community, county, hub])
    await session.flush()
    session.add_all(ServiceOffering(facility_id=hub.id, kind=k.value) for k in (ServiceKind.imaging_reading,
                                                                                ServiceKind.ecg_reading))
    for facility in (community, county):
        await catalogue.load_starter(session, None, facility)
    patient = Patient(name="李桂兰", name_en="Li Guilan", sex="female", birth_date=dt.date(1958, 6, 2),
                      national_id="410105195806021228", phone="13900139000")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=village.id, mrn="LW-0042"))
    patient_user = await auth.create_user(session, username="li.guilan", display_name="李桂兰", password=PASSWORD,
                                          roles=[(Role.patient, village.id)], patient_id=patient.id)
    tech = await auth.create_user(session, username="tech.zhao", display_name="赵技师", password=PASSWORD,
                                  roles=[(Role.technician, community.id)])
    await session.flush()
    # A blood test she booked earlier, for the desk to check in today.
    cbc = next(t for t in await catalogue.list_tests(session, community.id) if t.code == "58410-2")
    first = next(s for s in await slots.open_slots(session, cbc) if s.free)
    principal = await auth.load_principal(session, patient_user, via="session")
    blood = await service.book_test(session, principal, service.BookingInput(patient.id, cbc.id, first.starts_at))
    checkout = await payments.start_payment(session, principal, blood.charge_id)
    body = await PROVIDERS["demo"].settle(session, checkout.reference)
    await payments.receive_notice(session, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)
    return {"patient": patient_user.username, "tech": tech.username, "community": community.id,
            "blood_booking": blood.id, "blood_day": first.starts_at.astimezone(clock.local_zone()).date().isoformat()}


@pytest.fixture(scope="module", params=ENGINES)
async def server(request, tmp_path_factory):  # noqa: ANN001, ANN201
    running = await start_server(request.param, tmp_path_factory.mktemp(f"tests-{request.param}"),
                                 "test_appointments", arrange)
    yield running
    running.stop()


async def _open(browser, server, name: str, **options):  # noqa: ANN001, ANN202
    context = await browser.new_context(base_url=server.base_url, locale="zh-CN", **options)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    page.shots = Shots(page, name)
    return context, page


@pytest.fixture
async def phone_near_county(browser, server, request):  # noqa: ANN001, ANN201
    context, page = await _open(browser, server, request.node.name.replace("[", "-").replace("]", ""),
                                viewport={"width": 390, "height": 844}, geolocation=NEAR_COUNTY,
                                permissions=["geolocation"])
    yield page
    await context.close()


@pytest.fixture
async def desk(browser, server, request):  # noqa: ANN001, ANN201
    context, page = await _open(browser, server, request.node.name.replace("[", "-").replace("]", ""),
                                viewport={"width": 1280, "height": 860})
    yield page
    await context.close()


async def test_patient_books_an_ecg_at_the_community_centre_on_a_phone(phone_near_county, server) -> None:
    page, ids = phone_near_county, server.ids
    await sign_in(page, ids["patient"], PASSWORD)
    await page.goto("/portal/tests")
    await page.shots("tests-home")
    await page.click("[data-testid=choose-test] a[data-code=ECG]")
    await page.wait_for_url("**/portal/tests/find?code=ECG**")

    await page.click("[data-testid=use-position]")  # the phone's position: the county hospital is nearest
    await page.wait_for_url("**latitude=**")
    offers = page.locator("[data-testid=offer]")
    assert await offers.count() == 2
    county, centre = offers.nth(0), offers.nth(1)
    assert "青山县人民医院" in await county.inner_text()
    assert await county.locator("[data-testid=price]").inner_text() == "¥25.00"
    assert "东关社区卫生服务中心" in await centre.inner_text()
    assert await centre.locator("[data-testid=price]").inner_text() == "¥22.50"
    assert await centre.locator("[data-testid=list-price]").inner_text() == "¥25.00"
    assert "¥2.50" in await centre.locator("[data-testid=saving]").inner_text()
    await page.shots("offers-by-position")

    await centre.locator("[data-testid=choose-facility]").click()
    await page.wait_for_url("**/portal/tests/offer/**")
    assert "静坐休息5分钟" in await page.locator("[data-testid=prep]").inner_text()
    assert await page.locator("[data-testid=self-pay]").inner_text() == "¥22.50"
    await page.locator("[data-testid=slots] label:not(.ta-full)").first.click()
    await page.check("[data-testid=consent]")
    await page.shots("slot-chosen")
    await page.click("[data-testid=book]")

    await page.wait_for_url("**/portal/tests/bookings/**")
    booking_url = page.url
    assert await page.locator("[data-testid=booking-state]").get_attribute("data-state") == "pending_payment"
    assert "静坐休息5分钟" in await page.locator("[data-testid=prep]").inner_text()
    await page.shots("awaiting-payment")
    await page.click("[data-testid=pay]")  # the booking's charge at payments
    await page.wait_for_url("**/payments/charges/**")
    assert await page.locator("[data-testid=self-pay]").inner_text() == "¥22.50"
    await page.click("[data-testid=pay]")
    await page.wait_for_url("**/payments/demo-provider/**")
    await page.click("[data-testid=confirm-payment]")
    await page.wait_for_url("**/payments/charges/**")
    assert await page.locator("[data-testid=charge-status]").get_attribute("class") == "tag pay-status status-paid"

    await page.click("[data-testid=back-to-purpose]")  # from the paid charge back to the booking
    await page.wait_for_url(booking_url)
    assert await page.locator("[data-testid=booking-state]").get_attribute("data-state") == "booked"
    assert "东关社区卫生服务中心" in await page.locator("[data-testid=booking]").inner_text()
    await page.shots("booked")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the booking page scrolls sideways on a phone"

    await page.goto("/portal/tests")
    upcoming = page.locator("[data-testid=upcoming]")
    assert "十二导联心电图" in await upcoming.inner_text() and "血常规" in await upcoming.inner_text()
    await page.shots("my-tests")


async def test_the_desk_checks_in_and_the_patient_reads_her_results(desk, browser, server) -> None:
    page, ids = desk, server.ids
    await sign_in(page, ids["tech"], PASSWORD)
    await page.goto(f"/facilities/{ids['community']}/tests/appointments/day?day={ids['blood_day']}")
    row = page.locator(f"tr[data-booking-id='{ids['blood_booking']}']")
    assert "李桂兰" in await row.inner_text()
    await row.locator("[data-action=check_in]").click()
    await page.click(f"a[href$='/appointments/{ids['blood_booking']}/results']")
    for code, value in (("6690-2", "6.1"), ("789-8", "4.4"), ("718-7", "108"), ("777-3", "230")):
        await page.fill(f"input[name='value_{code}']", value)
    await page.shots("results-form")
    await page.click("[data-testid=save-results]")
    await page.wait_for_url("**/appointments/day**")
    assert await row.locator("[data-testid=booking-state]").get_attribute("data-state") == "resulted"
    await page.shots("appointments")

    context, phone = await _open(browser, server, "patient-reads-results", viewport={"width": 390, "height": 844})
    await sign_in(phone, ids["patient"], PASSWORD)
    await phone.goto(f"/portal/tests/bookings/{ids['blood_booking']}")
    results = phone.locator("[data-testid=results]")
    text = await results.inner_text()
    assert "血红蛋白" in text and "108" in text and "g/L" in text and "×10⁹/L" in text
    assert await results.locator("[data-testid=flag]").count() == 1  # haemoglobin below the range
    await phone.shots("results")
    await context.close()
