"""ECG in the browser: a township technician uploads the tracing from the order's page and sees the
viewer with the automatic pre-read; the reader at the city hospital measures an interval and an
amplitude with the calipers, changes gain and speed, and reads it on a phone."""

import pytest
from pydicom.data import get_testdata_file

from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser


async def _svg_mm(page):  # noqa: ANN001, ANN202
    """The tracing's geometry: where it is on screen, and CSS pixels per SVG millimetre."""
    box = await page.locator("[data-testid=ecg-svg]").bounding_box()
    width_mm = await page.evaluate("document.querySelector('[data-testid=ecg-svg]').viewBox.baseVal.width")
    return box, box["width"] / width_mm


async def test_technician_uploads_an_ecg_and_sees_the_preread(page, live_server):
    world = live_server.world
    await sign_in(page, world["ecg_tech"], world["password"])
    await page.goto(f"/diagnosis/orders/{world['ecg_waiting_order']}/ecg")
    await page.locator("[data-testid=ecg-upload]").wait_for()
    await page.shots("upload-form")
    await page.set_input_files("[data-testid=ecg-file]", get_testdata_file("waveform_ecg.dcm"))
    await page.click("[data-testid=ecg-submit]")
    await page.locator("[data-testid=ecg-svg]").wait_for()
    measures = page.locator("[data-testid=ecg-measures]")
    await measures.wait_for()
    text = await measures.inner_text()
    assert "61" in text and "ms" in text
    assert await page.locator("[data-testid=ecg-flags] [data-flag=sinus_rhythm]").count() == 1
    panel = await page.inner_text("[data-testid=ecg-preread]")
    assert "自动预读" in panel or "Automatic pre-read" in panel  # zh-CN once the pending translations are merged
    assert await page.locator("[data-testid=ecg-svg] .ecg-trace").count() == 13  # 3x4 grid + rhythm strip
    await page.shots("uploaded-viewer")


async def test_reader_measures_with_the_calipers(page, live_server):
    world = live_server.world
    await sign_in(page, world["ecg_reader"], world["password"])
    await page.goto(f"/diagnosis/orders/{world['ecg_read_order']}/ecg")
    await page.locator("[data-testid=ecg-svg] .ecg-trace").first.wait_for()
    box, px = await _svg_mm(page)
    y = box["y"] + 30 * px
    # time caliper: two clicks one second (25 mm at 25 mm/s) apart
    await page.mouse.click(box["x"] + 40 * px, y)
    await page.mouse.click(box["x"] + 65 * px, y)
    readout = page.locator("[data-testid=ecg-readout]")
    ms = int(await readout.get_attribute("data-ms"))
    assert abs(ms - 1000) <= 20  # a screen pixel is about 14 ms at this zoom
    assert f"{round(60000 / ms)} 次/分" in await readout.inner_text()  # the page speaks zh-CN
    await page.shots("time-caliper")
    # amplitude caliper: 10 mm apart at 10 mm/mV is 1 mV
    await page.click("[data-testid=ecg-tool-amplitude]")
    await page.mouse.click(box["x"] + 50 * px, box["y"] + 20 * px)
    await page.mouse.click(box["x"] + 50 * px, box["y"] + 30 * px)
    value = float((await readout.inner_text()).split()[-2])
    assert abs(value - 1.0) <= 0.05
    await page.shots("amplitude-caliper")
    # 20 mm/mV and 50 mm/s: the paper grows, the same 1 mV is now 20 mm
    await page.select_option("[data-testid=ecg-gain]", "20")
    await page.select_option("[data-testid=ecg-speed]", "50")
    width = await page.evaluate("document.querySelector('[data-testid=ecg-svg]').viewBox.baseVal.width")
    assert width > 500
    await page.click("[data-testid=ecg-zoom-true]")
    await page.shots("gain-20-speed-50-paper-size")
    # printed, the paper is true to size: CSS millimetres are physical ones on paper
    await page.select_option("[data-testid=ecg-gain]", "10")
    await page.select_option("[data-testid=ecg-speed]", "25")
    await page.emulate_media(media="print")
    box, px = await _svg_mm(page)
    assert abs(px - 96 / 25.4) < 0.01


async def test_reader_reads_the_ecg_on_a_phone(phone, live_server):
    world = live_server.world
    await sign_in(phone, world["ecg_reader"], world["password"])
    await phone.goto(f"/diagnosis/orders/{world['ecg_read_order']}/ecg")
    await phone.locator("[data-testid=ecg-measures]").wait_for()
    await phone.locator("[data-testid=ecg-svg] .ecg-trace").first.wait_for()
    await phone.shots("phone-viewer")
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    box, px = await _svg_mm(phone)
    await phone.click("[data-testid=ecg-svg]", position={"x": 40 * px, "y": 30 * px})
    await phone.click("[data-testid=ecg-svg]", position={"x": 65 * px, "y": 30 * px})
    assert abs(int(await phone.locator("[data-testid=ecg-readout]").get_attribute("data-ms")) - 1000) <= 40
