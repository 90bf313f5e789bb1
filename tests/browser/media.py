"""A Chromium with a fake camera and microphone, for tests of the video room. Separate from the
shared `browser` fixture so other tests keep a browser without media devices.

--allow-loopback-in-peer-connection: Chromium otherwise offers no loopback ICE candidates, and in
a sandbox with only loopback two peers would find no path (docs: /work/shared/PLATFORM-NOTES.md).
The autoplay flag stands in for the tap a person gives the page before the video starts."""

from __future__ import annotations

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, OUTPUT, Shots

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required"]
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
async def media_browser():  # noqa: ANN201
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                    args=CHROMIUM_ARGS + MEDIA_ARGS)
        yield instance
        await instance.close()


async def media_page(browser, live_server, name: str, viewport: dict = LAPTOP, locale: str = "zh-CN"):  # noqa: ANN001, ANN201
    """A page in its own browser context (its own cookies: one person), with camera and microphone allowed."""
    context = await browser.new_context(viewport=viewport, base_url=live_server.base_url, locale=locale,
                                        permissions=["camera", "microphone"])
    page = await context.new_page()
    page.set_default_timeout(15_000)
    page.shots = Shots(page, name)
    page.console_lines = []  # console messages and failed requests, for the test to check
    page.on("console", lambda message: page.console_lines.append(
        f"{message.type}: {message.text} ({message.location.get('url', '')})"))
    page.on("response", lambda response: response.status >= 400 and page.console_lines.append(
        f"http {response.status}: {response.request.method} {response.url}"))
    return page


__all__ = ["OUTPUT", "media_browser", "media_page"]
