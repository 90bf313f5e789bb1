"""A doctor at a facility that enforces a second factor signs in with password + TOTP."""

import pyotp
import pytest

pytestmark = pytest.mark.browser


async def test_doctor_signs_in_with_totp_and_switches_language(page, live_server):
    world = live_server.world
    await page.goto("/login")
    await page.shots("login")
    await page.fill("input[name=username]", world["doctor"])
    await page.fill("input[name=password]", world["password"])
    await page.click("button[type=submit]")
    await page.wait_for_url("**/login/second-factor**")
    await page.fill("input[name=code]", pyotp.TOTP(world["totp_secret"]).now())
    await page.shots("second-factor")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/dashboard")
    assert "陈医生" in await page.inner_text("body")
    await page.click("a[lang=en]")
    await page.wait_for_url("**/dashboard")
    assert "Welcome" in await page.inner_text("h1")
    await page.shots("dashboard-en")
