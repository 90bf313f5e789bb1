"""Steps several browser tests share, written as a person would do them."""

from __future__ import annotations

import asyncio
import re
import time

import pyotp

# The server refuses a TOTP code whose time step was already used (replay protection), so a test
# that signs the same person in twice within 30 s must wait for the next step, as a person would.
_last_step: dict[str, int] = {}


async def fresh_totp_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    step = int(time.time()) // totp.interval
    if _last_step.get(secret, -1) >= step:
        await asyncio.sleep((step + 1) * totp.interval - time.time() + 0.5)
        step += 1
    _last_step[secret] = step
    return totp.at(step * totp.interval)


async def sign_in(page, username: str, password: str, totp_secret: str | None = None) -> None:  # noqa: ANN001
    await page.goto("/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("form[action='/login'] button[type=submit]")
    if totp_secret:
        await page.wait_for_url("**/login/second-factor**")
        await page.fill("input[name=code]", await fresh_totp_code(totp_secret))
        await page.click("main form button[type=submit]")
    await page.wait_for_url(re.compile(r".*/(dashboard|portal)$"))  # patients land in the internet hospital
