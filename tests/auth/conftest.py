"""Helpers for the auth tests: reading CSRF tokens from pages, TOTP codes at chosen steps, and
signing a test client in with a verified session without walking the whole flow each time."""

from __future__ import annotations

import re
import time

import httpx
import pyotp
import pytest

from carebridge.auth import second_factor, service
from carebridge.auth.models import User
from carebridge.web.deps import SESSION_COOKIE
from tests.factories import PASSWORD

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)


def avoid_step_edge() -> None:
    """Codes are for 'this step': keep a test from straddling a 30-second boundary."""
    if time.time() % second_factor.STEP_SECONDS > second_factor.STEP_SECONDS - 2:
        time.sleep(2.5)


def code_at(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).generate_otp(second_factor.current_step() + offset)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD,
                  next_path: str = "/dashboard") -> httpx.Response:
    return await client.post("/login", data={"username": username, "password": password, "next": next_path})


async def page_csrf(client: httpx.AsyncClient, path: str = "/account") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    return csrf_from(page.text)


async def enrol(db, user: User) -> tuple[str, list[str]]:
    """TOTP switched on through the real service with a real code; returns secret and recovery codes."""
    avoid_step_edge()
    principal = await service.load_principal(db, user, via="session")
    secret = await second_factor.begin_enrolment(db, user)
    codes = await second_factor.confirm_enrolment(db, user, code_at(secret, -1), principal)
    return secret, codes


async def login_as(client: httpx.AsyncClient, db, user: User) -> str:
    """A verified session cookie for `user`; returns its CSRF token."""
    token, web_session = await service.start_session(db, user, ip="203.0.113.7", mfa_verified=True)
    client.cookies.set(SESSION_COOKIE, token)
    return web_session.csrf_token


@pytest.fixture
async def other_client(app):  # noqa: ANN001, ANN201
    """A second browser, from another address."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
