"""Home nursing end to end in Chromium against a real `carebridge serve`, the patient and the nurse on
phones (390x844) whose position Playwright grants: the patient books a wound dressing with the
phone's location, the assessing nurse accepts it after the risk assessment, the patient pays, the
coordinator offers it to the nearest qualified nurse, the nurse accepts, checks in at the door,
writes the visit record with a photo and checks out; the patient follows the timeline and rates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyotp
import pytest

from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.kit.clock import today_local
from carebridge.network.models import Facility, PracticeSite, Practitioner, RosterShift, Tier
from carebridge.portal.home_nursing import catalogue, nurses
from carebridge.records.models import Patient, PatientRegistration
from tests.browser.diagnosis_server import start_server
from tests.browser.steps import sign_in
from tests.conftest import ENGINES
from tests.portal.home_nursing.helpers import PNG

pytestmark = pytest.mark.browser
PASSWORD = "home-nursing-journey-password"
TOTP = pyotp.random_base32()
CENTRE = (36.1950, 113.1170)
HOME = (36.2000, 113.1200)
PHONE = {"width": 390, "height": 844}


async def _nurse(session, centre: Facility, username: str, name: str, license_no: str) -> int:  # noqa: ANN001
    user = await auth.create_user(session, username=username, display_name=name, password=PASSWORD,
                                  roles=[(Role.nurse, centre.id)])
    practitioner = Practitioner(user_id=user.id, title="attending", license_no=license_no, languages=["zh"])
    session.add(practitioner)
    await session.flush()
    session.add(PracticeSite(practitioner_id=practitioner.id, facility_id=centre.id))
    zone = dt.timezone(dt.timedelta(hours=8))
    for offset in range(1, 4):
        day = today_local() + dt.timedelta(days=offset)
        start = dt.datetime(day.year, day.month, day.day, 7, tzinfo=zone)
        session.add(RosterShift(practitioner_id=practitioner.id, facility_id=centre.id, starts_at=start,
                                ends_at=start + dt.timedelta(hours=15)))
    await session.flush()
    return practitioner.id


async def _arrange(session, blob_dir: Path) -> dict:  # noqa: ANN001
    centre = Facility(code="HN-CHC", name="英雄路社区卫生服务中心", name_en="Yingxiong Road Community Health Center",
                      tier=Tier.community_center.value, latitude=CENTRE[0], longitude=CENTRE[1])
    session.add(centre)
    await session.flush()
    coordinator = await auth.create_user(session, username="hn.coordinator", display_name="王护士长",
                                         password=PASSWORD, roles=[(Role.facility_admin, centre.id)])
    coordinator.totp_secret, coordinator.totp_enabled = TOTP, True
    near = await _nurse(session, centre, "hn.hu", "胡晓燕", "HN-2019-0001")
    far = await _nurse(session, centre, "hn.ma", "马丽", "HN-2021-0002")
    admin = await auth.load_principal(session, coordinator, via="token")
    today = today_local()
    for pid, years, base in ((near, 11, (36.1970, 113.1180)), (far, 4, (36.2500, 113.2000))):
        await nurses.set_profile(session, admin, pid, nurses.ProfileInput(
            license_valid_until=today + dt.timedelta(days=700), practising_since=today.replace(year=today.year - years),
            base_label=centre.name, base_latitude=base[0], base_longitude=base[1]))
        await nurses.set_credential(session, admin, pid, "wound")
    await nurses.set_credential(session, admin, near, "assessor")
    await catalogue.install_starter(session, admin, centre.id)
    patient = Patient(name="李建国", name_en="Li Jianguo", sex="male", birth_date=dt.date(1957, 4, 9),
                      national_id="140402195704091234", phone="13903550123", address="长治市潞州区英雄中路88号3单元201")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=centre.id, mrn="YX-000881"))
    await auth.create_user(session, username="li.jianguo", display_name="李建国", password=PASSWORD,
                           roles=[(Role.patient, centre.id)], patient_id=patient.id)
    await session.flush()
    return {"near": near, "far": far}


@pytest.fixture(scope="module", params=ENGINES)
async def nursing_server(request, tmp_path_factory):  # noqa: ANN001, ANN201
    server = await start_server(request.param, tmp_path_factory.mktemp(f"nursing-{request.param}"),
                                "home_nursing_journey", _arrange)
    yield server
    server.stop()


async def _person(browser, base_url: str, name: str, viewport: dict, at: tuple | None = None):  # noqa: ANN001, ANN202
    from tests.browser.conftest import Shots

    context = await browser.new_context(
        viewport=viewport, base_url=base_url, locale="zh-CN",
        **({"geolocation": {"latitude": at[0], "longitude": at[1], "accuracy": 12},
            "permissions": ["geolocation"]} if at else {}))
    page = await context.new_page()
    page.set_default_timeout(15_000)
    page.shots = Shots(page, name)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("favicon.ico")
            and page.problems.append(f"{r.status} {r.url}"))
    return page


async def _state(page, state: str) -> None:  # noqa: ANN001
    await page.locator(f"[data-testid=order-state][data-state={state}]").wait_for()


async def test_book_a_home_visit_and_follow_it_to_the_nurses_check_out(browser, nursing_server, tmp_path):  # noqa: ANN001
    base, ids = nursing_server.base_url, nursing_server.ids
    patient = await _person(browser, base, "nursing-patient", PHONE, HOME)
    nurse = await _person(browser, base, "nursing-nurse", PHONE, (HOME[0] + 0.0003, HOME[1] - 0.0002))
    coordinator = await _person(browser, base, "nursing-coordinator", {"width": 1280, "height": 860})

    await sign_in(patient, "li.jianguo", PASSWORD)
    await patient.goto("/portal/nursing")
    await patient.click("[data-testid=book-link]")
    await patient.locator("[data-testid=eligible]").wait_for()
    await patient.check("input[name=service_id][data-code=wound_dressing]")
    await patient.click("[data-testid=use-location]")
    await patient.wait_for_function("document.querySelector('#hn-lat').value !== ''")
    assert abs(float(await patient.input_value("#hn-lat")) - HOME[0]) < 1e-5
    await patient.click("label.hn-chip:has(input[value=afternoon])")
    await patient.shots("booking-form")
    await patient.click("[data-testid=book-submit]")
    await _state(patient, "requested")
    order_url = patient.url
    order_id = int(order_url.rstrip("/").rsplit("/", 1)[1])
    await patient.shots("booked")

    await sign_in(nurse, "hn.hu", PASSWORD)
    await nurse.goto("/nursing")
    await nurse.click(f"[data-testid=visit-{order_id}]")
    await nurse.locator("[data-testid=assess-form]").wait_for()
    await nurse.fill("textarea[name=home_notes]", "一楼，家属陪护")
    await nurse.shots("assessment")
    await nurse.click("[data-testid=assess-submit]")
    await _state(nurse, "assessed")

    await patient.goto(order_url)
    await patient.click("[data-testid=pay]")
    await patient.click("[data-testid=pay]")  # the charge page's button, then the provider's page
    await patient.click("[data-testid=confirm-payment]")
    await patient.locator("[data-testid=charge-status].status-paid").wait_for()

    await sign_in(coordinator, "hn.coordinator", PASSWORD, TOTP)
    await coordinator.goto("/nursing/desk")
    await coordinator.click(f"[data-testid=desk-{order_id}] a")
    near = coordinator.locator(f"[data-testid=candidate-{ids['near']}]")
    assert "0.4 km" in await near.inner_text()  # from the nurse's base to the patient's pin
    await coordinator.shots("candidates")
    await coordinator.click("[data-testid=dispatch-submit]")  # none ticked: the best nurse
    await _state(coordinator, "dispatched")

    await nurse.goto("/nursing")
    await nurse.click(f"[data-testid=visit-{order_id}]")
    await nurse.click("[data-testid=accept]")
    await _state(nurse, "accepted")
    await nurse.click("[data-testid=check-in]")
    await _state(nurse, "checked_in")
    await nurse.check("input[name=procedure][value='Wound assessed']")
    await nurse.check("input[name=procedure][value='Dressing applied']")
    await nurse.fill("input[name=vital_systolic]", "138")
    await nurse.fill("input[name=vital_temperature]", "36.7")
    await nurse.fill("textarea[name=notes]", "伤口干燥，无渗液")
    await nurse.click("[data-testid=record-save]")
    await _state(nurse, "checked_in")
    photo = tmp_path / "wound.png"
    photo.write_bytes(PNG)
    await nurse.set_input_files("[data-testid=photo-input]", str(photo))
    await nurse.click("[data-testid=photo-upload]")
    await nurse.get_by_test_id("photo-count").wait_for()
    await nurse.shots("visit-record")
    await nurse.click("[data-testid=check-out]")
    await _state(nurse, "checked_out")
    distance = await nurse.locator("[data-testid=timeline] li[data-action=check_in]").get_attribute("data-distance")
    assert int(distance) < 60  # the phone's position at the door, measured by the server

    await patient.goto(order_url)
    await _state(patient, "checked_out")
    timeline = patient.locator("[data-testid=timeline]")
    for action in ("book", "assess", "paid", "dispatch", "accept", "check_in", "check_out"):
        await timeline.locator(f"li[data-action={action}]").wait_for()
    await patient.shots("timeline")
    await patient.click("label[for=star5]")
    await patient.fill("textarea[name=comment]", "护士很专业")
    await patient.click("[data-testid=rate-form] button[type=submit]")
    await _state(patient, "completed")
    assert await patient.locator("[data-testid=rating]").inner_text() == "★★★★★"
    await patient.shots("rated")

    await nurse.goto("/nursing")
    await nurse.shots("board")
    await nurse.click("[data-testid=sos]")  # the facility is alerted with the phone's position
    await nurse.locator("[data-testid=sos-sent]").wait_for()
    await coordinator.goto("/nursing/desk")
    await coordinator.click("[data-testid=sos-alerts] a")
    assert f"{HOME[0] + 0.0003:.5f}" in await coordinator.locator(".hn-facts").inner_text()
    await coordinator.shots("sos")
    await coordinator.click("[data-testid=sos-acknowledge]")
    await coordinator.locator("[data-testid=sos-acknowledged]").wait_for()
    for page in (patient, nurse, coordinator):
        assert page.problems == [], page.problems
        await page.context.close()
