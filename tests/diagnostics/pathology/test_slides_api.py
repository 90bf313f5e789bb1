"""Uploading slides through the API: whole-slide images (Aperio SVS, pyramidal TIFF, a DICOM WSI
series as files or zip) and micrographs put the order on the worklist; bad files are refused
with their name and leave nothing behind."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
import zlib

import numpy as np
import openslide
from PIL import Image
from pydicom.data import get_testdata_file
from sqlalchemy import func, select

from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy
from carebridge.diagnostics.pathology.models import PathologySlide
from carebridge.diagnostics.pathology.storage import working_path
from tests.diagnostics.conftest import place_order
from tests.diagnostics.pathology.conftest import pathology_order, slides_url, upload
from tests.diagnostics.pathology.slide_files import DICOM_ZIP, SVS, dicom_wsi, micrograph, pyramidal_tiff, svs_region


async def _order_state(db, order_id: int) -> DiagnosisOrder:  # noqa: ANN001
    order = await db.get(DiagnosisOrder, order_id)
    await db.refresh(order)
    return order


async def test_an_aperio_slide_puts_the_order_on_the_worklist(client, world, db, dnet):
    order = await pathology_order(world, db, dnet)
    sender = await world.token(dnet.sender)
    response = await upload(client, sender, order.id, [("CMU-1-Small-Region.svs", SVS.read_bytes())],
                            label="Left breast core", stain="H&E", block="A1")
    assert response.status_code == 201, response.text
    [slide] = response.json()
    assert (slide["kind"], slide["format"]) == ("wsi", "aperio")
    assert (slide["width"], slide["height"], slide["objective_power"]) == (2220, 2967, 20.0)
    assert abs(slide["mpp_x"] - 0.499) < 1e-6 and slide["associated"] == ["label", "macro"]
    assert (slide["label"], slide["stain"], slide["block"]) == ("Left breast core", "H&E", "A1")
    refreshed = await _order_state(db, order.id)
    assert refreshed.state == "ready"
    assert refreshed.due_at - refreshed.study_complete_at == dt.timedelta(hours=24)
    listed = await client.get(slides_url(order.id), headers=await world.token(dnet.reader))
    assert [s["id"] for s in listed.json()] == [slide["id"]]


async def test_a_tiff_and_a_set_of_micrographs_are_slides_of_one_study(client, world, db, dnet):
    order = await pathology_order(world, db, dnet)
    sender = await world.token(dnet.sender_tech)
    tiff = await upload(client, sender, order.id, [("pyramid.tiff", pyramidal_tiff())])
    assert tiff.status_code == 201, tiff.text
    assert [tiff.json()[0][k] for k in ("format", "level_count", "width", "mpp_x")] == ["generic-tiff", 4, 1000, 0.5]
    pictures = await upload(client, sender, order.id, [("field-1.jpg", micrograph()),
                                                       ("field-2.png", micrograph((300, 200), "PNG", "#3050a0"))])
    assert pictures.status_code == 201, pictures.text
    assert [(s["kind"], s["format"], s["width"]) for s in pictures.json()] == [
        ("micrograph", "jpeg", 640), ("micrograph", "png", 300)]
    [study] = (await db.scalars(select(DiagnosticStudy).where(DiagnosticStudy.order_id == order.id))).all()
    await db.refresh(study)
    assert (study.kind, study.modality, study.item_count) == ("pathology", "SM", 3)
    assert (await _order_state(db, order.id)).state == "ready"


async def test_a_dicom_wsi_series_as_files_or_zip_reads_back_with_the_same_pixels(client, world, db, dnet):
    source = svs_region()
    series = dicom_wsi(source)
    order = await pathology_order(world, db, dnet)
    sender = await world.token(dnet.sender)
    response = await upload(client, sender, order.id, series)
    assert response.status_code == 201, response.text
    [slide] = response.json()
    assert (slide["kind"], slide["format"], slide["level_count"]) == ("dicom", "dicom", len(series))
    assert (slide["width"], slide["height"], slide["mpp_x"]) == (600, 400, 0.5)
    row = await db.get(PathologySlide, slide["id"])
    with openslide.OpenSlide(str(working_path(row))) as reread:
        got = np.asarray(reread.read_region((200, 100), 0, (200, 200)).convert("L"), dtype=float).ravel()
    # JPEG-compressed twice, so not identical: but the same place of the same tissue, not a neighbour.
    same = np.asarray(source.convert("L").crop((200, 100, 400, 300)), dtype=float).ravel()
    shifted = np.asarray(source.convert("L").crop((260, 100, 460, 300)), dtype=float).ravel()
    assert np.corrcoef(got, same)[0, 1] > 0.95 > np.corrcoef(got, shifted)[0, 1]

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for name, data in dicom_wsi(source.resize((300, 200))):
            archive.writestr(f"export/{name}", data)
    other = await pathology_order(world, db, dnet)
    zipped = await upload(client, sender, other.id, [("slide.zip", packed.getvalue())])
    assert zipped.status_code == 201, zipped.text
    assert (zipped.json()[0]["kind"], zipped.json()[0]["width"]) == ("dicom", 300)


async def test_a_dicom_wsi_exported_by_a_converter_keeps_its_label_and_overview(client, world, db, dnet):
    order = await pathology_order(world, db, dnet)
    response = await upload(client, await world.token(dnet.sender), order.id,
                            [("CMU-1-dicom.zip", DICOM_ZIP.read_bytes())])
    assert response.status_code == 201, response.text
    [slide] = response.json()
    assert (slide["kind"], slide["width"], slide["height"]) == ("dicom", 2220, 2967)
    assert abs(slide["mpp_x"] - 0.499) < 1e-6 and slide["associated"] == ["label", "macro"]
    assert len((await db.get(PathologySlide, slide["id"])).files) == 4


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header declares a huge image (a decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(
        b"IEND", b"")


async def test_bad_files_are_refused_with_their_name_and_nothing_is_stored(client, world, db, dnet, app):
    order = await pathology_order(world, db, dnet)
    sender = await world.token(dnet.sender)
    svs = SVS.read_bytes()
    cases = [
        ("notes.txt", b"this is not an image at all\n" * 10, 415),
        ("truncated.svs", svs[: len(svs) * 2 // 3], 422),  # the label and macro directories are cut off
        ("cut-short.svs", svs[: len(svs) // 3], 422),  # full-resolution tiles are missing
        ("empty.svs", b"", 422),
        ("bomb.png", _png_claiming(100_000, 100_000), 413),
        ("ct.dcm", open(get_testdata_file("CT_small.dcm"), "rb").read(), 415),  # noqa: SIM115, ASYNC230
        ("broken.jpg", micrograph()[:400], 422),
    ]
    for name, data, status in cases:
        response = await upload(client, sender, order.id, [("good.tiff", pyramidal_tiff()), (name, data)])
        assert response.status_code == status, (name, response.text)
        assert response.json()["details"]["file"] == name
    assert await db.scalar(select(func.count()).select_from(PathologySlide)) == 0
    assert (await _order_state(db, order.id)).state == "awaiting_study"
    assert not [p for p in app.state.blobs.root.rglob("*") if p.is_file()]


async def test_uploads_only_by_the_sender_to_an_open_pathology_order(client, world, db, dnet):
    order = await pathology_order(world, db, dnet)
    files = [("field.jpg", micrograph())]
    assert (await upload(client, await world.token(dnet.reader), order.id, files)).status_code == 403
    assert (await upload(client, await world.token(dnet.outsider), order.id, files)).status_code == 404
    assert (await upload(client, {}, order.id, files)).status_code == 401
    sender = await world.token(dnet.sender)
    assert (await upload(client, sender, order.id, files)).status_code == 201
    again = await upload(client, sender, order.id, files)
    assert again.status_code == 409 and again.json()["code"] == "duplicate_slide"
    imaging = await place_order(world, db, dnet, modality="CT")
    assert (await upload(client, sender, imaging.id, files)).status_code == 409


async def test_a_frozen_section_runs_on_the_thirty_minute_target(client, world, db, dnet):
    order = await pathology_order(world, db, dnet, urgency="routine", frozen_section=True)
    response = await upload(client, await world.token(dnet.sender), order.id,
                            [("frozen.jpg", micrograph(colour="#7030a0"))])
    assert response.status_code == 201, response.text
    ready = await _order_state(db, order.id)
    assert ready.state == "ready" and ready.due_at - ready.study_complete_at == dt.timedelta(minutes=30)


async def test_a_micrograph_too_large_to_decode_is_refused_before_decoding(client, world, db, dnet, settings):
    order = await pathology_order(world, db, dnet)
    side = int(settings.pathology_micrograph_max_pixels ** 0.5) + 10
    big = io.BytesIO()
    Image.new("L", (side, side)).save(big, "PNG")
    response = await upload(client, await world.token(dnet.sender), order.id, [("huge.png", big.getvalue())])
    assert response.status_code == 413 and response.json()["details"]["max_pixels"] > 0
