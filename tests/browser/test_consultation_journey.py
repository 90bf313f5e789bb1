"""The whole consultation as two people live it, in two Chromium browsers with fake cameras: the
township doctor asks from the request form, the county specialist triages and accepts, proposes a
time from their roster and the doctor confirms it, both meet in the video room and see each other,
chat, then the specialist writes and signs the opinion, the doctor acknowledges it and downloads
the bilingual PDF report. Every step is done with the pages' own buttons."""

import io
import re

import pytest
from pypdf import PdfReader

from tests.browser.media import LAPTOP, media_browser, media_page  # noqa: F401 - media_browser is a fixture
from tests.browser.room_steps import (
    close_and_check_console,
    join,
    leave_room,
    open_case,
    open_room_from_case,
    pass_precall_check,
    send_chat,
    sign_in_as,
    wait_for_chat,
    wait_for_remote_video,
)

pytestmark = pytest.mark.browser


async def _request_live_consultation(page, world: dict) -> int:  # noqa: ANN001
    await page.goto(f"/consultations/new?patient_id={world['room_patient_id']}")
    form = page.locator("[data-testid=consultation-form]")
    await form.locator("textarea[name=question]").fill("胸痛反复发作，请评估是否需要冠脉介入。")
    await form.locator("select[name=urgency]").select_option("urgent")
    await form.locator("select[name=mode]").select_option("live")
    await form.locator("select[name=specialty]").select_option("cardiology_br")
    for box in await form.locator("input[name=shared_entry_ids]").all():
        await box.check()
    await page.shots("request-form")
    await form.locator("button[name=send]").click()
    await page.wait_for_url(re.compile(r".*/consultations/\d+$"))
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


async def _state(page) -> str:  # noqa: ANN001
    return await page.locator("[data-testid=consultation-state]").inner_text()


async def test_request_to_signed_opinion_and_pdf(media_browser, live_server):  # noqa: F811
    world = live_server.world
    doctor = await media_page(media_browser, live_server, "journey-township-doctor", LAPTOP)
    specialist = await media_page(media_browser, live_server, "journey-specialist", LAPTOP)
    try:
        await sign_in_as(doctor, world, "requester")
        case_id = await _request_live_consultation(doctor, world)
        assert "已提交" in await _state(doctor)

        await sign_in_as(specialist, world, "specialist")
        await open_case(specialist, case_id)
        for action in ("triage", "accept"):
            await specialist.click(f"[data-testid=action-{action}]")
            await specialist.locator("[data-testid=consultation-summary]").wait_for()
        assert "已接诊" in await _state(specialist)
        picker = specialist.locator("[data-testid=slot-picker]")
        await picker.locator("input[type=radio]").first.check()
        await specialist.shots("proposes-a-time")
        await specialist.click("[data-testid=propose-slot]")

        await open_case(doctor, case_id)
        await doctor.click("[data-testid=confirm-slot]")
        await doctor.locator("[data-testid=session-time]").wait_for()
        assert "已排期" in await _state(doctor)
        booked = await doctor.locator("[data-testid=session-time]").inner_text()
        timeline = await doctor.locator("[data-testid=consultation-timeline]").inner_text()
        assert booked.split("–")[0].strip() in timeline  # the timeline names the time as the page shows it
        await doctor.shots("session-booked")

        for page in (specialist, doctor):
            await open_room_from_case(page, case_id)
            await pass_precall_check(page)
            await join(page)
        await wait_for_remote_video(doctor)
        await wait_for_remote_video(specialist)
        await specialist.shots("in-the-session")
        await send_chat(doctor, "昨晚胸痛持续二十分钟。")
        await wait_for_chat(specialist, "昨晚胸痛持续二十分钟。")
        await leave_room(specialist)
        await leave_room(doctor)

        await open_case(specialist, case_id)
        await specialist.click("[data-testid=action-sign_opinion]")
        await specialist.fill("[data-testid=opinion-assessment]", "不稳定型心绞痛，高危。")
        await specialist.fill("[data-testid=opinion-diagnoses]", "I20.0 不稳定型心绞痛")
        await specialist.fill("[data-testid=opinion-recommendations]", "双联抗血小板，尽快转上级医院行冠脉造影。")
        await specialist.shots("writes-the-opinion")
        await specialist.click("[data-testid=opinion-sign]")
        await specialist.locator("[data-testid=opinion-verified][data-verified=true]").wait_for()
        await specialist.shots("opinion-signed")

        await open_case(doctor, case_id)
        assert "不稳定型心绞痛，高危。" in await doctor.locator("[data-testid=opinion-card]").inner_text()
        await doctor.click("[data-testid=action-acknowledge]")
        await doctor.locator("[data-testid=opinion-follow-up-due]").wait_for()
        assert "已确认收到" in await _state(doctor)
        async with doctor.expect_download() as download_info:
            await doctor.click("[data-testid=opinion-pdf]")
        report = await (await download_info.value).path()
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(report.read_bytes())).pages)
        assert "会诊意见" in text and "Consultation" in text and "不稳定型心绞痛，高危。" in text
        assert "李强" in text  # the signer
        await doctor.shots("acknowledged-with-the-report")
    finally:
        await close_and_check_console(doctor, specialist)
