"""Steps in a consultation's video room, as a person does them. Reused by longer journeys (the
opinion, its acknowledgement and the PDF come after `leave_room`)."""

from __future__ import annotations

from tests.browser.steps import sign_in

REMOTE_VIDEO_PLAYING = """(count) => {
  const videos = [...document.querySelectorAll('[data-testid=tile-remote] video')];
  return videos.filter(v => v.videoWidth > 0 && !v.paused && v.readyState >= 2).length >= count;
}"""


async def sign_in_as(page, world: dict, who: str) -> None:  # noqa: ANN001
    """who: "requester" (township doctor) or "specialist" (county, with a second factor)."""
    totp = world["specialist_totp"] if who == "specialist" else None
    await sign_in(page, world[who], world["password"], totp)


async def open_case(page, case_id: int) -> None:  # noqa: ANN001
    await page.goto(f"/consultations/{case_id}")
    await page.locator("[data-testid=consultation-summary]").wait_for()


async def open_room_from_case(page, case_id: int) -> None:  # noqa: ANN001
    await open_case(page, case_id)
    await page.click("[data-testid=join-video]")
    await page.wait_for_url(f"**/consultations/{case_id}/room")


async def pass_precall_check(page) -> None:  # noqa: ANN001
    """The camera preview plays, the network check has finished, and Join becomes possible."""
    await page.wait_for_function("() => { const v = document.getElementById('preview'); return v.videoWidth > 0; }")
    await page.locator("[data-testid=net-check] li.net-ok, [data-testid=net-check] li.net-bad").nth(1).wait_for()
    await page.locator("[data-testid=join]:not([disabled])").wait_for()


async def join(page) -> None:  # noqa: ANN001
    await page.click("[data-testid=join]")
    await page.locator("[data-testid=call]").wait_for()
    await page.locator("[data-testid=room-status][data-state=ok]").wait_for()


async def wait_for_remote_video(page, count: int = 1) -> None:  # noqa: ANN001
    await page.wait_for_function(REMOTE_VIDEO_PLAYING, arg=count, timeout=20_000)


async def presence_names(page, count: int) -> list[str]:  # noqa: ANN001
    await page.wait_for_function(
        "(n) => document.querySelectorAll('[data-testid=presence-member]').length === n", arg=count)
    return await page.locator("[data-testid=presence-member]").all_inner_texts()


async def show_tab(page, tab: str) -> None:  # noqa: ANN001
    """tab: chat, case or people."""
    await page.click(f"[data-testid=tab-{tab}]")


async def send_chat(page, text: str) -> None:  # noqa: ANN001
    await show_tab(page, "chat")
    await page.fill("[data-testid=chat-text]", text)
    await page.click("[data-testid=chat-send]")
    await page.locator("[data-testid=chat-message]").filter(has_text=text).wait_for()


async def wait_for_chat(page, text: str) -> None:  # noqa: ANN001
    await show_tab(page, "chat")
    await page.locator("[data-testid=chat-list] [data-testid=chat-message]").filter(has_text=text).wait_for()


async def leave_room(page) -> None:  # noqa: ANN001
    await page.click("[data-testid=leave]")
    await page.locator("[data-testid=room-left]").wait_for()


async def press(page, control: str) -> None:  # noqa: ANN001
    """control: mic, cam, screen or audio-only."""
    await page.click(f"[data-testid=toggle-{control}]")


async def wait_for_remote_state(page, mic: str = "on", cam: str = "on") -> None:  # noqa: ANN001
    """What the other browser says about its microphone and camera ("on"/"off"), as the tile shows it."""
    await page.locator(f"[data-testid=tile-remote][data-mic={mic}][data-cam={cam}]").wait_for()


async def lose_network_and_come_back(page) -> None:  # noqa: ANN001
    """The browser goes offline (as on a train) and back: the page shows it is reconnecting,
    then rejoins with a fresh token."""
    await page.context.set_offline(True)
    await page.locator("[data-testid=room-status][data-state=warn]").wait_for()
    await page.shots("reconnecting")
    await page.context.set_offline(False)
    await page.locator("[data-testid=room-status][data-state=ok]").wait_for(timeout=20_000)


async def share_file(page, path, text: str = "") -> None:  # noqa: ANN001
    """Attach a file (an image or a PDF) to a chat message and send it into the case."""
    await show_tab(page, "chat")
    await page.set_input_files("[data-testid=chat-file]", str(path))
    if text:
        await page.fill("[data-testid=chat-text]", text)
    await page.click("[data-testid=chat-send]")
    await page.locator("[data-testid=chat-attachment]").filter(has_text=path.name).first.wait_for()


async def close_and_check_console(*pages) -> None:  # noqa: ANN002
    """Closes each person's browser; fails if a page logged an error or a request failed."""
    for page in pages:
        errors = [line for line in page.console_lines
                  if line.startswith(("error", "http")) and "favicon.ico" not in line]
        await page.context.close()
        assert not errors, errors
