"""The network's pages: tree, facility page and its admin forms, departments, import, practitioners."""

import datetime as dt

import pytest
from sqlalchemy import select

from carebridge.auth.models import Role
from carebridge.network import practitioners, service
from carebridge.network.models import Facility, RosterShift
from carebridge.network.web_forms import CST
from tests.network.conftest import doctor, shift, sign_in
from tests.network.files import network_rows, to_csv


@pytest.fixture
async def users(world, net):  # noqa: ANN001, ANN201
    return {
        "doctor": await world.user((Role.doctor, net.county.id)),
        "county_admin": await world.user((Role.facility_admin, net.county.id)),
        "city_admin": await world.user((Role.facility_admin, net.city.id)),
        "platform": net.admin_user,
    }


async def test_anonymous_browsers_are_sent_to_sign_in(client, net):
    for path in ("/network", f"/network/facilities/{net.city.id}", "/practitioners", "/network/import",
                 "/network/departments"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path


async def test_tree_shows_tiers_counts_and_opens_branches(english, db, users, net):
    await sign_in(english, db, users["doctor"])
    page = await english.get("/network")
    assert page.status_code == 200
    assert "Facility NAT" in page.text and "Facility PRV" in page.text  # the top is opened one level
    assert f'hx-get="/network/tree/{net.province.id}"' in page.text
    assert "City hospital" in page.text
    branch = await english.get(f"/network/tree/{net.province.id}", headers={"HX-Request": "true"})
    assert "Facility CTY" in branch.text and "Facility CTYFAR" in branch.text and "<html" not in branch.text
    plain = await english.get(f"/network/tree/{net.province.id}")
    assert plain.status_code == 303 and plain.headers["location"] == f"/network/facilities/{net.province.id}"


async def test_tree_shows_chinese_names_in_chinese(client, db, users, net):
    await sign_in(client, db, users["doctor"])
    page = await client.get("/network", headers={"Accept-Language": "zh-CN"})
    assert "机构NAT" in page.text and "Facility NAT" not in page.text


async def test_search_box_finds_facilities(english, db, users, net):
    await sign_in(english, db, users["doctor"])
    page = await english.get("/network", params={"q": "ctyfar"})
    assert f'href="/network/facilities/{net.far_city.id}"' in page.text
    by_tier = await english.get("/network", params={"tier": "village_clinic"})
    assert "Facility VIL" in by_tier.text


async def test_facility_page_shows_hubs_departments_services_and_who_is_on_duty(english, db, users, net):
    on_duty = await doctor(db, net.admin, net.county, "dr.duty", "PG-0001", specialty="internal_medicine")
    await shift(db, net.admin, on_duty.id, net.county, -1, 4)
    await sign_in(english, db, users["doctor"])
    page = await english.get(f"/network/facilities/{net.county.id}")
    assert page.status_code == 200
    assert "Facility CTY" in page.text and "Internal medicine" in page.text and "Dr dr.duty" in page.text
    assert "Edit this facility" not in page.text


async def test_facility_admin_edits_their_own_facility_only(english, db, users, net):
    csrf = await sign_in(english, db, users["county_admin"])
    own = await english.get(f"/network/facilities/{net.county.id}")
    assert "Edit this facility" in own.text and 'name="tier"' not in own.text  # tier is the platform's
    other = await english.get(f"/network/facilities/{net.city.id}")
    assert "Edit this facility" not in other.text
    form = {"csrf_token": csrf, "name": "县医院", "name_en": "County Hospital", "phone": "0710-1112222",
            "require_mfa": "on", "latitude": "30.2", "longitude": "115.0"}
    saved = await english.post(f"/network/facilities/{net.county.id}", data=form)
    assert saved.status_code == 303
    assert "0710-1112222" in (await english.get(saved.headers["location"])).text
    refused = await english.post(f"/network/facilities/{net.city.id}", data=form)
    assert refused.status_code == 403
    no_csrf = await english.post(f"/network/facilities/{net.county.id}", data={**form, "csrf_token": ""})
    assert no_csrf.status_code == 403


async def test_a_refused_form_shows_the_reason_and_changes_nothing(english, db, users, net):
    csrf = await sign_in(english, db, users["county_admin"])
    page = await english.post(f"/network/facilities/{net.county.id}", data={
        "csrf_token": csrf, "name": "改名", "latitude": "123", "longitude": "115"})
    assert page.status_code == 422 and "latitude" in page.text and 'role="alert"' in page.text
    assert (await db.get(Facility, net.county.id)).name == "机构CNT"


async def test_doctors_cannot_use_admin_forms(english, db, users, net):
    csrf = await sign_in(english, db, users["doctor"])
    for path, data in ((f"/network/facilities/{net.county.id}", {"name": "x"}),
                       (f"/network/facilities/{net.county.id}/departments", {"department": "icu"}),
                       ("/network/facilities", {"code": "X", "name": "x", "tier": "village_clinic"}),
                       ("/network/departments", {"code": "abc", "name": "x", "name_en": "x"})):
        response = await english.post(path, data={"csrf_token": csrf, **data})
        assert response.status_code == 403, path
    assert (await english.get("/network/facilities/new")).status_code == 403
    assert (await english.get("/network/import")).status_code == 403


async def test_departments_and_services_forms(english, db, users, net):
    csrf = await sign_in(english, db, users["county_admin"])
    url = f"/network/facilities/{net.county.id}"
    assert (await english.post(f"{url}/departments", data={"csrf_token": csrf, "department": "cardiology"})
            ).status_code == 303
    offered = await english.post(f"{url}/offerings", data={
        "csrf_token": csrf, "kind": "ecg_reading", "department": "cardiology", "recipients": "TWN VIL"})
    assert offered.status_code == 303
    page = await english.get(url)
    assert "ECG reading" in page.text and "Facility TWN" in page.text and "Facility VIL" in page.text
    found = await english.get("/api/v1/service-providers", params={"kind": "ecg_reading",
                                                                   "for_facility_id": net.village.id})
    assert [p["facility"]["code"] for p in found.json()] == ["CNT"]
    unknown = await english.post(f"{url}/offerings", data={"csrf_token": csrf, "kind": "consultation",
                                                           "recipients": "NOSUCH"})
    assert unknown.status_code == 404 and "NOSUCH" in unknown.text


async def test_platform_admin_adds_a_facility_with_its_hub(english, db, users, net):
    csrf = await sign_in(english, db, users["platform"])
    assert (await english.get("/network/facilities/new")).status_code == 200
    form = {"csrf_token": csrf, "code": "NEWTWN", "tier": "township_center", "name": "新镇", "name_en": "New Town",
            "hub_code": "CNT", "departments": "general_practice nursing"}
    created = await english.post("/network/facilities", data=form)
    assert created.status_code == 303
    new = await service.get_facility_by_code(db, "NEWTWN")
    assert [h.hub.code for h in await service.list_hubs(db, new.id)] == ["CNT"]
    again = await english.post("/network/facilities", data=form)
    assert again.status_code == 409 and "NEWTWN" in again.text and 'value="New Town"' in again.text


async def test_department_catalog_page(english, db, users, net):
    csrf = await sign_in(english, db, users["platform"])
    added = await english.post("/network/departments", data={"csrf_token": csrf, "code": "geriatrics",
                                                               "name": "老年医学科", "name_en": "Geriatrics"})
    assert added.status_code == 303
    renamed = await english.post("/network/departments/geriatrics", data={
        "csrf_token": csrf, "name": "老年科", "name_en": "Elderly care", "active": "on"})
    assert renamed.status_code == 303
    assert "Elderly care" in (await english.get("/network/departments")).text


async def test_import_page_reports_every_bad_line_and_imports_nothing(english, db, users, net):
    csrf = await sign_in(english, db, users["platform"])
    assert "Check and import" in (await english.get("/network/import")).text
    rows = network_rows(6, prefix="PGBAD")
    rows[1]["tier"] = "castle"
    rows[4]["admin_username"] = rows[0]["admin_username"]
    response = await english.post("/network/import", data={"csrf_token": csrf},
                                  files={"file": ("bad.csv", to_csv(rows), "text/csv")})
    assert response.status_code == 422
    assert "Nothing was imported" in response.text and "line 3" in response.text and "line 6" in response.text
    assert await db.scalar(select(Facility.id).where(Facility.code.like("PGBAD%"))) is None


async def test_import_page_imports_and_shows_one_time_passwords_once(english, db, users, net):
    csrf = await sign_in(english, db, users["platform"])
    response = await english.post("/network/import", data={"csrf_token": csrf, "issue_passwords": "on"},
                                  files={"file": ("ok.csv", to_csv(network_rows(12, prefix="PGOK")), "text/csv")})
    assert response.status_code == 200
    assert "Imported 12 facilities" in response.text and "admin.pgoknat0000," in response.text


async def test_import_page_is_refused_to_facility_admins(english, db, users, net):
    csrf = await sign_in(english, db, users["county_admin"])
    response = await english.post("/network/import", data={"csrf_token": csrf},
                                  files={"file": ("ok.csv", to_csv(network_rows(3, prefix="PGNO")), "text/csv")})
    assert response.status_code == 403


async def test_practitioner_directory_filters(english, db, users, net):
    a = await doctor(db, net.admin, net.city, "dr.anne", "PG-0100", languages=("zh", "en"))
    await doctor(db, net.admin, net.county, "dr.bai", "PG-0101", specialty="internal_medicine")
    await shift(db, net.admin, a.id, net.city, -1, 2)
    await sign_in(english, db, users["doctor"])
    everyone = await english.get("/practitioners")
    assert "Dr dr.anne" in everyone.text and "Dr dr.bai" in everyone.text
    english_speakers = await english.get("/practitioners", params={"language": "en"})
    assert "Dr dr.anne" in english_speakers.text and "Dr dr.bai" not in english_speakers.text
    on_duty = await english.get("/practitioners", params={"on_duty": "1"})
    assert "Dr dr.anne" in on_duty.text and "Dr dr.bai" not in on_duty.text
    at_county = await english.get("/practitioners", params={"facility": "CNT"})
    assert "Dr dr.bai" in at_county.text and "Dr dr.anne" not in at_county.text
    assert (await english.get("/practitioners", params={"facility": "NOPE"})).status_code == 404


async def test_practitioner_week_roster_and_shift_forms(english, db, users, net):
    view = await doctor(db, net.admin, net.county, "dr.week", "PG-0200", specialty="internal_medicine")
    csrf = await sign_in(english, db, users["county_admin"])
    monday = dt.date(2030, 3, 4)
    form = {"csrf_token": csrf, "facility_id": str(net.county.id), "starts_at": "2030-03-05T08:00",
            "ends_at": "2030-03-05T16:00", "week": monday.isoformat()}
    added = await english.post(f"/practitioners/{view.id}/shifts", data=form)
    assert added.status_code == 303 and "week=2030-03-04" in added.headers["location"]
    made = await db.scalar(select(RosterShift).where(RosterShift.practitioner_id == view.id))
    assert made.starts_at == dt.datetime(2030, 3, 5, 8, tzinfo=CST)  # the form is in China Standard Time
    page = await english.get(f"/practitioners/{view.id}", params={"week": "2030-03-06"})
    assert "08:00–16:00" in page.text and "Tue" in page.text and "Remove shift" in page.text
    overlap = await english.post(f"/practitioners/{view.id}/shifts", data={**form, "starts_at": "2030-03-05T12:00",
                                                                            "ends_at": "2030-03-05T20:00"})
    assert overlap.status_code == 409 and "overlaps" in overlap.text
    backwards = await english.post(f"/practitioners/{view.id}/shifts", data={**form, "starts_at": "2030-03-06T12:00",
                                                                              "ends_at": "2030-03-06T10:00"})
    assert backwards.status_code == 422
    removed = await english.post(f"/practitioners/{view.id}/shifts/{made.id}/delete", data={"csrf_token": csrf})
    assert removed.status_code == 303
    assert await practitioners.list_shifts(db, view.id, made.starts_at, made.ends_at) == []


async def test_other_facility_admin_cannot_touch_the_roster(english, db, users, net):
    view = await doctor(db, net.admin, net.county, "dr.other", "PG-0300", specialty="internal_medicine")
    made = await shift(db, net.admin, view.id, net.county, 30, 4)
    csrf = await sign_in(english, db, users["city_admin"])
    page = await english.get(f"/practitioners/{view.id}")
    assert page.status_code == 200 and "Add a shift" not in page.text
    assert (await english.post(f"/practitioners/{view.id}/shifts/{made.id}/delete",
                               data={"csrf_token": csrf})).status_code == 403
    assert (await english.post(f"/practitioners/{view.id}/shifts", data={
        "csrf_token": csrf, "facility_id": str(net.county.id), "starts_at": "2030-01-01T08:00",
        "ends_at": "2030-01-01T12:00"})).status_code == 403


async def test_facility_admin_registers_a_practitioner_from_the_page(english, db, users, net):
    csrf = await sign_in(english, db, users["county_admin"])
    form_page = await english.get("/practitioners/new")
    assert form_page.status_code == 200 and f'value="{net.county.id}"' in form_page.text
    created = await english.post("/practitioners", data={
        "csrf_token": csrf, "username": "dr.new", "display_name": "Dr New", "role": "doctor", "title": "resident",
        "specialty": "internal_medicine", "license_no": "PG-0400", "languages": "zh, en",
        "facility_id": str(net.county.id)})
    assert created.status_code == 303
    profile = await english.get(created.headers["location"])
    assert "Dr New" in profile.text and "PG-0400" in profile.text and "Resident physician" in profile.text
    duplicate = await english.post("/practitioners", data={
        "csrf_token": csrf, "username": "dr.new2", "display_name": "Dr New 2", "title": "resident",
        "license_no": "PG-0400", "languages": "zh", "facility_id": str(net.county.id)})
    assert duplicate.status_code == 409 and "PG-0400" in duplicate.text and 'value="dr.new2"' in duplicate.text
    doctor_csrf = await sign_in(english, db, users["doctor"])
    assert (await english.get("/practitioners/new")).status_code == 403
    assert (await english.post("/practitioners", data={"csrf_token": doctor_csrf})).status_code == 403
