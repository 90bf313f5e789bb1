"""The live session of a consultation in two real Chromium browsers with fake cameras: the
township doctor (on a phone) and the county specialist (on a laptop) enter the case's room, each
sees the other's video playing, they talk in the chat, presence shows both; the session start and
attendance land on the case page."""

import base64

import pytest

from tests.browser.media import LAPTOP, PHONE, media_browser, media_page  # noqa: F401 - media_browser is a fixture
from tests.browser.room_steps import (
    close_and_check_console,
    join,
    leave_room,
    lose_network_and_come_back,
    open_case,
    open_room_from_case,
    pass_precall_check,
    presence_names,
    press,
    send_chat,
    share_file,
    show_tab,
    sign_in_as,
    wait_for_chat,
    wait_for_remote_state,
    wait_for_remote_video,
)
from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser
# A real 1×1 PNG: what matters is that the server recognises an image by its bytes.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5E"
                       "rkJggg==")


async def test_township_doctor_and_specialist_meet_in_the_case_room(media_browser, live_server, tmp_path):  # noqa: F811
    world, case_id = live_server.world, live_server.world["room_case_id"]
    doctor = await media_page(media_browser, live_server, "room-township-doctor", PHONE)
    specialist = await media_page(media_browser, live_server, "room-specialist", LAPTOP)
    try:
        await sign_in_as(specialist, world, "specialist")
        await open_room_from_case(specialist, case_id)
        await pass_precall_check(specialist)
        await specialist.shots("precall-check")
        await join(specialist)
        await specialist.shots("alone-in-the-room")

        await sign_in_as(doctor, world, "requester")
        await open_case(doctor, case_id)
        await doctor.shots("case-page-with-join-button")
        await open_room_from_case(doctor, case_id)
        await pass_precall_check(doctor)
        await doctor.shots("precall-check")
        await join(doctor)

        await wait_for_remote_video(doctor)
        await wait_for_remote_video(specialist)
        await doctor.shots("sees-the-specialist")
        await specialist.shots("sees-the-township-doctor")
        await show_tab(doctor, "people")
        assert len(await presence_names(doctor, 2)) == 2
        assert any("李强" in name for name in await presence_names(specialist, 2))

        await send_chat(doctor, "患者血压 172/98，需要现在转诊吗？")
        await wait_for_chat(specialist, "患者血压 172/98，需要现在转诊吗？")
        await send_chat(specialist, "请立即转来我院胸痛中心。")
        await wait_for_chat(doctor, "请立即转来我院胸痛中心。")
        strip = tmp_path / "心电图-V1.png"
        strip.write_bytes(PNG)
        await share_file(doctor, strip, "今早的心电图")
        shared = specialist.locator("[data-testid=chat-attachment]").filter(has_text="心电图-V1.png")
        await shared.wait_for()
        await specialist.wait_for_function(  # the image came back from the server and was decoded
            "() => [...document.querySelectorAll('[data-testid=chat-message] img')].some(i => i.naturalWidth === 1)")
        await doctor.shots("chat")
        await show_tab(specialist, "case")
        assert "心电图报告" in await specialist.locator("[data-testid=room-documents]").inner_text()
        await specialist.shots("shared-case-beside-the-video")

        await press(doctor, "mic")
        await press(doctor, "cam")
        await wait_for_remote_state(specialist, mic="off", cam="off")
        await specialist.shots("township-doctor-muted-with-camera-off")
        await press(doctor, "mic")
        await press(doctor, "cam")
        await wait_for_remote_state(specialist, mic="on", cam="on")

        await lose_network_and_come_back(doctor)
        await wait_for_remote_video(doctor)
        await wait_for_remote_video(specialist)
        assert len(await presence_names(specialist, 2)) == 2
        await doctor.shots("back-after-the-network-drop")

        await leave_room(specialist)
        await doctor.wait_for_function(
            "() => document.querySelectorAll('[data-testid=tile-remote]').length === 0")
        await leave_room(doctor)
        await open_case(specialist, case_id)
        summary = specialist.locator("[data-testid=attendance]")
        await summary.wait_for()
        text = await summary.inner_text()
        assert "赵丽" in text and "李强" in text
        assert "请立即转来我院胸痛中心。" in await specialist.locator("[data-testid=case-chat]").inner_text()
        assert "会诊中" in await specialist.locator("[data-testid=consultation-state]").inner_text()
        await specialist.shots("case-page-after-the-session")
        assert await doctor.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        await close_and_check_console(doctor, specialist)


async def test_three_doctors_share_one_room_and_a_screen(media_browser, live_server):  # noqa: F811
    """A small MDT: the mesh holds three browsers, each sees both others, and a shared screen
    reaches everyone."""
    world, case_id = live_server.world, live_server.world["room_case_id"]
    specialist = await media_page(media_browser, live_server, "room-mdt-specialist", LAPTOP, locale="en-US")
    doctor = await media_page(media_browser, live_server, "room-mdt-township-doctor", LAPTOP, locale="en-US")
    colleague = await media_page(media_browser, live_server, "room-mdt-county-colleague", PHONE, locale="en-US")
    pages = (specialist, doctor, colleague)
    try:
        await sign_in_as(specialist, world, "specialist")
        await sign_in_as(doctor, world, "requester")
        await sign_in(colleague, world["doctor"], world["password"], world["totp_secret"])  # a county coordinator
        for page in pages:
            await open_room_from_case(page, case_id)
            await pass_precall_check(page)
            await join(page)
        for page in pages:
            await wait_for_remote_video(page, 2)
            assert len(await presence_names(page, 3)) == 3
        await press(specialist, "screen")
        for page in (doctor, colleague):
            await page.locator("[data-testid=tile-remote].screen").wait_for()
        for page in pages:
            await page.shots("three-with-a-shared-screen")
        await press(specialist, "screen")
        await doctor.locator("[data-testid=tile-remote].screen").wait_for(state="detached")
    finally:
        for page in pages:
            await page.context.close()
