"""Every worklist route, JSON and page, for anonymous callers, another hospital's doctor, the sending
facility's doctor, a hub technician, the hub's administrator and its readers."""

from __future__ import annotations

import pytest

from tests.auth.conftest import login_as
from tests.diagnostics.worklist.conftest import hub_admin, ready_order


@pytest.fixture
async def setup(world, db, dnet):  # noqa: ANN001, ANN201
    order = await ready_order(world, db, dnet, "CT", urgency="stat")
    admin = await hub_admin(world, dnet)
    return order, admin


def _api_routes(order_id: int, hub: int, reader_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", f"/api/v1/diagnosis/worklist?hub_id={hub}", None),
        ("GET", f"/api/v1/diagnosis/worklist/stamp?hub_id={hub}", None),
        ("POST", f"/api/v1/diagnosis/worklist/{order_id}/claim", None),
        ("POST", f"/api/v1/diagnosis/worklist/{order_id}/release", None),
        ("POST", f"/api/v1/diagnosis/worklist/{order_id}/assign", {"reader_user_id": reader_id, "note": ""}),
        ("GET", f"/api/v1/diagnosis/hubs/{hub}/readers", None),
        ("PUT", f"/api/v1/diagnosis/hubs/{hub}/readers/{reader_id}", {"modalities": ["CT"], "can_sign_final": True}),
        ("GET", f"/api/v1/diagnosis/breaches?hub_id={hub}", None),
        ("GET", f"/api/v1/diagnosis/turnaround?hub_id={hub}", None),
        ("GET", f"/api/v1/diagnosis/turnaround.csv?hub_id={hub}", None),
    ]


# Expected status per route (in _api_routes order) for each caller. Order routes answer a stranger
# with 404 (missing and forbidden look alike); hub-level routes with 403 (a facility is no secret).
EXPECTED = {
    "outsider": [403, 403, 404, 404, 404, 403, 403, 403, 403, 403],
    "sender": [403, 403, 403, 409, 404, 403, 403, 403, 403, 403],
    "hub_tech": [403, 403, 403, 409, 404, 403, 403, 403, 403, 403],
    "admin": [200, 200, 404, 404, 200, 200, 200, 200, 200, 200],  # coordinates, does not read
    "reader": [200, 200, 200, 200, 200, 200, 403, 200, 200, 200],
}


async def _call(client, method: str, path: str, body: dict | None, headers: dict):  # noqa: ANN001, ANN202
    return await client.request(method, path, json=body, headers=headers)


async def test_api_matrix(client, world, db, dnet, setup):
    order, admin = setup
    routes = _api_routes(order.id, dnet.hub.id, dnet.reader.id)
    for method, path, body in routes:
        assert (await _call(client, method, path, body, {})).status_code == 401, path
    people = {"outsider": dnet.outsider, "sender": dnet.sender, "hub_tech": dnet.hub_tech, "admin": admin,
              "reader": dnet.reader}
    for who, expected in EXPECTED.items():
        headers = await world.token(people[who])
        got = [(await _call(client, m, p, b, headers)).status_code for m, p, b in routes]
        assert got == expected, who


async def test_api_worklist_rows_for_reader_and_administrator(client, world, db, dnet, setup):
    order, admin = setup
    read = await client.get("/api/v1/diagnosis/worklist", headers=await world.token(dnet.reader))
    assert read.status_code == 200
    row = read.json()["rows"][0]
    assert row["order_id"] == order.id and row["patient"]["name"] == dnet.patient.name
    assert row["band"] == "green" and 0 < row["seconds_left"] <= 30 * 60 and row["sending_facility"]["id"]
    coordinated = await client.get("/api/v1/diagnosis/worklist", headers=await world.token(admin))
    assert coordinated.json()["rows"][0]["patient"] is None
    assert coordinated.json()["rows"][0]["clinical_question"] is None
    # A sender or outsider asking for their own worklists gets their own (empty) ones, not the hub's.
    for user in (dnet.sender, dnet.outsider):
        own = await client.get("/api/v1/diagnosis/worklist", headers=await world.token(user))
        assert own.status_code == 200 and own.json()["rows"] == []
    bad = await client.get("/api/v1/diagnosis/worklist?urgency=soon", headers=await world.token(dnet.reader))
    assert bad.status_code == 422 and bad.json()["details"]["field"] == "urgency"
    bad = await client.get("/api/v1/diagnosis/worklist?cursor=nonsense", headers=await world.token(dnet.reader))
    assert bad.status_code == 422


async def test_api_claim_conflict_names_the_reader(client, world, db, dnet, setup):
    order, _admin = setup
    first = await client.post(f"/api/v1/diagnosis/worklist/{order.id}/claim", headers=await world.token(dnet.reader))
    assert first.status_code == 200 and first.json()["read_url"] == f"/diagnosis/orders/{order.id}/read"
    second = await client.post(f"/api/v1/diagnosis/worklist/{order.id}/claim",
                               headers=await world.token(dnet.reader2))
    assert second.status_code == 409 and second.json()["details"]["reader"] == dnet.reader.display_name
    bad = await client.put(f"/api/v1/diagnosis/hubs/{dnet.hub.id}/readers/{dnet.reader.id}",
                           json={"modalities": ["XR"]}, headers=await world.token(_admin))
    assert bad.status_code == 422


async def _pages(client, db, user, order_id: int, hub: int, reader_id: int) -> list[int]:  # noqa: ANN001
    csrf = await login_as(client, db, user) if user else ""
    data = {"csrf_token": csrf}
    calls = [
        ("GET", f"/diagnosis/worklist?hub_id={hub}", None),
        ("POST", f"/diagnosis/worklist/{order_id}/assign", {**data, "reader_user_id": str(reader_id)}),
        ("GET", f"/diagnosis/hubs/{hub}/readers", None),
        ("POST", f"/diagnosis/hubs/{hub}/readers/{reader_id}", {**data, "modalities": ["CT"], "can_sign_final": "1",
                                                                 "reads": "1", "body_parts": "head, chest"}),
        ("GET", f"/diagnosis/breaches?hub_id={hub}", None),
        ("GET", f"/diagnosis/turnaround?hub_id={hub}", None),
        ("GET", f"/diagnosis/turnaround/export.csv?hub_id={hub}", None),
        ("POST", f"/diagnosis/worklist/{order_id}/read", data),
    ]
    got = [(await client.request(m, p, data=d)).status_code for m, p, d in calls]
    client.cookies.clear()
    return got


async def test_page_matrix(client, world, db, dnet, setup):
    order, admin = setup
    args = (order.id, dnet.hub.id, dnet.reader.id)
    anonymous = await _pages(client, db, None, *args)
    assert all(code in (302, 303, 401) for code in anonymous), anonymous
    assert await _pages(client, db, dnet.outsider, *args) == [403, 404, 403, 403, 403, 403, 403, 404]
    assert await _pages(client, db, dnet.sender, *args) == [403, 404, 403, 403, 403, 403, 403, 403]
    assert await _pages(client, db, admin, *args) == [200, 303, 200, 303, 200, 200, 200, 404]
    assert await _pages(client, db, dnet.reader, *args) == [200, 303, 200, 403, 200, 200, 200, 303]


async def test_the_worklist_page_shows_the_order_and_a_taken_claim_nicely(client, world, db, dnet, setup):
    order, _admin = setup
    await login_as(client, db, dnet.reader)
    page = await client.get("/diagnosis/worklist")
    assert page.status_code == 200
    assert f'id="order-{order.id}"' in page.text and dnet.patient.name in page.text
    assert 'data-band="green"' in page.text and "/static/worklist.js" in page.text
    fragment = await client.get("/diagnosis/worklist?urgency=stat", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and f"order-{order.id}" in fragment.text
    empty = await client.get("/diagnosis/worklist?urgency=routine", headers={"HX-Request": "true"})
    assert 'data-testid="worklist-empty"' in empty.text
    bad = await client.get("/diagnosis/worklist?modality=XR")
    assert bad.status_code == 422 and 'data-testid="worklist-error"' in bad.text
    csrf = await login_as(client, db, dnet.reader)
    claimed = await client.post(f"/diagnosis/worklist/{order.id}/read", data={"csrf_token": csrf},
                                headers={"HX-Request": "true"})
    assert claimed.status_code == 204 and claimed.headers["HX-Redirect"] == f"/diagnosis/orders/{order.id}/read"
    client.cookies.clear()
    csrf = await login_as(client, db, dnet.reader2)
    refused = await client.post(f"/diagnosis/worklist/{order.id}/read", data={"csrf_token": csrf},
                                headers={"HX-Request": "true"})
    assert refused.status_code == 200 and 'data-testid="claim-refused"' in refused.text
    assert dnet.reader.display_name in refused.text
    whole = await client.post(f"/diagnosis/worklist/{order.id}/read", data={"csrf_token": csrf})
    assert whole.status_code == 409 and dnet.reader.display_name in whole.text and "<html" in whole.text
    listed = await client.get("/diagnosis/worklist")
    assert f"Being read by {dnet.reader.display_name}" in listed.text
