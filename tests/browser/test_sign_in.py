"""A doctor at a facility that enforces a second factor signs in with password + TOTP."""

from urllib.parse import urlparse

import pyotp
import pytest

from tests.browser.steps import fresh_totp_code

pytestmark = pytest.mark.browser


async def test_doctor_signs_in_with_totp_and_switches_language(page, live_server):
    world = live_server.world
    await page.goto("/login")
    await page.shots("login")
    await page.fill("input[name=username]", world["doctor"])
    await page.fill("input[name=password]", world["password"])
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url("**/login/second-factor**")
    assert urlparse(page.url).path == "/login/second-factor"
    await page.fill("input[name=code]", await fresh_totp_code(world["totp_secret"]))
    await page.shots("second-factor")
    await page.click("main form button[type=submit]")
    await page.wait_for_url("**/dashboard")
    assert "陈明" in await page.inner_text("body")
    assert "欢迎" in await page.inner_text("h1")
    await page.click("a[lang=en]")
    await page.wait_for_url("**/dashboard")
    assert "Welcome" in await page.inner_text("h1")
    await page.shots("dashboard-en")


async def test_wrong_second_factor_code_keeps_the_door_shut(page, live_server):
    world = live_server.world
    await page.goto("/login")
    await page.fill("input[name=username]", world["doctor"])
    await page.fill("input[name=password]", world["password"])
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url("**/login/second-factor**")
    await page.fill("input[name=code]", "000000" if pyotp.TOTP(world["totp_secret"]).now() != "000000" else "111111")
    await page.click("main form button[type=submit]")
    await page.goto("/patients")
    assert "/login" in page.url
