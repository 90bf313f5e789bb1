"""Dates people type and read (start of practice, licence expiry) are days where the network is, not
UTC days: in China the UTC date is still yesterday until 08:00."""

from __future__ import annotations

import datetime as dt

import pytest

from carebridge.kit import clock
from carebridge.portal.home_nursing import dispatch
from tests.portal.home_nursing import helpers

API = "/api/v1/nursing"
# 01:00 on 24 November in Shanghai, while it is still the 23rd in UTC.
EARLY_MORNING_IN_CHINA = dt.datetime(2026, 11, 23, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def early_morning(monkeypatch) -> dt.date:  # noqa: ANN001
    monkeypatch.setattr(clock, "utcnow", lambda: EARLY_MORNING_IN_CHINA)
    return dt.date(2026, 11, 24)


async def test_a_nurse_who_started_today_local_time_is_not_in_the_future(client, scene, early_morning) -> None:  # noqa: ANN001
    coordinator = await scene.world.token(scene.coordinator)
    nurse_id = scene.practitioner["a"]
    body = {"license_valid_until": "2028-01-01", "practising_since": early_morning.isoformat()}
    saved = await client.put(f"{API}/nurses/{nurse_id}/profile", headers=coordinator, json=body)
    assert saved.status_code == 200, saved.text
    tomorrow = (early_morning + dt.timedelta(days=1)).isoformat()
    refused = await client.put(f"{API}/nurses/{nurse_id}/profile", headers=coordinator,
                               json={**body, "practising_since": tomorrow})
    assert refused.status_code == 422


async def test_years_of_practice_turn_over_on_the_local_anniversary(client, scene, early_morning) -> None:  # noqa: ANN001
    coordinator = await scene.world.token(scene.coordinator)
    nurse_id = scene.practitioner["a"]
    ten_years_ago = early_morning.replace(year=early_morning.year - 10).isoformat()
    saved = await client.put(f"{API}/nurses/{nurse_id}/profile", headers=coordinator,
                             json={"license_valid_until": "2028-01-01", "practising_since": ten_years_ago})
    assert saved.json()["years"] == 10


async def test_a_licence_must_hold_on_the_visits_local_day(scene, db, settings, monkeypatch) -> None:  # noqa: ANN001
    # East of UTC+8 a morning window starts on the previous UTC day (08:00 in Tokyo is 23:00 UTC).
    monkeypatch.setattr(settings, "display_timezone", "Asia/Tokyo")
    order = await helpers.book(scene, window="morning")
    nurse = next(c.nurse for c in await dispatch.candidates(db, order) if c.nurse.user.id == scene.nurse_a.id)
    nurse.profile.license_valid_until = scene.day - dt.timedelta(days=1)
    await db.flush()
    found = next(c for c in await dispatch.candidates(db, order) if c.nurse.user.id == scene.nurse_a.id)
    assert any("Licence" in problem for problem, _params in found.problems)
