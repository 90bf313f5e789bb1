"""The analytics routes: JSON, CSV and the page, with the authorization matrix for each."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.kit.clock import utcnow
from tests.analytics.conftest import ago
from tests.auth.conftest import login_as

JSON, CSV = "/api/v1/analytics/consultations", "/api/v1/analytics/consultations.csv"
PAGE, PAGE_CSV = "/analytics", "/analytics/export.csv"
ROUTES = (JSON, CSV, PAGE, PAGE_CSV)


@pytest.fixture
async def arranged(net, cases):  # noqa: ANN001, ANN201
    """Cases relative to the real clock, since the routes use it: two answered, one waiting past its due time."""
    now = utcnow()
    await cases.add(now - (ago(0) - ago(days=3)), "urgent", responses=[("triage", 30)], signed=300)
    await cases.add(now - (ago(0) - ago(days=4)), "urgent", responses=[("triage", 90)])
    await cases.add(now - (ago(0) - ago(hours=6)), "emergency", target=net.other_county)
    await cases.referral(net.patients[0], net.city, now - (ago(0) - ago(days=2)))
    return net


def rows_of(body: str) -> list[dict]:
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


async def test_anonymous_is_refused_everywhere(client, arranged):
    for url in (JSON, CSV):
        assert (await client.get(url)).status_code == 401, url
    for url in (PAGE, PAGE_CSV):
        response = await client.get(url)
        assert response.status_code in (303, 401), url
        assert "login" in response.headers.get("location", "/login"), url


async def test_clinicians_are_refused_with_403(client, world, arranged):
    for user in (arranged.doctor, arranged.county_doctor):
        headers = await world.token(user)
        for url in (JSON, CSV):
            assert (await client.get(url, headers=headers)).status_code == 403, url
        await login_as(client, world.db, user)
        for url in (PAGE, PAGE_CSV):
            assert (await client.get(url)).status_code == 403, url
        client.cookies.clear()


async def test_facility_admin_sees_own_facilities_and_not_another(client, world, arranged):
    headers = await world.token(arranged.county_admin)
    mine = (await client.get(JSON, headers=headers)).json()
    assert mine["submitted"] == 2 and mine["network_wide"] is False
    assert mine["facility_ids"] == [arranged.county.id]
    other = {"facility_id": arranged.other_county.id}
    assert (await client.get(JSON, params=other, headers=headers)).status_code == 403
    assert (await client.get(CSV, params=other, headers=headers)).status_code == 403
    theirs = (await client.get(JSON, headers=await world.token(arranged.other_admin))).json()
    assert theirs["submitted"] == 1 and theirs["by_urgency"] == [
        {"key": "emergency", "count": 1, "name": "", "name_en": "", "tier": ""}]


async def test_platform_admin_json_has_the_numbers(client, world, arranged):
    body = (await client.get(JSON, headers=await world.token(arranged.platform_admin))).json()
    assert body["network_wide"] is True and body["submitted"] == 3
    urgent = next(t for t in body["timing"] if t["urgency"] == "urgent")
    assert urgent["response_median_minutes"] == pytest.approx(60) and urgent["target_minutes"] == 120
    assert urgent["completion_median_minutes"] == pytest.approx(300)
    assert body["breaches"] == {"total": 1, "late": 0, "unanswered": 1, "by_urgency": {"emergency": 1}}
    assert body["referrals"]["up"] == 1 and body["referrals"]["up_above_county"] == 1
    county = body["county_share"]
    assert (county["eligible"], county["kept"], county["goal"]) == (3, 2, 0.9)
    assert "30 days" in county["definition"]
    assert sum(w["submitted"] for w in body["weeks"]) == 3
    assert body["by_target_facility"][0]["name"] == arranged.county.name


async def test_bad_filters_are_422(client, world, arranged):
    headers = await world.token(arranged.platform_admin)
    for params in ({"urgency": "soon"}, {"since": "2025-03-02", "until": "2025-03-01"}, {"since": "yesterday"}):
        assert (await client.get(JSON, params=params, headers=headers)).status_code == 422, params
    await login_as(client, world.db, arranged.platform_admin)
    page = await client.get(PAGE, params={"since": "not-a-day"})
    assert page.status_code == 422 and "YYYY-MM-DD" in page.text


async def test_csv_export_has_the_numbers_no_patient_and_is_audited(client, world, db, arranged):
    response = await client.get(CSV, headers=await world.token(arranged.platform_admin))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = rows_of(response.text)
    value = {(r["section"], r["key"], r["metric"]): r["value"] for r in rows}
    assert value["totals", "submitted", "cases"] == "3"
    assert value["timing", "urgent", "response_median_minutes"] == "60.0"
    assert value["breaches", "unanswered", "cases"] == "1"
    assert value["county_share", "share", "ratio"] == str(round(2 / 3, 4))
    for patient in arranged.patients:
        assert patient.name not in response.text and patient.national_id not in response.text
    exported = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "analytics_export"))).all()
    assert len(exported) == 1 and exported[0].actor_user_id == arranged.platform_admin.id
    assert exported[0].patient_id is None and exported[0].detail["network_wide"] is True


async def test_dashboard_page_shows_charts_table_goal_and_csv_link(client, world, db, arranged):
    await login_as(client, db, arranged.platform_admin)
    page = await client.get(PAGE, params={"urgency": "urgent"})
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="goal-line"' in html and "goal 90%" in html
    for chart in ("county", "weekly", "response", "tier", "urgency", "facility", "target", "referrals"):
        assert f'data-chart="{chart}"' in html, chart
    assert 'data-urgency="urgent"' in html and "60 min" in html
    assert 'href="/analytics/export.csv?urgency=urgent"' in html
    assert "30 days of the request" in html  # the county definition is on the page
    for patient in arranged.patients:
        assert patient.name not in html
    partial = await client.get(PAGE, params={"urgency": "urgent"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and 'data-chart="county"' in partial.text
    exported = await client.get(PAGE_CSV, params={"urgency": "urgent"})
    assert exported.status_code == 200
    assert {"urgency": "urgent"}.items() <= (await db.scalars(select(AuditEvent.detail).where(
        AuditEvent.action == "analytics_export"))).one().items()


async def test_facility_admin_page_lists_only_their_facilities(client, world, db, arranged):
    await login_as(client, db, arranged.county_admin)
    page = await client.get(PAGE)
    assert page.status_code == 200 and arranged.county.name_en in page.text
    assert arranged.other_county.name_en not in page.text.split("analytics-results")[0]
    assert (await client.get(PAGE, params={"facility_id": arranged.other_county.id})).status_code == 403
    assert (await client.get(PAGE_CSV, params={"facility_id": arranged.other_county.id})).status_code == 403


async def test_dashboard_speaks_chinese(client, db, arranged):
    await login_as(client, db, arranged.platform_admin)
    client.cookies.set("cb_lang", "zh_CN")
    page = await client.get(PAGE, headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
