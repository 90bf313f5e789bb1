"""A whole study in one STOW-RS request: its body goes to disk as it arrives (kit/spool.py), so the
server holds about one object in memory, and a body found malformed stores none of its parts."""

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
