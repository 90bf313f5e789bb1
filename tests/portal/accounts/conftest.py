"""A small network for patient-account tests: the internet hospital (a city hospital, where sign-ups
hold their patient role), a township centre with an elderly patient on file, another hospital,
their doctors; the console code sender on the app, and helpers to sign in by phone over HTTP."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import httpx
import pytest

from carebridge.auth.models import Role, User
from carebridge.network.models import Facility, Tier
from carebridge.portal.accounts.senders import ConsoleCodeSender
from carebridge.records.identifiers import national_id_check_char
from carebridge.records.models import Patient

_serial = itertools.count(101)
_phones = itertools.count(13900000001)


def national_id(birth: dt.date, sex: str = "female", area: str = "140402") -> str:
    """A valid resident ID for the birth date and sex (odd 17th digit = male)."""
    n = next(_serial) % 100
    first17 = f"{area}{birth:%Y%m%d}{n:02d}{1 if sex == 'male' else 2}"
    return first17 + national_id_check_char(first17)


def new_phone() -> str:
    return str(next(_phones))


@pytest.fixture
async def app(app):  # noqa: ANN001, ANN201
    app.state.portal_code_sender = ConsoleCodeSender()
    return app


@dataclass
class Scene:
    hospital: Facility  # runs the internet hospital
    town: Facility
    elsewhere: Facility
    town_doctor: User
    other_doctor: User
    town_admin: User
    mother: Patient  # elderly, on file at the town centre, phone on file
    extra: dict = field(default_factory=dict)


@pytest.fixture
async def scene(world) -> Scene:  # noqa: ANN001
    hospital = await world.facility("长治市人民医院", tier=Tier.city_hospital)
    town = await world.facility("西街乡卫生院", tier=Tier.township_center)
    elsewhere = await world.facility("别县医院", tier=Tier.county_hospital)
    birth = dt.date(1941, 2, 3)
    mother = await world.patient(town, name="李秀英", sex="female", birth_date=birth,
                                 national_id=national_id(birth), phone=new_phone())
    return Scene(hospital, town, elsewhere, await world.user((Role.doctor, town.id)),
                 await world.user((Role.doctor, elsewhere.id)), await world.user((Role.facility_admin, town.id)),
                 mother)


def outbox(app) -> ConsoleCodeSender:  # noqa: ANN001
    return app.state.portal_code_sender


async def request_code(client: httpx.AsyncClient, phone: str) -> httpx.Response:
    return await client.post("/api/v1/portal/codes", json={"phone": phone})


async def code_session(client: httpx.AsyncClient, app, phone: str, want: str = "session") -> dict:  # noqa: ANN001
    """Signs in by phone code; returns the JSON answer. A cookie session stays in the client's jar."""
    sent = await request_code(client, phone)
    assert sent.status_code == 202, sent.text
    answer = await client.post("/api/v1/portal/sessions",
                               json={"phone": phone, "code": outbox(app).last_code(phone), "want": want})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def token_for_phone(client: httpx.AsyncClient, app, phone: str) -> dict[str, str]:  # noqa: ANN001
    """A bearer header for the account of this phone (made on first use), without keeping a cookie."""
    answer = await code_session(client, app, phone, want="token")
    client.cookies.clear()
    return {"Authorization": f"Bearer {answer['token']}"}


async def profile(client: httpx.AsyncClient, headers: dict, name: str, nid: str) -> httpx.Response:
    return await client.post("/api/v1/portal/me/profile", json={"name": name, "national_id": nid}, headers=headers)


async def allow_resend(db) -> None:  # noqa: ANN001
    """As if every code so far had been asked for two minutes ago (past the resend pause)."""
    import datetime as dt

    from sqlalchemy import update

    from carebridge.kit.clock import utcnow
    from carebridge.portal.accounts.models import PhoneCode

    await db.execute(update(PhoneCode).values(created_at=utcnow() - dt.timedelta(minutes=2)))
