"""WADO-RS: the stored bytes back, metadata with a bulk data link, uncompressed frames (transcoded from
compressed syntaxes), rendered images and thumbnails, who may retrieve, and what is audited."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.uid import RLELossless
from sqlalchemy import func, select

from carebridge.audit.models import AuditEvent
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_dataset, part10_bytes
from carebridge.diagnostics.imaging.study_access import forget_pixel_audits
from tests.diagnostics.conftest import place_order
from tests.diagnostics.imaging.imaging_world import store_ct, store_files

DICOM_PARTS = 'multipart/related; type="application/dicom"'
FRAMES = 'multipart/related; type="application/octet-stream"'


def parts(response) -> list[tuple[dict[str, str], bytes]]:  # noqa: ANN001
    """Splits a multipart/related body as a client would (RFC 2046), headers and payload per part."""
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/related"), content_type
    boundary = content_type.split("boundary=")[1].split(";")[0].strip('"').encode()
    out = []
    for chunk in response.content.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, body = chunk.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().strip().split("\r\n"))
        out.append((headers, body[:-2]))  # the CRLF before the next delimiter belongs to it
    return out


def url(study, index: int = 0, suffix: str = "") -> str:  # noqa: ANN001
    return (f"/dicomweb/studies/{study.study_uid}/series/{study.series_uid}/instances/"
            f"{study.sop_uids[index]}{suffix}")


@pytest.fixture
async def ct(world, db, dnet, blobs):  # noqa: ANN001, ANN201
    order = await place_order(world, db, dnet)
    return await store_ct(db, blobs, dnet, order=order, count=3, size=64)


async def test_an_instance_comes_back_byte_for_byte_and_a_series_in_order(client, world, dnet, ct):
    headers = {**await world.token(dnet.reader), "Accept": DICOM_PARTS}
    one = await client.get(url(ct, 1), headers=headers)
    assert one.status_code == 200 and one.headers["cache-control"] == "private, no-store"
    [(part_headers, payload)] = parts(one)
    assert payload == ct.files[1] and part_headers["Content-Type"].startswith("application/dicom")
    series = await client.get(f"/dicomweb/studies/{ct.study_uid}/series/{ct.series_uid}", headers=headers)
    assert [p for _, p in parts(series)] == ct.files
    study = await client.get(f"/dicomweb/studies/{ct.study_uid}", headers={**headers, "Accept": "*/*"})
    assert [p for _, p in parts(study)] == ct.files


async def test_a_compressed_instance_is_sent_as_stored_or_transcoded_when_asked(client, world, db, dnet, blobs):
    order = await place_order(world, db, dnet, modality="MR")
    data = open(get_testdata_file("MR_small_RLE.dcm"), "rb").read()  # noqa: ASYNC230 - a small test file
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.AccessionNumber = order.accession_number
    raw = io.BytesIO()
    ds.save_as(raw, enforce_file_format=True)
    [stored] = await store_files(db, blobs, dnet, [raw.getvalue()])
    path = f"/dicomweb/studies/{stored.study_uid}/series/{stored.series_uid}/instances/{stored.sop_instance_uid}"
    token = await world.token(dnet.reader)
    as_stored = parts(await client.get(path, headers={**token, "Accept": DICOM_PARTS + "; transfer-syntax=*"}))
    assert as_stored[0][1] == raw.getvalue()
    wanted = DICOM_PARTS + "; transfer-syntax=1.2.840.10008.1.2.1"
    explicit = parts(await client.get(path, headers={**token, "Accept": wanted}))
    decoded = pydicom.dcmread(io.BytesIO(explicit[0][1]))
    assert decoded.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert np.array_equal(decoded.pixel_array, ds.pixel_array)
    jpeg = DICOM_PARTS + "; transfer-syntax=1.2.840.10008.1.2.4.50"
    refused = await client.get(path, headers={**token, "Accept": jpeg})
    assert refused.status_code == 406


async def test_metadata_is_dicom_json_with_pixel_data_as_a_bulk_data_link(client, world, dnet, ct):
    token = await world.token(dnet.sender)
    response = await client.get(url(ct, 0, "/metadata"), headers={**token, "Accept": "application/dicom+json"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/dicom+json")
    [meta] = response.json()
    assert meta["00100020"]["Value"] == [dnet.mrn] and meta["00280010"]["Value"] == [64]
    assert meta["00020010"]["Value"] == ["1.2.840.10008.1.2.1"]  # the file meta group is there too
    pixel = meta["7FE00010"]
    assert set(pixel) == {"vr", "BulkDataURI"} and pixel["vr"] == "OW"
    bulk = await client.get(pixel["BulkDataURI"].replace("http://testserver", ""), headers={**token, "Accept": FRAMES})
    assert parts(bulk)[0][1] == pydicom.dcmread(io.BytesIO(ct.files[0])).PixelData
    series = await client.get(f"/dicomweb/studies/{ct.study_uid}/series/{ct.series_uid}/metadata", headers=token)
    assert [m["00080018"]["Value"][0] for m in series.json()] == ct.sop_uids
    study = await client.get(f"/dicomweb/studies/{ct.study_uid}/metadata", headers=token)
    assert len(study.json()) == 3


async def test_frames_are_the_uncompressed_pixels(client, world, dnet, ct):
    token = await world.token(dnet.reader)
    response = await client.get(url(ct, 2, "/frames/1"), headers={**token, "Accept": FRAMES})
    [(headers, payload)] = parts(response)
    assert headers["Content-Type"] == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    assert payload == pydicom.dcmread(io.BytesIO(ct.files[2])).PixelData
    assert (await client.get(url(ct, 2, "/frames/2"), headers=token)).status_code == 404
    assert (await client.get(url(ct, 2, "/frames/one"), headers=token)).status_code == 400
    assert (await client.get(url(ct, 2, "/frames/1"), headers={**token, "Accept": "image/jpeg"})).status_code == 406


def multi_frame_rle() -> bytes:
    """Five 16-bit grayscale frames, RLE Lossless: compressed multi-frame as a cine loop would be."""
    ds = ct_dataset(SeriesSpec(size=32), 0)
    ds.NumberOfFrames = 5
    ds.set_pixel_data(np.arange(5 * 32 * 32, dtype=np.uint16).reshape(5, 32, 32), "MONOCHROME2", 16)
    ds.compress(RLELossless)
    return part10_bytes(ds)


@pytest.mark.parametrize(("name", "frames", "shape"), [("examples_ybr_color.dcm", [1, 30], (240, 320, 3)),
                                                       ("SC_rgb_rle_2frame.dcm", [2], (100, 100, 3)),
                                                       ("multi-frame RLE", [5, 1], (32, 32)),
                                                       ("MR_small_jpeg_ls_lossless.dcm", [1], (64, 64)),
                                                       ("MR_small_jp2klossless.dcm", [1], (64, 64))])
async def test_frames_of_multi_frame_and_compressed_objects_are_decoded(client, world, db, dnet, blobs,
                                                                        name, frames, shape):
    data = multi_frame_rle() if name == "multi-frame RLE" else \
        open(get_testdata_file(name), "rb").read()  # noqa: ASYNC230 - a small test file
    [stored] = await store_files(db, blobs, dnet, [data])  # unmatched: the hub's staff see it
    path = (f"/dicomweb/studies/{stored.study_uid}/series/{stored.series_uid}/instances/"
            f"{stored.sop_instance_uid}/frames/{','.join(map(str, frames))}")
    got = parts(await client.get(path, headers={**await world.token(dnet.hub_tech), "Accept": FRAMES}))
    ds = pydicom.dcmread(io.BytesIO(data))
    expected = ds.pixel_array.reshape(-1, *shape)  # frames first, also for a single-frame object
    assert len(got) == len(frames)
    for (_, payload), number in zip(got, frames, strict=True):
        frame = np.frombuffer(payload, dtype=expected.dtype.newbyteorder("<")).reshape(shape)
        assert np.array_equal(frame, expected[number - 1])


async def test_rendered_images_have_the_right_size_and_follow_the_window(client, world, dnet, ct):
    token = await world.token(dnet.reader)
    jpeg = await client.get(url(ct, 0, "/rendered"), headers={**token, "Accept": "image/jpeg"})
    assert jpeg.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(jpeg.content))
    assert (image.format, image.size) == ("JPEG", (64, 64))

    async def png(window: str) -> np.ndarray:
        response = await client.get(url(ct, 0, f"/rendered?window={window}"), headers={**token, "Accept": "image/png"})
        assert response.headers["content-type"] == "image/png"
        return np.asarray(Image.open(io.BytesIO(response.content)))

    brain, bone = await png("40,80"), await png("400,1800")
    skull, tissue, air = (32, 57), (32, 32), (0, 0)  # 700, 40 and -1000 HU in the synthetic head
    assert brain[skull] == 255 and 150 < bone[skull] < 190  # white at the brain window, grey at bone
    assert abs(int(brain[tissue]) - 128) <= 2 and 60 < bone[tissue] < 90
    assert brain[air] == bone[air] == 0
    small = await client.get(url(ct, 0, "/frames/1/rendered?viewport=32,16&quality=50"), headers=token)
    assert Image.open(io.BytesIO(small.content)).size == (16, 16)
    thumb = await client.get(f"/dicomweb/studies/{ct.study_uid}/series/{ct.series_uid}/thumbnail", headers=token)
    assert Image.open(io.BytesIO(thumb.content)).size == (128, 128)
    study_thumb = await client.get(f"/dicomweb/studies/{ct.study_uid}/thumbnail", headers=token)
    assert study_thumb.status_code == 200
    for bad in ("window=40", "window=a,b", "window=40,0", "viewport=0,10", "quality=101"):
        assert (await client.get(url(ct, 0, f"/rendered?{bad}"), headers=token)).status_code == 400, bad
    assert (await client.get(url(ct, 0, "/rendered"), headers={**token, "Accept": "image/gif"})).status_code == 406


async def test_who_may_retrieve(client, world, db, dnet, blobs, ct):
    unmatched = await store_ct(db, blobs, dnet, order=None, count=1, patient_id="NOBODY")
    paths = [url(ct), url(ct, 0, "/metadata"), url(ct, 0, "/frames/1"), url(ct, 0, "/rendered"),
             f"/dicomweb/studies/{ct.study_uid}", f"/dicomweb/studies/{ct.study_uid}/series/{ct.series_uid}/thumbnail"]
    for path in paths:
        assert (await client.get(path)).status_code == 401, path
        assert (await client.get(path, headers=await world.token(dnet.outsider))).status_code == 404, path
        for user in (dnet.sender, dnet.sender_tech, dnet.reader, dnet.hub_tech):
            assert (await client.get(path, headers=await world.token(user))).status_code == 200, (path, user.username)
    missing = await client.get(f"/dicomweb/studies/{ct.study_uid}/series/{ct.series_uid}/instances/1.2.3/metadata",
                               headers=await world.token(dnet.reader))
    assert missing.status_code == 404
    # The hub's staff reconcile an unmatched study; the facility that sent it cannot read it back here.
    assert (await client.get(url(unmatched), headers=await world.token(dnet.hub_tech))).status_code == 200
    assert (await client.get(url(unmatched), headers=await world.token(dnet.sender))).status_code == 404
    assert (await client.get(url(unmatched), headers=await world.token(dnet.outsider))).status_code == 404


async def test_retrievals_are_audited_once_per_request_and_frames_once_per_series(client, world, db, dnet, ct):
    forget_pixel_audits()
    token = await world.token(dnet.reader)

    async def rows(action: str) -> int:
        return await db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.actor_user_id == dnet.reader.id))

    for _ in range(2):
        await client.get(url(ct, 0, "/metadata"), headers=token)
    assert await rows("diagnosis_image_metadata") == 2
    for index in range(3):
        await client.get(url(ct, index, "/frames/1"), headers=token)
        await client.get(url(ct, index, "/rendered"), headers=token)
    assert await rows("diagnosis_image_pixels") == 1
    await client.get(url(ct), headers=token)
    assert await rows("diagnosis_image_instances") == 1
    await client.get("/dicomweb/studies", headers=token)
    assert await rows("diagnosis_image_search") == 1
    await client.get(url(ct), headers=await world.token(dnet.outsider))
    denied = (await db.scalars(select(AuditEvent.resource_type).where(
        AuditEvent.outcome == "denied", AuditEvent.actor_user_id == dnet.outsider.id))).all()
    assert denied == ["DiagnosisOrder"]  # load_order's own denial row, as for the order itself
