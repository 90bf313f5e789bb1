"""A whole study in one STOW-RS request: its body goes to disk as it arrives (kit/spool.py), so the
server holds about one object in memory; a body found malformed, or of too many parts, stores none
of them; an empty or oversized part is refused on its own."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

from sqlalchemy import func, select

from carebridge.diagnostics.imaging.models import DicomInstance
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_series
from tests.diagnostics.imaging.test_http import multipart

CHUNK = 256 * 1024  # a client streams its body in pieces, as a real one over the network does


async def _streamed(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), CHUNK):
        yield body[start:start + CHUNK]


async def _count(db) -> int:  # noqa: ANN001
    return await db.scalar(select(func.count()).select_from(DicomInstance))


async def test_a_study_in_one_request_is_stored_without_holding_the_body_in_memory(client, world, db, dnet):
    instances = list(ct_series(SeriesSpec(count=16, size=1024, patient_id=dnet.mrn)))  # 2 MB each
    body, content_type = multipart(*instances)
    headers = {**await world.token(dnet.sender_tech), "Content-Type": content_type}
    tracemalloc.start()
    try:
        response = await client.post("/dicomweb/studies", content=_streamed(body), headers=headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.text
    assert len(response.json()["00081199"]["Value"]) == 16 and await _count(db) == 16
    # Read whole, the 33 MB body alone would have been allocated (and its parts copied out of it).
    assert peak < len(body) / 2, f"peak {peak / 1e6:.1f} MB for a {len(body) / 1e6:.1f} MB request"


async def test_a_body_that_ends_inside_a_part_stores_none_of_its_parts(client, world, db, dnet):
    good = list(ct_series(SeriesSpec(count=2, size=64, patient_id=dnet.mrn)))
    body, content_type = multipart(*good)
    cut = body[:body.rindex(b"\r\n--")]  # the closing delimiter lost: the last part never ends
    headers = {**await world.token(dnet.sender_tech), "Content-Type": content_type}
    response = await client.post("/dicomweb/studies", content=_streamed(cut), headers=headers)
    assert response.status_code == 422 and "ends inside a part" in response.json()["message"]
    assert await _count(db) == 0
    whole = await client.post("/dicomweb/studies", content=_streamed(body), headers=headers)
    assert whole.status_code == 200 and await _count(db) == 2


async def test_an_empty_part_is_refused_alone_and_the_others_are_stored(client, world, db, dnet):
    good = list(ct_series(SeriesSpec(count=2, size=64, patient_id=dnet.mrn)))
    body, content_type = multipart(good[0], b"", good[1])
    headers = {**await world.token(dnet.sender_tech), "Content-Type": content_type}
    response = await client.post("/dicomweb/studies", content=_streamed(body), headers=headers)
    assert response.status_code == 202, response.text
    assert len(response.json()["00081199"]["Value"]) == 2 and len(response.json()["00081198"]["Value"]) == 1
    assert await _count(db) == 2


async def test_a_request_of_more_objects_than_the_limit_stores_none(client, world, db, dnet, settings, monkeypatch):
    monkeypatch.setattr(settings, "dicom_max_request_parts", 2)
    body, content_type = multipart(*ct_series(SeriesSpec(count=3, size=64, patient_id=dnet.mrn)))
    headers = {**await world.token(dnet.sender_tech), "Content-Type": content_type}
    response = await client.post("/dicomweb/studies", content=_streamed(body), headers=headers)
    assert response.status_code == 413 and response.json()["details"] == {"max_parts": 2}
    assert await _count(db) == 0


async def test_an_object_over_the_size_limit_is_refused_as_too_large(client, world, db, dnet, settings, monkeypatch):
    small = next(ct_series(SeriesSpec(count=1, size=64, patient_id=dnet.mrn)))
    large = next(ct_series(SeriesSpec(count=1, size=256, patient_id=dnet.mrn)))
    monkeypatch.setattr(settings, "dicom_max_instance_bytes", len(small) + 1000)
    url = "/api/v1/diagnosis/dicom"
    headers = {**await world.token(dnet.sender_tech), "Content-Type": "application/dicom"}
    refused = await client.post(url, content=_streamed(large), headers=headers)
    assert refused.status_code == 422 and refused.json()["details"]["results"][0]["reason"] == "too_large"
    stored = await client.post(url, content=_streamed(small), headers=headers)
    assert stored.status_code == 200 and await _count(db) == 1
