"""The blob store keeps what it was given: a damaged copy left by a crash is noticed and replaced,
and a second writer of the same content gets the same digest."""

from __future__ import annotations

import hashlib

from carebridge.kit.blobs import LocalBlobStore


async def test_a_short_file_left_by_a_crash_is_replaced_on_the_next_put(tmp_path):
    store = LocalBlobStore(tmp_path)
    data = bytes(range(256)) * 4000
    digest = await store.put(data)
    assert digest == hashlib.sha256(data).hexdigest() and await store.get(digest) == data
    path = store._path(digest)
    path.write_bytes(data[:1000])  # as a kill -9 between write and fsync may leave it
    assert await store.put(data) == digest
    assert await store.get(digest) == data
    assert [p.name for p in path.parent.iterdir()] == [digest]  # no temporary file left behind


async def test_the_same_content_twice_is_one_file(tmp_path):
    store = LocalBlobStore(tmp_path)
    first, second = await store.put(b"same"), await store.put(b"same")
    assert first == second and sum(1 for p in tmp_path.rglob("*") if p.is_file()) == 1
