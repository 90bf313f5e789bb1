"""The administrators' audit search: who sees what, every filter, cursor paging, CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from carebridge.access import emergency
from carebridge.access.service import access_patient
from carebridge.audit import service as audit
from carebridge.audit.queries import AuditFilters, export_audit_csv, search_audit
from carebridge.errors import Forbidden, InvalidInput
from carebridge.kit.clock import utcnow
from tests.access.conftest import audit_rows, sign_in


async def _events(world, scene) -> None:  # noqa: ANN001
    """A doctor reads at home, an outsider reads at their hospital, then breaks the glass on ours."""
    await access_patient(world.db, await world.principal(scene.doctor), scene.patient.id)
    await access_patient(world.db, await world.principal(scene.outsider), scene.other_patient.id)
    await emergency.start_break_glass(world.db, await world.principal(scene.outsider), scene.patient.id,
                                      "bleeding after a road accident", scene.other.id)
    await access_patient(world.db, await world.principal(scene.outsider), scene.patient.id)


async def _search(world, user, **filters):  # noqa: ANN001, ANN202
    page = await search_audit(world.db, await world.principal(user), AuditFilters(**filters), limit=200)
    return page.items


async def test_facility_admin_sees_their_facility_and_their_patients_only(world, scene):
    await _events(world, scene)
    seen = [(e.action, e.actor_user_id, e.patient_id) for e in await _search(world, scene.admin)]
    assert ("read", scene.doctor.id, scene.patient.id) in seen
    assert ("break_glass", scene.outsider.id, scene.patient.id) in seen
    assert ("read", scene.outsider.id, scene.patient.id) in seen
    assert all(patient == scene.patient.id for _, _, patient in seen)
    other = {(e.action, e.patient_id) for e in await _search(world, scene.other_admin)}
    assert ("read", scene.other_patient.id) in other and ("break_glass", scene.patient.id) in other
    assert ("read", scene.patient.id) in other  # the outsider read it at the other hospital


async def test_platform_admin_sees_everything(world, scene):
    await _events(world, scene)
    every = await audit_rows(world.db)
    assert [e.seq for e in await _search(world, scene.platform)] == [e.seq for e in reversed(every)]


@pytest.mark.parametrize("who", ["doctor", "patient_user"])
async def test_others_may_not_search(world, scene, who):
    with pytest.raises(Forbidden):
        await _search(world, getattr(scene, who))


async def test_filters(world, scene):
    await _events(world, scene)
    assert {e.patient_id for e in await _search(world, scene.platform, patient_id=scene.other_patient.id)} == {
        scene.other_patient.id}
    by_id = await _search(world, scene.platform, actor=str(scene.doctor.id))
    by_name = await _search(world, scene.platform, actor=scene.doctor.display_name.lower())
    assert {e.actor_user_id for e in by_id} == {e.actor_user_id for e in by_name} == {scene.doctor.id}
    assert {e.action for e in await _search(world, scene.platform, action="break_glass")} == {"break_glass"}
    glass = await _search(world, scene.platform, break_glass_only=True)
    assert [(e.action, e.actor_user_id) for e in glass] == [("read", scene.outsider.id),
                                                            ("break_glass", scene.outsider.id)]
    assert await _search(world, scene.platform, facility_id=scene.home.id, action="read") != []


async def test_break_glass_filter_includes_the_emergency_lookups(world, scene):
    await emergency.emergency_lookup(world.db, await world.principal(scene.outsider), scene.other_patient.national_id)
    found = await _search(world, scene.admin, break_glass_only=True)
    assert found == []  # the lookup was of another facility's patient, at another facility
    [lookup] = await _search(world, scene.other_admin, break_glass_only=True)
    assert (lookup.action, lookup.detail["emergency_lookup"]) == ("search", True)


async def test_outcome_filter_finds_refusals(client, world, scene):
    assert (await client.get(f"/api/v1/patients/{scene.patient.id}/consents",
                             headers=await world.token(scene.outsider))).status_code == 404
    denied = await _search(world, scene.admin, outcome="denied")
    assert [(e.actor_user_id, e.patient_id) for e in denied] == [(scene.outsider.id, scene.patient.id)]


async def test_date_range(world, scene):
    await _events(world, scene)
    now = utcnow()
    assert await _search(world, scene.platform, since=now + dt.timedelta(hours=1)) == []
    assert await _search(world, scene.platform, until=now - dt.timedelta(hours=1)) == []
    around = await _search(world, scene.platform, since=now - dt.timedelta(hours=1), until=now + dt.timedelta(hours=1))
    assert len(around) == len(await audit_rows(world.db))
    naive_means_utc = await _search(world, scene.platform, since=(now - dt.timedelta(hours=1)).replace(tzinfo=None))
    assert len(naive_means_utc) == len(around)
    with pytest.raises(InvalidInput):
        await _search(world, scene.platform, since=now, until=now - dt.timedelta(days=1))


async def test_cursor_pages_through_newest_first_without_gaps(world, scene):
    for n in range(7):
        await audit.append(world.db, audit.Entry(action="read", outcome="allowed", patient_id=scene.patient.id,
                                                 resource_id=n, facility_id=scene.home.id))
    admin = await world.principal(scene.admin)
    seen, cursor = [], None
    while True:
        page = await search_audit(world.db, admin, AuditFilters(patient_id=scene.patient.id), cursor=cursor, limit=3)
        seen += [e.seq for e in page.items]
        if not (cursor := page.next_cursor):
            break
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)


async def test_csv_export_is_complete_safe_and_audited(world, scene):
    await _events(world, scene)
    await audit.append(world.db, audit.Entry(action="read", outcome="allowed", patient_id=scene.patient.id,
                                             actor=audit.Actor(user_id=999, name="=HYPERLINK(\"x\")")))
    admin = await world.principal(scene.admin)
    expected = [e.seq for e in reversed(await _search(world, scene.admin))]
    body = await export_audit_csv(world.db, admin, AuditFilters())
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [int(r["seq"]) for r in rows] == expected
    assert any(r["break_glass"] == "yes" and r["action"] == "break_glass" for r in rows)
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body
    [export] = await audit_rows(world.db, action="export")
    assert (export.actor_user_id, export.detail["rows"], export.facility_id) == (scene.admin.id, len(rows),
                                                                                 scene.home.id)


async def test_patient_filter_does_not_widen_a_facility_admins_view(world, scene):
    await _events(world, scene)
    assert await _search(world, scene.admin, patient_id=scene.other_patient.id) == []


# --- API ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [
    (None, 401), ("doctor", 403), ("patient_user", 403), ("admin", 200), ("platform", 200),
])
async def test_audit_events_route_matrix(client, world, scene, who, status):
    await _events(world, scene)
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.get("/api/v1/audit/events", params={"patient_id": scene.patient.id}, headers=headers)
    assert response.status_code == status
    if status == 200:
        assert {e["patient_id"] for e in response.json()["items"]} == {scene.patient.id}


async def test_other_facilitys_admin_does_not_see_our_own_reads(client, world, scene):
    await access_patient(world.db, await world.principal(scene.doctor), scene.patient.id)
    response = await client.get("/api/v1/audit/events", params={"patient_id": scene.patient.id},
                                headers=await world.token(scene.other_admin))
    assert response.status_code == 200 and response.json()["items"] == []


async def test_audit_events_api_pages_with_a_cursor(client, world, scene):
    await _events(world, scene)
    headers = await world.token(scene.platform)
    first = (await client.get("/api/v1/audit/events", params={"limit": 2}, headers=headers)).json()
    second = (await client.get("/api/v1/audit/events", params={"limit": 2, "cursor": first["next_cursor"]},
                               headers=headers)).json()
    assert first["items"][-1]["seq"] > second["items"][0]["seq"]
    assert (await client.get("/api/v1/audit/events", params={"cursor": "%%%"}, headers=headers)).status_code == 422
    assert (await client.get("/api/v1/audit/events", params={"limit": 0}, headers=headers)).status_code == 422


@pytest.mark.parametrize("who, status", [(None, 401), ("doctor", 403), ("patient_user", 403), ("admin", 200)])
async def test_audit_csv_route_matrix(client, world, scene, who, status):
    await _events(world, scene)
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.get("/api/v1/audit/events.csv", params={"break_glass": "true"}, headers=headers)
    assert response.status_code == status
    if status == 200:
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert {r["break_glass"] for r in rows} == {"yes"} and len(rows) == 2


# --- page --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [(None, 303), ("doctor", 403), ("patient_user", 403), ("admin", 200)])
async def test_audit_page_matrix(client, world, scene, who, status):
    if who:
        await sign_in(client, world.db, getattr(scene, who))
    assert (await client.get("/audit")).status_code == status


async def test_audit_page_flags_break_glass_and_pages_with_htmx(client, world, scene):
    await _events(world, scene)
    for n in range(60):
        await audit.append(world.db, audit.Entry(action="read", outcome="allowed", patient_id=scene.patient.id,
                                                 resource_id=n, facility_id=scene.home.id))
    await sign_in(client, world.db, scene.admin)
    page = await client.get("/audit", params={"break_glass": "1"})
    assert page.status_code == 200
    assert page.text.count('data-testid="audit-row"') == 2 and 'data-testid="audit-break-glass"' in page.text
    assert "bleeding after a road accident" in page.text
    first = await client.get("/audit")
    assert first.text.count('data-testid="audit-row"') == 50 and 'data-testid="audit-more"' in first.text
    more_url = first.text.split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
    more = await client.get(more_url, headers={"HX-Request": "true"})
    assert "<html" not in more.text and more.text.count('data-testid="audit-row"') > 0


async def test_audit_page_filters_by_china_dates_and_reports_bad_input(client, world, scene):
    await _events(world, scene)
    await sign_in(client, world.db, scene.admin)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    found = await client.get("/audit", params={"since": today.isoformat(), "until": today.isoformat()})
    assert found.text.count('data-testid="audit-row"') >= 3
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    assert 'data-testid="audit-row"' not in (await client.get("/audit", params={"since": tomorrow})).text
    bad = await client.get("/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text


async def test_audit_page_exports_csv(client, world, scene):
    await _events(world, scene)
    await sign_in(client, world.db, scene.admin)
    response = await client.get("/audit/export.csv", params={"action": "break_glass"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["action"] for r in rows] == ["break_glass"]
    assert [e.detail["filters"] for e in await audit_rows(world.db, action="export")] == [{"action": "break_glass"}]



async def test_platform_admin_narrows_the_page_to_one_facility(client, world, scene):
    await _events(world, scene)
    await sign_in(client, world.db, scene.platform)
    page = await client.get("/audit", params={"facility_id": scene.home.id})
    assert 'name="facility_id"' in page.text
    assert page.text.count('data-testid="audit-row"') == len(await audit_rows(world.db, facility_id=scene.home.id))
