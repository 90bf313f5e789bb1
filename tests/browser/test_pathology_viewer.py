"""Pathology slides as people use them: the community doctor uploads a frozen-section slide from
the order's page and sees it stored; the viewer opens it, zooms in (deeper tiles arrive, the
magnification readout climbs) and measures; the hub's pathologist opens it on a phone."""

from __future__ import annotations

import re

import pytest

from carebridge.kit import i18n
from tests.browser.steps import sign_in
from tests.diagnostics.pathology.slide_files import SVS

pytestmark = pytest.mark.browser
TILE = re.compile(r"_files/(\d+)/\d+_\d+\.jpeg$")


def _in_chinese(message: str) -> str:
    """The page's Chinese for `message` (英文 until the lead merges i18n-pending into the catalog)."""
    token = i18n.enter_locale("zh_CN")
    try:
        return i18n.gettext(message)
    finally:
        i18n.exit_locale(token)


async def _magnification(page) -> float:  # noqa: ANN001
    return float(await page.locator("[data-testid=slide-viewer]").get_attribute("data-magnification"))


async def test_sender_uploads_a_slide_and_zooms_into_it(page, live_server):
    world = live_server.world
    levels: list[int] = []
    page.on("response", lambda r: levels.append(int(m.group(1))) if (m := TILE.search(r.url)) and r.ok else None)
    await sign_in(page, world["path_sender"], world["password"])
    await page.goto(f"/diagnosis/orders/{world['path_order_id']}/slides")
    assert await page.locator("[data-testid=frozen-section]").inner_text() == _in_chinese("Frozen section")

    await page.set_input_files("[data-testid=slide-files]", str(SVS))
    await page.fill("[data-testid=slide-label]", "左乳肿物")
    await page.fill("[data-testid=slide-stain]", "H&E")
    await page.click("[data-testid=slide-submit]")
    result = page.locator("[data-testid=slide-upload-result][data-outcome]")
    await result.wait_for()
    assert await result.get_attribute("data-outcome") == "stored", await result.inner_text()

    viewer = page.locator("[data-testid=slide-viewer][data-state=open]")
    await viewer.wait_for()
    await page.locator(".patho-viewer[data-tiles-loaded]").wait_for()
    await page.wait_for_timeout(800)  # the opening animation settles
    await page.shots("slide-open")
    before, overview_level = await _magnification(page), max(levels)
    assert "左乳肿物" in await page.locator("[data-testid=slide-pick]").first.inner_text()
    assert "µm" in await page.locator("[data-testid=slide-scale]").inner_text()

    canvas = page.locator("[data-testid=slide-canvas]")
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(8):
        await page.mouse.wheel(0, -300)
        await page.wait_for_timeout(150)
    for _ in range(50):  # the page's CSP forbids eval, so wait_for_function cannot poll for us
        if await _magnification(page) > before * 2:
            break
        await page.wait_for_timeout(100)
    await page.wait_for_timeout(1000)
    assert await _magnification(page) > before * 2
    assert max(levels) > overview_level
    assert re.fullmatch(r"\d+(\.\d)?×", await page.locator("[data-testid=slide-magnification]").inner_text())
    await page.shots("zoomed-in")

    await page.click("[data-testid=slide-measure]")
    await page.mouse.move(box["x"] + 200, box["y"] + 200)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 400, box["y"] + 260, steps=5)
    await page.mouse.up()
    measured = await page.locator("[data-testid=slide-viewer]").get_attribute("data-measurement")
    assert re.fullmatch(r"[\d.]+ (µm|mm)", measured)
    await page.shots("measured")

    await page.click("[data-testid=slide-measure]")  # measuring off: dragging pans again
    await page.click("[data-testid=slide-fullscreen]")
    await page.wait_for_timeout(500)
    assert await page.evaluate("!!document.fullscreenElement || !!document.querySelector('.patho-fill')")
    stage = await page.locator(".patho-stage").bounding_box()
    assert stage["height"] > 0.7 * 860  # the slide takes the screen; the picker and tools stay above it
    await page.shots("full-screen")


async def test_the_pathologist_opens_the_frozen_section_on_a_phone(phone, live_server):
    world = live_server.world
    await sign_in(phone, world["path_reader"], world["password"])
    await phone.goto(f"/diagnosis/orders/{world['path_order_id']}/slides")
    await phone.locator("[data-testid=viewer-frozen]").wait_for()
    assert not await phone.locator("[data-testid=slide-upload]").count()  # the reader adds no slides
    slides = int(await phone.locator("[data-testid=slide-viewer]").get_attribute("data-slide-count") or 0)
    if slides:
        await phone.locator("[data-testid=slide-viewer][data-state=open]").wait_for()
        await phone.locator(".patho-viewer[data-tiles-loaded]").wait_for()
        await phone.wait_for_timeout(800)
    await phone.shots("phone")
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


async def test_the_upload_form_fits_a_phone(phone, live_server):
    world = live_server.world
    await sign_in(phone, world["path_sender"], world["password"])
    await phone.goto(f"/diagnosis/orders/{world['path_order_id']}/slides")
    await phone.locator("[data-testid=slide-upload]").wait_for()
    await phone.shots("sender-phone")
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
