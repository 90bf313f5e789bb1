"""STOW-RS and the upload routes over the app (httpx ASGI): who may send, per-part outcomes with
their DICOM failure reasons, the bad-file corpus, the peers API and the pages."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.diagnostics.imaging.models import DicomInstance, DicomPeer
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_series
from carebridge.web.deps import SESSION_COOKIE
from tests.diagnostics.conftest import place_order
from tests.diagnostics.imaging.corpus import corpus

STOW_TYPE = 'multipart/related; type="application/dicom"; boundary={}'


def multipart(*parts: bytes, content_type: str = "application/dicom") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Type: " + content_type.encode() + b"\r\n\r\n" + p
                    + b"\r\n" for p in parts) + b"--" + boundary.encode() + b"--\r\n"
    return body, STOW_TYPE.format(boundary)


async def _headers(world, user, content_type: str) -> dict:  # noqa: ANN001
    return {**await world.token(user), "Content-Type": content_type}


async def _count(db) -> int:  # noqa: ANN001
    return await db.scalar(select(func.count()).select_from(DicomInstance))


async def test_stow_stores_good_parts_and_names_each_refused_one(client, world, db, dnet):
    good = list(ct_series(SeriesSpec(count=2, size=64, patient_id=dnet.mrn)))
    bad = corpus()
    body, ctype = multipart(*good, *(data for data, _ in bad.values()))
    headers = await _headers(world, dnet.sender_tech, ctype)
    response = await client.post("/dicomweb/studies", content=body, headers=headers)
    assert response.status_code == 202 and response.headers["content-type"].startswith("application/dicom+json")
    answer = response.json()
    assert len(answer["00081199"]["Value"]) == 2
    failures = answer["00081198"]["Value"]
    assert len(failures) == len(bad)
    reasons = [f["00081197"]["Value"][0] for f in failures]
    assert set(reasons) <= {0xA900, 0xC000, 0x0122, 0xA700} and 0x0122 in reasons
    assert await _count(db) == 2


async def test_stow_of_only_bad_files_is_409_and_a_study_mismatch_is_a900(client, world, db, dnet):
    body, ctype = multipart(corpus()["truncated"][0])
    response = await client.post("/dicomweb/studies", content=body, headers=await _headers(world, dnet.sender, ctype))
    assert response.status_code == 409 and response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xC000]
    body, ctype = multipart(next(ct_series(SeriesSpec(count=1, size=64))))
    response = await client.post("/dicomweb/studies/1.2.3.4", content=body,
                                 headers=await _headers(world, dnet.sender, ctype))
    assert response.status_code == 409 and response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xA900]


async def test_stow_refuses_the_anonymous_and_a_non_multipart_body(client, world, dnet):
    body, ctype = multipart(next(ct_series(SeriesSpec(count=1, size=64))))
    assert (await client.post("/dicomweb/studies", content=body, headers={"Content-Type": ctype})).status_code == 401
    response = await client.post("/dicomweb/studies", content=b"{}",
                                 headers=await _headers(world, dnet.sender, "application/json"))
    assert response.status_code == 415


async def test_an_order_upload_is_for_its_sender_only_and_reports_each_file(client, world, db, dnet):
    order = await place_order(world, db, dnet)
    data = next(ct_series(SeriesSpec(count=1, size=64, accession_number="OTHER")))
    url = f"/api/v1/diagnosis/orders/{order.id}/dicom"
    assert (await client.post(url, content=data, headers={"Content-Type": "application/dicom"})).status_code == 401
    outsider = await client.post(url, content=data, headers=await _headers(world, dnet.outsider, "application/dicom"))
    assert outsider.status_code == 404
    reader = await client.post(url, content=data, headers=await _headers(world, dnet.reader, "application/dicom"))
    assert reader.status_code == 403
    first = await client.post(url, content=data, headers=await _headers(world, dnet.sender_tech, "application/dicom"))
    assert first.status_code == 200, first.text
    result = first.json()["results"][0]
    assert (result["status"], result["order_id"]) == ("stored", order.id)  # the order named, not the accession
    again = await client.post(url, content=data, headers=await _headers(world, dnet.sender_tech, "application/dicom"))
    assert again.json()["results"][0]["status"] == "duplicate"
    refused = await client.post(url, content=corpus()["pixel_length_mismatch"][0],
                                headers=await _headers(world, dnet.sender_tech, "application/dicom"))
    assert refused.status_code == 422 and refused.json()["details"]["results"][0]["reason"] == "bad_pixel_data"


async def _admin(world, facility_id: int):  # noqa: ANN001, ANN202
    return await world.user((Role.facility_admin, facility_id))


async def test_a_facility_admin_registers_peers_of_their_own_facility_only(client, world, db, dnet):
    admin, other = await _admin(world, dnet.community.id), await _admin(world, dnet.hub.id)
    url = f"/api/v1/facilities/{dnet.community.id}/dicom-peers"
    assert (await client.get(url)).status_code == 401
    created = await client.post(url, json={"ae_title": "CT_ROOM1", "host": "127.0.0.1", "port": 11113},
                                headers=await world.token(admin))
    assert created.status_code == 201 and created.json()["hub_facility_id"] == dnet.hub.id
    assert (await client.post(url, json={"ae_title": "CT_ROOM1"}, headers=await world.token(admin))).status_code == 409
    assert (await client.post(url, json={"ae_title": "BAD\\AE"}, headers=await world.token(admin))).status_code == 422
    assert (await client.get(url, headers=await world.token(other))).status_code == 403
    peer_id = created.json()["id"]
    hidden = await client.put(f"/api/v1/dicom-peers/{peer_id}", json={"ae_title": "MINE"},
                              headers=await world.token(other))
    assert hidden.status_code == 404
    updated = await client.put(f"/api/v1/dicom-peers/{peer_id}", json={"ae_title": "CT_ROOM1", "active": False},
                               headers=await world.token(admin))
    assert updated.status_code == 200 and updated.json()["active"] is False
    assert [p["ae_title"] for p in (await client.get(url, headers=await world.token(admin))).json()] == ["CT_ROOM1"]


async def _sign_in(client, db, user) -> str:  # noqa: ANN001
    token, web_session = await auth.start_session(db, user, ip="203.0.113.7", mfa_verified=True)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token)
    return web_session.csrf_token


async def test_the_upload_page_lists_the_senders_waiting_orders_and_uploads_with_csrf(client, world, db, dnet):
    order = await place_order(world, db, dnet)
    csrf = await _sign_in(client, db, dnet.sender_tech)
    page = await client.get(f"/diagnosis/imaging/upload?order={order.id}")
    assert page.status_code == 200 and order.accession_number in page.text and dnet.patient.name in page.text
    data = next(ct_series(SeriesSpec(count=1, size=64)))
    url = f"/api/v1/diagnosis/orders/{order.id}/dicom"
    forged = await client.post(url, content=data, headers={"Content-Type": "application/dicom"})
    assert forged.status_code == 403  # a session without its CSRF token
    sent = await client.post(url, content=data, headers={"Content-Type": "application/dicom", "X-CSRF-Token": csrf})
    assert sent.status_code == 200 and sent.json()["stored"] == 1
    await _sign_in(client, db, dnet.outsider)
    other = await client.get("/diagnosis/imaging/upload")
    assert other.status_code == 200 and order.accession_number not in other.text


async def test_the_peers_page_registers_a_peer_and_shows_a_refusal(client, world, db, dnet):
    admin = await _admin(world, dnet.community.id)
    csrf = await _sign_in(client, db, admin)
    url = f"/facilities/{dnet.community.id}/dicom-peers"
    assert (await client.get(url)).status_code == 200
    saved = await client.post(url, data={"csrf_token": csrf, "ae_title": "US_ROOM", "active": "on",
                                         "hub_facility_id": str(dnet.hub.id)})
    assert saved.status_code == 303
    assert await db.scalar(select(DicomPeer.hub_facility_id).where(DicomPeer.ae_title == "US_ROOM")) == dnet.hub.id
    refused = await client.post(url, data={"csrf_token": csrf, "ae_title": "US_ROOM", "active": "on"})
    assert refused.status_code == 409 and "already registered" in refused.text
    await _sign_in(client, db, await _admin(world, dnet.hub.id))
    assert (await client.get(url)).status_code == 403


@pytest.mark.parametrize("name", ["empty", "not_dicom", "huge_declared_length", "garbage_encapsulated_pixels"])
async def test_upload_corpus_files_are_refused_with_their_reason(client, world, dnet, name):
    data, reason = corpus()[name]
    response = await client.post("/api/v1/diagnosis/dicom", content=data,
                                 headers=await _headers(world, dnet.sender_tech, "application/dicom"))
    assert response.status_code == 422 and response.json()["details"]["results"][0]["reason"] == reason
