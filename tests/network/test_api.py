"""The network's JSON API, with the authorization matrix for every admin action."""

import datetime as dt

import pytest

from carebridge.auth.models import Role
from carebridge.kit.clock import utcnow
from tests.network.conftest import doctor, shift
from tests.network.files import network_rows, to_csv

API = "/api/v1"


@pytest.fixture
async def people(world, net):  # noqa: ANN001, ANN201
    """Bearer headers per caller: nobody, a patient, a doctor, the county's admin, the city's admin, the platform."""
    patient = await world.patient(net.county)
    return {
        "anonymous": {},
        "patient": await world.token(await world.user((Role.patient, net.county.id), patient_id=patient.id)),
        "doctor": await world.token(await world.user((Role.doctor, net.county.id))),
        "county_admin": await world.token(await world.user((Role.facility_admin, net.county.id))),
        "city_admin": await world.token(await world.user((Role.facility_admin, net.city.id))),
        "platform": await world.token(net.admin_user),
    }


def _expect(allowed: set[str], ok: int, denied: int = 403) -> dict[str, int]:
    callers = ("anonymous", "patient", "doctor", "county_admin", "city_admin", "platform")
    return {c: 401 if c == "anonymous" else ok if c in allowed else denied for c in callers}


async def _matrix(client, people, method, url, expected, **kwargs):  # noqa: ANN001, ANN003, ANN202
    for caller, status in expected.items():
        response = await client.request(method, url, headers=people[caller], **kwargs)
        assert response.status_code == status, (caller, method, url, response.text)
        if status >= 400:
            assert set(response.json()) == {"code", "message", "details"}


async def test_directory_reads_need_sign_in_only(client, people, net):
    everyone = _expect({"patient", "doctor", "county_admin", "city_admin", "platform"}, 200)
    for url in (f"{API}/facilities", f"{API}/facilities/{net.county.id}", f"{API}/departments",
                f"{API}/facilities/{net.county.id}/hubs", f"{API}/facilities/{net.county.id}/offerings",
                f"{API}/practitioners", f"{API}/facilities/{net.county.id}/on-duty",
                f"{API}/service-providers?kind=consultation&for_facility_id={net.village.id}"):
        await _matrix(client, people, "GET", url, everyone)


async def test_creating_a_facility_is_for_platform_admins(client, people, net):
    await _matrix(client, people, "POST", f"{API}/facilities", _expect({"platform"}, 201),
                  json={"code": "NEW-1", "name": "新院", "tier": "county_hospital", "hubs": [{"hub_id": net.city.id}]})


async def test_editing_a_facility_is_for_its_own_admin_and_the_platform(client, people, net):
    await _matrix(client, people, "PATCH", f"{API}/facilities/{net.county.id}",
                  _expect({"county_admin", "platform"}, 200), json={"phone": "0710-5550000"})
    response = await client.get(f"{API}/facilities/{net.county.id}", headers=people["doctor"])
    assert response.json()["phone"] == "0710-5550000"


async def test_facility_admin_cannot_change_tier_or_code(client, people, net):
    response = await client.patch(f"{API}/facilities/{net.county.id}", headers=people["county_admin"],
                                  json={"tier": "city_hospital"})
    assert response.status_code == 403


async def test_hub_links_are_for_platform_admins(client, people, net):
    await _matrix(client, people, "POST", f"{API}/facilities/{net.county.id}/hubs", _expect({"platform"}, 201),
                  json={"hub_id": net.far_city.id, "alliance": "West"})
    links = (await client.get(f"{API}/facilities/{net.county.id}/hubs", headers=people["doctor"])).json()
    west = next(link for link in links if link["alliance"] == "West")
    await _matrix(client, people, "DELETE", f"{API}/facilities/{net.county.id}/hubs/{west['id']}",
                  {"anonymous": 401, "county_admin": 403, "platform": 204})


async def test_facility_departments_by_their_admin(client, people, net):
    await _matrix(client, people, "PUT", f"{API}/facilities/{net.county.id}/departments/icu",
                  _expect({"county_admin", "platform"}, 200))
    await _matrix(client, people, "DELETE", f"{API}/facilities/{net.county.id}/departments/icu",
                  {"anonymous": 401, "doctor": 403, "city_admin": 403, "county_admin": 204})


async def test_department_catalog_is_for_platform_admins(client, people):
    await _matrix(client, people, "POST", f"{API}/departments", {"anonymous": 401, "county_admin": 403,
                                                                  "platform": 201},
                  json={"code": "geriatrics", "name": "老年医学科", "name_en": "Geriatrics"})
    await _matrix(client, people, "PATCH", f"{API}/departments/geriatrics", {"doctor": 403, "platform": 200},
                  json={"active": False})


async def test_offerings_by_the_facility_admin_and_found_by_providers_query(client, people, net):
    body = {"kind": "consultation", "department": "cardiology"}
    await _matrix(client, people, "POST", f"{API}/facilities/{net.city.id}/offerings",
                  {"anonymous": 401, "doctor": 403, "county_admin": 403, "city_admin": 201}, json=body)
    await client.post(f"{API}/facilities/{net.province.id}/offerings", headers=people["platform"], json=body)
    found = await client.get(f"{API}/service-providers", headers=people["doctor"], params={
        "kind": "consultation", "specialty": "cardiology", "for_facility_id": net.county.id})
    assert [p["facility"]["code"] for p in found.json()] == ["CTY", "PRV"]
    assert found.json()[0]["distance_km"] > 0
    offering_id = found.json()[0]["offering_id"]
    await _matrix(client, people, "PATCH", f"{API}/offerings/{offering_id}",
                  {"county_admin": 403, "city_admin": 200}, json={"active": False})


async def test_practitioner_registration_sites_and_shifts(client, people, net):
    body = {"new_user": {"username": "dr.api", "display_name": "Dr API"}, "title": "attending",
            "specialty": "internal_medicine", "license_no": "API-0001", "languages": ["zh", "en"],
            "facility_id": net.county.id}
    await _matrix(client, people, "POST", f"{API}/practitioners",
                  {"anonymous": 401, "doctor": 403, "city_admin": 403, "county_admin": 201}, json=body)
    directory = await client.get(f"{API}/practitioners", headers=people["patient"], params={"language": "en"})
    [found] = directory.json()["items"]
    assert found["display_name"] == "Dr API" and found["sites"][0]["facility"]["code"] == "CNT"
    start = (utcnow() - dt.timedelta(hours=1)).isoformat()
    end = (utcnow() + dt.timedelta(hours=3)).isoformat()
    shift_body = {"facility_id": net.county.id, "starts_at": start, "ends_at": end}
    await _matrix(client, people, "POST", f"{API}/practitioners/{found['id']}/shifts",
                  {"anonymous": 401, "doctor": 403, "city_admin": 403, "county_admin": 201}, json=shift_body)
    on_duty = await client.get(f"{API}/facilities/{net.county.id}/on-duty", headers=people["doctor"])
    assert [p["id"] for p in on_duty.json()] == [found["id"]]
    overlap = await client.post(f"{API}/practitioners/{found['id']}/shifts", headers=people["platform"],
                                json=shift_body)
    assert overlap.status_code == 409 and overlap.json()["code"] == "conflict"


async def test_shift_changes_and_removal(client, people, db, net):
    view = await doctor(db, net.admin, net.county, "dr.shift", "API-0100")
    made = await shift(db, net.admin, view.id, net.county, 24, 8)
    moved = (made.starts_at + dt.timedelta(hours=2)).isoformat()
    await _matrix(client, people, "PATCH", f"{API}/shifts/{made.id}",
                  {"anonymous": 401, "city_admin": 403, "county_admin": 200}, json={"starts_at": moved})
    backwards = await client.patch(f"{API}/shifts/{made.id}", headers=people["platform"],
                                   json={"ends_at": made.starts_at.isoformat()})
    assert backwards.status_code == 422
    listed = await client.get(f"{API}/practitioners/{view.id}/shifts", headers=people["doctor"])
    assert [s["id"] for s in listed.json()] == [made.id]
    await _matrix(client, people, "DELETE", f"{API}/shifts/{made.id}", {"city_admin": 403, "county_admin": 204})


async def test_bad_input_is_a_clear_4xx(client, people, net):
    platform = people["platform"]
    duplicate = await client.post(f"{API}/facilities", headers=platform,
                                  json={"code": "CTY", "name": "x", "tier": "city_hospital"})
    assert duplicate.status_code == 409 and "CTY" in duplicate.json()["message"]
    unknown = await client.post(f"{API}/facilities", headers=platform,
                                json={"code": "Z1", "name": "x", "tier": "city_hospital", "colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.json()["message"]
    latitude = await client.post(f"{API}/facilities", headers=platform,
                                 json={"code": "Z2", "name": "x", "tier": "city_hospital", "latitude": 99,
                                       "longitude": 1})
    assert latitude.status_code == 422
    assert (await client.get(f"{API}/facilities", headers=platform, params={"q": "Z"})).json()["items"] == []
    assert (await client.get(f"{API}/facilities/999999", headers=platform)).status_code == 404
    assert (await client.get(f"{API}/facilities", headers=platform, params={"cursor": "%%%"})).status_code == 422


async def test_facility_list_pages_with_a_cursor(client, people, net):
    first = (await client.get(f"{API}/facilities", headers=people["doctor"], params={"limit": 4})).json()
    second = (await client.get(f"{API}/facilities", headers=people["doctor"],
                               params={"limit": 4, "cursor": first["next_cursor"]})).json()
    assert len(first["items"]) == 4 and len(second["items"]) == 3 and second["next_cursor"] is None
    city_members = (await client.get(f"{API}/facilities", headers=people["doctor"],
                                     params={"hub_id": net.province.id})).json()
    assert [f["code"] for f in city_members["items"]] == ["CTY", "CTYFAR"]


async def test_import_endpoint(client, people, net):
    good = to_csv(network_rows(30, prefix="APIIMP"))
    files = {"file": ("network.csv", good, "text/csv")}
    await _matrix(client, people, "POST", f"{API}/network/import", {"anonymous": 401, "county_admin": 403},
                  files=files)
    response = await client.post(f"{API}/network/import", headers=people["platform"], files=files,
                                 data={"issue_passwords": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["facilities"] == 30 and len(body["credentials"]) == 30


async def test_import_endpoint_reports_every_bad_line(client, people, net):
    rows = network_rows(8, prefix="APIBAD")
    rows[2]["latitude"] = "north"
    rows[5]["departments"] = "underwater_surgery"
    response = await client.post(f"{API}/network/import", headers=people["platform"],
                                 files={"file": ("bad.csv", to_csv(rows), "text/csv")})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "import_rejected"
    assert sorted({d["line"] for d in body["details"]}) == [4, 7]
    assert (await client.get(f"{API}/facilities", headers=people["platform"],
                             params={"q": "APIBAD"})).json()["items"] == []


async def test_openapi_documents_the_network_routes(client):
    spec = (await client.get("/api/v1/openapi.json")).json()
    for path in ("/api/v1/facilities", "/api/v1/service-providers", "/api/v1/practitioners",
                 "/api/v1/network/import", "/api/v1/shifts/{shift_id}"):
        assert path in spec["paths"]
