"""store_instance: what is indexed from a real file, idempotent duplicates, matching to the order,
and the bad-file corpus refused with its reason and nothing written."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from carebridge.diagnostics.imaging.models import DicomInstance, DicomSeries, DicomStudy
from carebridge.diagnostics.imaging.parse import InvalidDicom
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_series
from carebridge.diagnostics.imaging.store import store_instance
from carebridge.diagnostics.models import DiagnosticStudy
from tests.diagnostics.conftest import place_order
from tests.diagnostics.imaging.corpus import bundled_file, corpus


def _store(db, blobs, dnet, data: bytes, **kw):  # noqa: ANN001, ANN202
    return store_instance(db, blobs, data, sending_facility_id=dnet.community.id, hub_facility_id=dnet.hub.id,
                          calling_ae=kw.pop("calling_ae", "CT1"), **kw)


async def test_a_ct_series_is_indexed_matched_to_its_order_and_kept_byte_for_byte(world, db, dnet, blobs):
    order = await place_order(world, db, dnet)
    spec = SeriesSpec(accession_number=order.accession_number, patient_id=dnet.mrn, count=3)
    files = list(ct_series(spec))
    stored = [await _store(db, blobs, dnet, data) for data in files]
    assert {s.order_id for s in stored} == {order.id} and not any(s.duplicate for s in stored)
    study = await db.get(DiagnosticStudy, stored[0].study_id)
    assert (study.study_uid, study.item_count, study.byte_count) == (spec.study_uid, 3, sum(map(len, files)))
    assert (study.modality, study.description, study.accession_number) == ("CT", "CT HEAD", order.accession_number)
    assert study.acquired_at.isoformat() == "2026-03-01T01:30:00+00:00"  # 09:30 in Asia/Shanghai
    series = await db.get(DicomSeries, stored[0].series_id)
    assert (series.series_uid, series.instance_count, series.modality, series.body_part) == (
        spec.series_uid, 3, "CT", "HEAD")
    extra = await db.get(DicomStudy, study.id)
    assert (extra.series_count, extra.instance_count, extra.patient_sex, extra.study_date) == (1, 3, "F", "20260301")
    first = await db.get(DicomInstance, stored[0].instance_id)
    assert (first.rows, first.columns, first.bits_allocated, first.instance_number) == (512, 512, 16, 1)
    assert (first.window_center, first.window_width, first.rescale_intercept) == (40.0, 80.0, -1024.0)
    assert (first.pixel_spacing, first.photometric, first.calling_ae, first.source) == (
        "0.488\\0.488", "MONOCHROME2", "CT1", "dimse")
    assert await blobs.get(first.blob_digest) == files[0]
    assert first.blob_digest == hashlib.sha256(files[0]).hexdigest()


async def test_a_duplicate_instance_is_an_idempotent_success_counted_once(world, db, dnet, blobs):
    data = next(ct_series(SeriesSpec(count=1, size=64)))
    first = await _store(db, blobs, dnet, data)
    again = await _store(db, blobs, dnet, data)
    assert again.duplicate and again.instance_id == first.instance_id
    study = await db.get(DiagnosticStudy, first.study_id)
    await db.refresh(study)
    assert study.item_count == 1
    assert await db.scalar(select(func.count()).select_from(DicomInstance)
                           .where(DicomInstance.study_id == first.study_id)) == 1


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "SC_rgb_rle.dcm",
                                  "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "SC_rgb_jpeg_dcmtk.dcm",
                                  "waveform_ecg.dcm"])
async def test_real_files_in_their_transfer_syntaxes_are_stored_as_received(db, dnet, blobs, name):
    data = open(bundled_file(name), "rb").read()  # noqa: ASYNC230 - a small test file
    stored = await _store(db, blobs, dnet, data)
    row = await db.get(DicomInstance, stored.instance_id)
    assert await blobs.get(row.blob_digest) == data and row.size_bytes == len(data)
    assert row.transfer_syntax_uid == stored.transfer_syntax_uid


@pytest.mark.parametrize("name", sorted(corpus()))
async def test_the_bad_file_corpus_is_refused_with_its_reason_and_nothing_written(db, dnet, blobs, name):
    data, reason = corpus()[name]
    before = await db.scalar(select(func.count()).select_from(DiagnosticStudy))
    with pytest.raises(InvalidDicom) as refused:
        await _store(db, blobs, dnet, data)
    assert refused.value.reason == reason and refused.value.status_code == 422
    assert refused.value.dimse_status in (0xA900, 0xC000, 0x0122, 0xA700)
    assert await db.scalar(select(func.count()).select_from(DiagnosticStudy)) == before
    assert not (blobs.root.exists() and any(p.is_file() for p in blobs.root.rglob("*")))


async def test_a_study_uid_already_sent_by_another_facility_is_refused(world, db, dnet, blobs):
    spec = SeriesSpec(count=2, size=64)
    first, second = ct_series(spec)
    await _store(db, blobs, dnet, first)
    with pytest.raises(InvalidDicom) as refused:
        await store_instance(db, blobs, second, sending_facility_id=dnet.other_hub.id, hub_facility_id=dnet.hub.id)
    assert refused.value.reason == "study_of_another_sender"


async def test_stow_to_a_named_study_refuses_an_instance_of_another(db, dnet, blobs):
    data = next(ct_series(SeriesSpec(count=1, size=64)))
    with pytest.raises(InvalidDicom) as refused:
        await _store(db, blobs, dnet, data, source="stow", expected_study_uid="1.2.3.4")
    assert refused.value.reason == "study_mismatch" and refused.value.stow_failure_reason == 0xA900
