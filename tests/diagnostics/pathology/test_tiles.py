"""Deep Zoom: the descriptor, tiles of the right size, 404 past the edges, browser caching, who
may see them, and one audit row per slide opening (none per tile)."""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from sqlalchemy import func, select

from carebridge.audit.models import AuditEvent
from carebridge.diagnostics.pathology.tiles import SlideCache
from tests.diagnostics.pathology.conftest import pathology_order, slides_url, upload
from tests.diagnostics.pathology.slide_files import SVS, micrograph, pyramidal_tiff

DZ = "{http://schemas.microsoft.com/deepzoom/2008}"


@pytest.fixture
async def svs_slide(client, world, db, dnet):  # noqa: ANN001, ANN201
    order = await pathology_order(world, db, dnet)
    response = await upload(client, await world.token(dnet.sender), order.id, [("CMU-1.svs", SVS.read_bytes())])
    assert response.status_code == 201, response.text
    return response.json()[0]


def _base(slide: dict) -> str:
    return f"{slides_url(slide['order_id'])}/{slide['id']}"


def _deepest(width: int, height: int) -> int:
    return math.ceil(math.log2(max(width, height)))


async def test_the_dzi_describes_the_slide_and_tiles_decode_at_their_size(client, world, dnet, svs_slide):
    headers = await world.token(dnet.reader)
    dzi = await client.get(_base(svs_slide) + ".dzi", headers=headers)
    assert dzi.status_code == 200 and dzi.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(dzi.text)  # noqa: S314 - our own server's output
    size = root.find(f"{DZ}Size")
    assert (root.get("TileSize"), root.get("Overlap"), root.get("Format")) == ("254", "1", "jpeg")
    width, height = int(size.get("Width")), int(size.get("Height"))
    assert (width, height) == (2220, 2967)
    level = _deepest(width, height)
    cols, rows = math.ceil(width / 254), math.ceil(height / 254)
    expected = {(0, 0): (255, 255), (1, 1): (256, 256), (cols - 1, rows - 1): (width - (cols - 1) * 254 + 1,
                                                                               height - (rows - 1) * 254 + 1)}
    for (col, row), dims in expected.items():
        tile = await client.get(f"{_base(svs_slide)}_files/{level}/{col}_{row}.jpeg", headers=headers)
        assert tile.status_code == 200 and tile.headers["content-type"] == "image/jpeg"
        image = Image.open(io.BytesIO(tile.content))
        assert (image.format, image.size) == ("JPEG", dims)
    top = await client.get(f"{_base(svs_slide)}_files/0/0_0.jpeg", headers=headers)
    assert Image.open(io.BytesIO(top.content)).size == (1, 1)


async def test_tiles_past_the_edges_are_404_and_a_tile_is_cached_by_the_browser(client, world, dnet, svs_slide):
    headers = await world.token(dnet.reader)
    level = _deepest(2220, 2967)
    for path in (f"{level + 1}/0_0", f"{level}/9_0", f"{level}/0_12", f"{level}/99999999999_0", "0/1_0"):
        response = await client.get(f"{_base(svs_slide)}_files/{path}.jpeg", headers=headers)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert (await client.get(f"{_base(svs_slide)}_files/-1/0_0.jpeg", headers=headers)).status_code == 404
    tile = await client.get(f"{_base(svs_slide)}_files/{level}/2_3.jpeg", headers=headers)
    assert "immutable" in tile.headers["cache-control"] and "private" in tile.headers["cache-control"]
    again = await client.get(f"{_base(svs_slide)}_files/{level}/2_3.jpeg",
                             headers={**headers, "If-None-Match": tile.headers["etag"]})
    assert again.status_code == 304 and not again.content


async def test_thumbnail_label_and_macro(client, world, dnet, svs_slide):
    headers = await world.token(dnet.reader)
    thumb = await client.get(svs_slide["thumbnail_url"], headers=headers)
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 256
    for name in ("label", "macro"):
        image = await client.get(f"{_base(svs_slide)}/associated/{name}.jpeg", headers=headers)
        assert image.status_code == 200 and Image.open(io.BytesIO(image.content)).format == "JPEG"
    assert (await client.get(f"{_base(svs_slide)}/associated/thumbnail.jpeg", headers=headers)).status_code == 404


async def test_only_the_orders_parties_see_slides_and_tiles(client, world, db, dnet, svs_slide):
    base = _base(svs_slide)
    tile = f"{base}_files/{_deepest(2220, 2967)}/0_0.jpeg"
    urls = (base + ".dzi", tile, svs_slide["thumbnail_url"], base, slides_url(svs_slide["order_id"]))
    for url in urls:
        assert (await client.get(url)).status_code == 401, url
        outsider = await client.get(url, headers=await world.token(dnet.outsider))
        assert outsider.status_code == 404 and outsider.json()["code"] == "not_found", url
        for party in (dnet.sender, dnet.sender_tech, dnet.reader, dnet.hub_tech):
            assert (await client.get(url, headers=await world.token(party))).status_code == 200, url
    other = await pathology_order(world, db, dnet)
    wrong_order = f"{slides_url(other.id)}/{svs_slide['id']}.dzi"
    assert (await client.get(wrong_order, headers=await world.token(dnet.reader))).status_code == 404


async def _count(db, action: str) -> int:  # noqa: ANN001
    return await db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


async def test_opening_a_slide_is_audited_once_and_its_tiles_not_at_all(client, world, db, dnet, svs_slide):
    headers = await world.token(dnet.reader)
    opened, denied = await _count(db, "diagnosis_slide_open"), await _count(db, "read")
    assert (await client.get(_base(svs_slide) + ".dzi", headers=headers)).status_code == 200
    level = _deepest(2220, 2967)
    for col in range(5):
        assert (await client.get(f"{_base(svs_slide)}_files/{level}/{col}_0.jpeg", headers=headers)).status_code == 200
    assert await _count(db, "diagnosis_slide_open") == opened + 1
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "diagnosis_slide_open")
                            .order_by(AuditEvent.seq.desc()).limit(1))
    assert (event.actor_user_id, event.patient_id, event.detail["slide_id"]) == (
        dnet.reader.id, dnet.patient.id, svs_slide["id"])
    await client.get(f"{_base(svs_slide)}_files/{level}/0_0.jpeg", headers=await world.token(dnet.outsider))
    assert await _count(db, "read") == denied + 1  # a refused tile is written down


async def test_micrograph_and_tiff_tiles(client, world, db, dnet):
    order = await pathology_order(world, db, dnet)
    headers = await world.token(dnet.sender)
    made = await upload(client, headers, order.id, [("field.png", micrograph((640, 480), "PNG")),
                                                     ("pyramid.tiff", pyramidal_tiff())])
    for slide, (width, height) in zip(made.json(), ((640, 480), (1000, 800)), strict=True):
        level = _deepest(width, height)
        tile = await client.get(f"{_base(slide)}_files/{level}/1_0.jpeg", headers=headers)
        assert Image.open(io.BytesIO(tile.content)).size == (min(width, 2 * 254 + 1) - 253, min(height, 255))


def test_the_slide_cache_opens_each_slide_once_and_keeps_at_most_its_capacity(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.tiff")
        paths[-1].write_bytes(pyramidal_tiff())
    cache = SlideCache(capacity=2)
    with ThreadPoolExecutor(8) as pool:
        views = list(pool.map(lambda _: cache.get("a", paths[0], "wsi"), range(16)))
    assert cache.opened == 1 and all(v is views[0] for v in views)
    cache.get("b", paths[1], "wsi")
    cache.get("a", paths[0], "wsi")  # a is now the most recently used
    cache.get("c", paths[2], "wsi")
    assert len(cache) == 2 and cache.opened == 3
    cache.get("a", paths[0], "wsi")
    assert cache.opened == 3  # still open: b was dropped
    cache.get("b", paths[1], "wsi")
    assert cache.opened == 4


async def test_a_lost_working_copy_is_rebuilt_from_the_blob_store(client, world, db, dnet, app, svs_slide):
    import shutil

    from carebridge.diagnostics.pathology.storage import working_dir

    shutil.rmtree(working_dir(svs_slide["blob_digest"]))
    app.state.pathology_slides = None  # a new server process: nothing open, no working copy
    headers = await world.token(dnet.reader)
    tile = await client.get(f"{_base(svs_slide)}_files/{_deepest(2220, 2967)}/3_4.jpeg", headers=headers)
    assert tile.status_code == 200 and Image.open(io.BytesIO(tile.content)).size == (256, 256)
    assert any(working_dir(svs_slide["blob_digest"]).glob("*.svs"))
