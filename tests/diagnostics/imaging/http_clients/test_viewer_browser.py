"""The image viewer in Chromium: the reader signs in, opens the order's images, scrolls to another
slice, applies a window preset, measures a length, compares with the prior; on a tablet too."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import OUTPUT
from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser


async def _open(chromium, server, viewport: dict, user: str, name: str):  # noqa: ANN001, ANN202
    context = await chromium.new_context(viewport=viewport, base_url=server.base_url, locale="en-US",
                                         has_touch=viewport["width"] < 1100)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await sign_in(page, user, server.world["password"])
    await page.goto(f"/diagnosis/orders/{server.world['order_id']}/images")
    await page.get_by_test_id("slice-number").first.wait_for()
    await page.wait_for_function("() => (window.CareBridgeImaging || {timings: []}).timings.length > 0")
    return context, page, errors


async def _shot(page, name: str) -> None:  # noqa: ANN001
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(OUTPUT / f"imaging-viewer-{name}.png"), full_page=True)


async def _canvas_sample(page) -> list[int]:  # noqa: ANN001
    """A row of grey values through the middle of the displayed image, as the person sees them."""
    return await page.evaluate("""() => {
        const c = document.querySelector('[data-testid=viewer-canvas]');
        const ctx = c.getContext('2d');
        const y = Math.floor(c.height / 2);
        return Array.from(ctx.getImageData(0, y, c.width, 1).data.filter((_, i) => i % 4 === 0));
    }""")


async def test_a_reader_scrolls_windows_and_measures(chromium, imaging_server):
    context, page, errors = await _open(chromium, imaging_server, {"width": 1280, "height": 900},
                                        imaging_server.world["reader"], "desktop")
    slice_number = page.get_by_test_id("slice-number").first
    text = await slice_number.inner_text()
    assert re.match(r"Slice 10 / 20", text), text  # opens in the middle of the series
    assert "王秀英" in await page.get_by_test_id("overlay-patient").first.inner_text()
    assert len(await page.get_by_test_id("series-thumb").all()) == 1

    stage = page.locator(".iv-stage").first
    await stage.hover()
    await page.mouse.wheel(0, 120)
    await page.mouse.wheel(0, 120)
    await page.wait_for_function("() => document.querySelector('[data-testid=slice-number]').textContent"
                                 ".startsWith('Slice 12 / 20')")
    await page.keyboard.press("ArrowUp")
    await page.wait_for_function("() => document.querySelector('[data-testid=slice-number]').textContent"
                                 ".startsWith('Slice 11 / 20')")
    await page.get_by_test_id("slice-slider").first.fill("3")
    await page.wait_for_function("() => document.querySelector('[data-testid=slice-number]').textContent"
                                 ".startsWith('Slice 3 / 20')")

    before = await _canvas_sample(page)
    await page.get_by_test_id("preset-bone").click()
    await page.wait_for_function("() => document.querySelector('[data-testid=overlay-window]').textContent"
                                 ".startsWith('W 1800  L 400')")
    after = await _canvas_sample(page)
    assert before != after  # the picture itself changed, not only the label

    await page.get_by_test_id("tool-measure").click()
    box = await stage.bounding_box()
    y = box["y"] + box["height"] / 2
    await page.mouse.move(box["x"] + box["width"] / 2 - 100, y)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] / 2 + 100, y, steps=5)
    await page.mouse.up()
    measured = await page.get_by_test_id("measurement").first.inner_text()
    # 200 screen px across the 256-px image drawn to fit the stage (~650 px): ~79 image px at 0.488 mm.
    scale = await page.evaluate("() => document.querySelector('.iv-stage').clientHeight / 256")
    value = float(measured.split()[0])
    assert measured.endswith("mm") and value == pytest.approx(200 / scale * 0.488, rel=0.03), measured
    await _shot(page, "desktop")

    await page.get_by_test_id("viewer-compare").click()
    await page.wait_for_function("() => document.querySelectorAll('[data-testid=viewport]').length === 2")
    prior = page.get_by_test_id("slice-number").nth(1)
    await page.wait_for_function("() => document.querySelectorAll('[data-testid=slice-number]')[1]"
                                 ".textContent.startsWith('Slice 4 / 8')")
    assert "2025-04-02" in await page.get_by_test_id("overlay-study").nth(1).inner_text()
    assert await prior.is_visible()
    await _shot(page, "desktop-compare")
    assert errors == []
    await context.close()


async def test_the_viewer_on_a_tablet_and_a_phone(chromium, imaging_server):
    for name, viewport in (("tablet", {"width": 1024, "height": 768}), ("phone", {"width": 390, "height": 844})):
        context, page, errors = await _open(chromium, imaging_server, viewport, imaging_server.world["reader"], name)
        await page.get_by_test_id("tool-scroll").click()
        await page.locator(".iv-stage").first.scroll_into_view_if_needed()
        stage = await page.locator(".iv-stage").first.bounding_box()
        assert stage["width"] >= viewport["width"] * 0.6 and stage["height"] >= 250  # the image gets the room
        # One finger dragging down the image scrolls through the slices (touch events through CDP).
        cdp = await context.new_cdp_session(page)
        x, y = stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 3
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        for step in range(1, 6):
            await cdp.send("Input.dispatchTouchEvent", {"type": "touchMove",
                                                        "touchPoints": [{"x": x, "y": y + step * 10}]})
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        await page.wait_for_function("() => !document.querySelector('[data-testid=slice-number]').textContent"
                                     ".startsWith('Slice 10 / 20')")
        # Two fingers moving apart zoom in.
        zoom_text = "() => document.querySelector('[data-testid=overlay-window]').textContent.split('Zoom ')[1]"
        before = int((await page.evaluate(zoom_text)).rstrip("%"))
        cy = stage["y"] + stage["height"] / 2
        assert cy < viewport["height"]
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [
            {"x": x - 20, "y": cy, "id": 1}, {"x": x + 20, "y": cy, "id": 2}]})
        for step in range(1, 6):
            await cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                {"x": x - 20 - step * 12, "y": cy, "id": 1}, {"x": x + 20 + step * 12, "y": cy, "id": 2}]})
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        after = int((await page.evaluate(zoom_text)).rstrip("%"))
        assert after > before * 2, (before, after)  # 40 px apart became 160 px apart
        await page.get_by_test_id("viewer-compare").click()
        await page.wait_for_function("() => document.querySelectorAll('[data-testid=viewport]').length === 2")
        await page.wait_for_function("() => document.querySelectorAll('[data-testid=viewport][data-ready]').length"
                                     " === 2")
        await _shot(page, name)
        assert errors == []
        await context.close()
