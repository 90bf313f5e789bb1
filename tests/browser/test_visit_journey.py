"""An online follow-up visit end to end in two real Chromium browsers with fake cameras: the patient,
on a phone, finds the cardiologist, books a time for her hypertension (her diabetes, diagnosed in a
teleconsultation, cannot be chosen and the form says why), pays, checks her camera and enters the
waiting room; the doctor, on a laptop, sees her waiting, starts the visit from his console, both see
each other's video and talk in the chat, and the doctor's note and diagnosis reach her visit page."""

from __future__ import annotations

import pytest

from tests.browser.diagnosis_server import start_server
from tests.browser.media import LAPTOP, PHONE, media_browser, media_page  # noqa: F401 - media_browser is a fixture
from tests.browser.room_steps import (
    close_and_check_console,
    pass_precall_check,
    send_chat,
    wait_for_chat,
    wait_for_remote_video,
)
from tests.browser.steps import sign_in
from tests.browser.visit_world import arrange_visit_world
from tests.conftest import ENGINES

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=ENGINES)
async def visit_server(request, tmp_path_factory):  # noqa: ANN001, ANN201
    server = await start_server(request.param, tmp_path_factory.mktemp(f"visits-{request.param}"), "visit_journey",
                                arrange_visit_world)
    yield server
    server.stop()


async def _patient_books(page, world: dict) -> None:  # noqa: ANN001
    await page.goto("/portal/visits")
    await page.shots("my-visits")
    await page.click("[data-testid=find-doctor]")
    await page.locator("[data-testid=doctor-link]").filter(has_text=world["doctor_name"]).click()
    await page.shots("free-times")
    await page.locator("[data-testid=slot]").first.click()
    await page.locator("[data-testid=booking-form]").wait_for()
    assert await page.locator("[data-testid=condition-I10] input").is_checked()
    assert await page.locator("[data-testid='condition-E11.9'] input").is_disabled()
    assert await page.locator("[data-testid='condition-E11.9'] [data-testid=why-not]").inner_text() != ""
    await page.fill("[data-testid=complaint]", "最近早上血压 150/95，偶尔头晕")
    await page.shots("booking-form")
    await page.click("[data-testid=book]")
    await page.wait_for_url("**/portal/visits/*")
    assert await page.locator("[data-testid=visit-state]").inner_text() != ""


async def _patient_pays(page) -> None:  # noqa: ANN001
    await page.shots("awaiting-payment")
    await page.click("[data-testid=pay]")  # the visit page's link to the charge
    await page.click("[data-testid=pay]")  # the charge page's pay button
    await page.click("[data-testid=confirm-payment]")  # at the (demo) provider
    await page.locator("[data-testid=charge-status]").wait_for()
    await page.go_back()  # back to the charge page
    await page.go_back()  # and to the visit page


async def _patient_enters_the_waiting_room(page, visit_url: str) -> None:  # noqa: ANN001
    await page.goto(visit_url)
    await page.click("[data-testid=enter-waiting-room]")
    await page.wait_for_url("**/room")
    await pass_precall_check(page)
    await page.shots("device-check")
    await page.click("[data-testid=join]")
    await page.locator("[data-testid=call]").wait_for()
    await page.locator("[data-testid=room-status][data-state=ok]").wait_for()
    await page.locator("[data-testid=visit-waiting]").wait_for()
    await page.shots("in-the-waiting-room")


async def _doctor_starts(page, world: dict) -> None:  # noqa: ANN001
    await page.goto("/visits")
    row = page.locator("[data-testid=day-visit]").filter(has_text=world["patient_name"])
    await row.wait_for()
    await page.shots("the-day-with-a-waiting-patient")
    await row.locator("[data-testid=open-console]").click()
    await page.locator("[data-testid=patient-summary]").wait_for()
    assert "原发性高血压" in await page.locator("[data-testid=patient-summary]").inner_text()
    await pass_precall_check(page)
    await page.click("[data-testid=join]")
    await page.locator("[data-testid=room-status][data-state=ok]").wait_for()


async def test_patient_books_a_follow_up_and_the_doctor_sees_her_online(media_browser, visit_server):  # noqa: F811
    world = visit_server.ids
    patient = await media_page(media_browser, visit_server, "visit-patient", PHONE)
    doctor = await media_page(media_browser, visit_server, "visit-doctor", LAPTOP)
    try:
        await sign_in(patient, world["patient_user"], world["password"])
        await _patient_books(patient, world)
        visit_url = patient.url
        await _patient_pays(patient)
        await _patient_enters_the_waiting_room(patient, visit_url)

        await sign_in(doctor, world["doctor"], world["password"])
        await _doctor_starts(doctor, world)
        await wait_for_remote_video(patient)
        await wait_for_remote_video(doctor)
        await patient.locator("[data-testid=visit-waiting]").wait_for(state="hidden")
        await patient.shots("sees-the-doctor")
        await doctor.shots("sees-the-patient")
        await send_chat(patient, "医生好，这周血压一直偏高")
        await wait_for_chat(doctor, "医生好，这周血压一直偏高")

        await doctor.locator("[data-testid=note-form]").wait_for()
        await doctor.fill("[data-testid=note]", "血压控制欠佳，氨氯地平加至 10 mg 每日一次，两周后复诊。")
        assert await doctor.input_value("[data-testid=diagnosis-code]") == "I10"
        await doctor.shots("writes-the-note")
        await doctor.click("[data-testid=complete]")
        await doctor.locator("[data-testid=visit-note]").wait_for()
        assert await doctor.locator("[data-testid=write-prescription]").get_attribute("href") == (
            f"/prescriptions/new?patient={world['patient_id']}&visit={visit_url.rsplit('/', 1)[1]}")
        await doctor.shots("visit-complete")

        # The patient's room notices the end and shows the visit page with the note.
        await patient.wait_for_url(visit_url, timeout=20_000)
        note = patient.locator("[data-testid=visit-note]")
        await note.wait_for()
        assert "氨氯地平" in await note.inner_text()
        await patient.shots("reads-the-note")
    finally:
        await close_and_check_console(patient, doctor)


async def test_a_text_visit_runs_in_the_chat_alone(media_browser, visit_server):  # noqa: F811
    """No camera at all: the patient enters the text visit's waiting room, the doctor starts it from
    the console, they write to each other live, and the doctor completes it."""
    world = visit_server.ids
    patient = await media_page(media_browser, visit_server, "text-visit-patient", PHONE)
    doctor = await media_page(media_browser, visit_server, "text-visit-doctor", LAPTOP)
    try:
        await sign_in(patient, world["patient_user"], world["password"])
        await patient.goto("/portal/visits/doctors")
        await patient.locator("[data-testid=doctor-link]").filter(has_text=world["text_doctor_name"]).click()
        await patient.locator("[data-testid=slot]").first.click()
        await patient.click("[data-testid=book]")
        await patient.wait_for_url("**/portal/visits/*")
        visit_url = patient.url
        await patient.click("[data-testid=enter-waiting-room]")
        await patient.click("[data-testid=text-join]")
        await patient.locator("[data-testid=room-status][data-state=ok]").wait_for()
        await patient.locator("[data-testid=chat-form]").wait_for()
        await patient.shots("text-waiting-room")

        await sign_in(doctor, world["text_doctor"], world["password"])
        await doctor.goto("/visits")
        await doctor.locator("[data-testid=day-visit]").filter(has_text=world["patient_name"]) \
            .locator("[data-testid=open-console]").click()
        await doctor.click("[data-testid=text-join]")
        await doctor.locator("[data-testid=room-status][data-state=ok]").wait_for()
        await send_chat(patient, "钱医生您好，降压药吃完了")
        await wait_for_chat(doctor, "钱医生您好，降压药吃完了")
        await send_chat(doctor, "好的，我给您续开一个月。")
        await wait_for_chat(patient, "好的，我给您续开一个月。")
        await patient.shots("text-visit-chat")
        await doctor.fill("[data-testid=note]", "规律服药，血压控制可，续开原方一个月。")
        await doctor.click("[data-testid=complete]")
        await doctor.locator("[data-testid=visit-note]").wait_for()
        await patient.wait_for_url(visit_url, timeout=20_000)
        assert "续开原方" in await patient.locator("[data-testid=visit-note]").inner_text()
    finally:
        await close_and_check_console(patient, doctor)
