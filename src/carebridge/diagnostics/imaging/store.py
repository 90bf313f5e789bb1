"""Storing one received DICOM object: check it, keep its bytes, index it, count it into its study.

`store_instance` is the one way in for the DICOM listener (C-STORE), STOW-RS, the upload page and
the order API. It runs in the caller's transaction and never commits; the caller commits BEFORE it
acknowledges (C-STORE success, STOW 200), so an acknowledged object is durably stored and indexed:
the blob store fsyncs the file and its directory before `put` returns, and the commit makes the
index row durable.

A SOP Instance UID seen before is an idempotent success: nothing is written or counted again (the
first copy is kept; a sender re-sending after a lost acknowledgement gets success).

A DICOM waveform ECG (12-lead, general, ambulatory) is an ECG recording like an uploaded one: it is
read and pre-read before anything is stored (refused with `Reason.bad_waveform` when it cannot be),
indexed as an instance like any other object (so C-FIND, C-GET and WADO-RS still serve it), its
study is complete on arrival, and `ecg.service.file_recording` writes the recording with its
pre-read in the same transaction."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.config import get_settings
from carebridge.diagnostics.ecg import service as ecg
from carebridge.diagnostics.ecg.read_dicom import is_ecg_class
from carebridge.diagnostics.imaging.known import KnownRows, KnownSeries
from carebridge.diagnostics.imaging.known_writer import KnownSeriesWriter
from carebridge.diagnostics.imaging.models import DicomInstance, DicomSeries, DicomStudy
from carebridge.diagnostics.imaging.parse import (
    InvalidDicom,
    ParsedInstance,
    Reason,
    acquired_at,
    float_of,
    int_of,
    read_part10,
    text_of,
    with_preamble,
)
from carebridge.diagnostics.models import DiagnosticStudy
from carebridge.diagnostics.studies import Arrival, count_item, receive_item
from carebridge.errors import InvalidInput
from carebridge.kit.blobs import BlobStore
from carebridge.kit.clock import utcnow

log = logging.getLogger(__name__)
SOURCES = ("dimse", "stow", "upload")


@dataclass(frozen=True)
class StoredInstance:
    """The outcome of one accepted object (`duplicate`: it was already indexed; nothing changed)."""

    instance_id: int
    study_id: int  # diagnostic_studies.id
    series_id: int
    order_id: int | None
    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    blob_digest: str
    size_bytes: int
    duplicate: bool


@dataclass(frozen=True)
class Received:
    """An object that passed the checks, with its bytes durable in the blob store (not yet indexed)."""

    data: bytes
    parsed: ParsedInstance
    digest: str
    waveform: ecg.Analysed | None  # a DICOM waveform ECG, read and pre-read


async def store_instance(session: AsyncSession, blobs: BlobStore, data: bytes, *, sending_facility_id: int,
                         hub_facility_id: int | None, calling_ae: str = "", source: str = "dimse",
                         order_id: int | None = None, expected_study_uid: str | None = None,
                         known: KnownRows | None = None) -> StoredInstance:
    """Checks, stores and indexes one Part 10 file. Raises `InvalidDicom` (a 422 `InvalidInput`
    carrying its DIMSE status and STOW failure reason) and leaves nothing indexed when refused (a
    file that fails the checks is not written at all).
    `order_id` names the order an upload was made from; `expected_study_uid` is STOW's target study;
    `known` is the rows the caller's association has stored into (the listener's hot path)."""
    received = await receive(blobs, data, expected_study_uid=expected_study_uid)
    return await index_received(session, blobs, received, sending_facility_id=sending_facility_id,
                                hub_facility_id=hub_facility_id, calling_ae=calling_ae, source=source,
                                order_id=order_id, known=known)


async def receive(blobs: BlobStore, data: bytes, *, expected_study_uid: str | None = None,
                  digest: str | None = None) -> Received:
    """The checks, then the blob. Raises `InvalidDicom`; a refused file is not written. `digest`:
    the SHA-256 of `data`, when the caller computed it as the bytes arrived (the listener's reader)."""
    if (completed := with_preamble(data)) is not data:
        data, digest = completed, None
    parsed = read_part10(data, get_settings().dicom_max_instance_bytes)
    if expected_study_uid is not None and parsed.study_uid != expected_study_uid:
        raise InvalidDicom(Reason.study_mismatch, "the instance belongs to another study than the one addressed")
    # Before the blob and any database lock: the pre-read takes ~100 ms of CPU.
    waveform = await _analyse_ecg(data) if is_ecg_class(parsed.sop_class_uid) else None
    # The blob first, durable (fsynced with its directory) before any statement: no committed row
    # ever names a blob that is not on disk, and the fsyncs happen outside the locks the transaction
    # takes (SQLite's write lock, the study row on PostgreSQL), so parallel associations overlap them.
    # A refusal below leaves the bytes as an unreferenced blob; nothing names it.
    digest = await blobs.put(data) if digest is None else await blobs.put_hashed(data, digest)
    return Received(data, parsed, digest, waveform)


async def index_received(session: AsyncSession, blobs: BlobStore, received: Received, *, sending_facility_id: int,
                         hub_facility_id: int | None, calling_ae: str = "", source: str = "dimse",
                         order_id: int | None = None, known: KnownRows | None = None) -> StoredInstance:
    """Indexes a received object in the caller's transaction (see `store_instance`)."""
    return await _index_any(session, blobs, received.parsed, received.data, received.digest, sending_facility_id,
                            hub_facility_id, calling_ae, source, order_id, received.waveform, known)


async def index_known(writer: KnownSeriesWriter, received: Received, known: KnownRows, *, sending_facility_id: int,
                      calling_ae: str) -> StoredInstance | None:
    """The listener's hot path (known_writer.py): the next object of a series this association has
    stored into, indexed and committed by the driver itself. None when it is not such an object or
    was indexed before (a resend): nothing was written, `index_received` answers it."""
    parsed = received.parsed
    row = known.lookup(parsed.study_uid, parsed.series_uid)
    if row is None or received.waveform is not None:
        return None
    _check_sender(row, sending_facility_id)
    values = _instance_values(parsed, received.data, received.digest, row.series_id, row.study_id, calling_ae, "dimse")
    indexed = await writer.index(row.study_id, values)
    if indexed is None:
        return None
    return _stored(parsed, indexed.instance_id, row.study_id, row.series_id, indexed.order_id, received.digest,
                   len(received.data))


async def _index_any(session: AsyncSession, blobs: BlobStore, parsed: ParsedInstance, data: bytes, digest: str,
                     sending_facility_id: int, hub_facility_id: int | None, calling_ae: str, source: str,
                     order_id: int | None, waveform: ecg.Analysed | None, known: KnownRows | None) -> StoredInstance:
    row = known.lookup(parsed.study_uid, parsed.series_uid) if known is not None else None
    if row is not None and order_id is None and waveform is None:
        return await _index_known(session, parsed, data, digest, row, sending_facility_id, calling_ae, source)
    stored = await _store_first(session, blobs, parsed, data, digest, sending_facility_id, hub_facility_id,
                                calling_ae, source, order_id, waveform)
    if known is not None and not stored.duplicate:
        known.remember_after_commit(session, parsed.study_uid, parsed.series_uid,
                                    KnownSeries(stored.study_id, sending_facility_id, stored.series_id))
    return stored


async def _store_first(session: AsyncSession, blobs: BlobStore, parsed: ParsedInstance, data: bytes, digest: str,
                       sending_facility_id: int, hub_facility_id: int | None, calling_ae: str, source: str,
                       order_id: int | None, waveform: ecg.Analysed | None) -> StoredInstance:
    """The general path: the study and series are looked up, created and matched to an order as needed."""
    seen = await _seen(session, parsed)
    # The sender check comes before the duplicate answer, which names the study's order.
    if seen.study_sender is not None and seen.study_sender != sending_facility_id:
        raise InvalidDicom(Reason.study_of_another_sender, "this Study Instance UID was sent by another facility")
    if seen.instance_id is not None:
        return await _duplicate(session, parsed)
    if seen.series_id is not None and seen.series_study_id != seen.study_id:
        raise InvalidDicom(Reason.study_mismatch, "this Series Instance UID belongs to another study")
    try:
        if session.get_bind().dialect.name == "sqlite":
            # BEGIN IMMEDIATE (db.py) holds the database's write lock: no other writer can index this
            # SOP instance between the check above and the insert, so no savepoint is needed.
            return await _index(session, blobs, parsed, data, digest, seen.series_id, sending_facility_id,
                                hub_facility_id, calling_ae, source, order_id, waveform)
        async with session.begin_nested():
            return await _index(session, blobs, parsed, data, digest, seen.series_id, sending_facility_id,
                                hub_facility_id, calling_ae, source, order_id, waveform)
    except IntegrityError:
        # The same SOP instance committed by another connection meanwhile (PostgreSQL): theirs stands.
        return await _duplicate(session, parsed)


async def _index_known(session: AsyncSession, parsed: ParsedInstance, data: bytes, digest: str, row: KnownSeries,
                       sending_facility_id: int, calling_ae: str, source: str) -> StoredInstance:
    """The next object of a study and series this association has stored into: no look-up, the
    instance inserted unless it is there already (a resend), then counted."""
    _check_sender(row, sending_facility_id)
    values = _instance_values(parsed, data, digest, row.series_id, row.study_id, calling_ae, source)
    # The study row first (count_item: the lock order of every writer), then the instance.
    order_id = await count_item(session, row.study_id, len(data), values["received_at"])
    connection = await session.connection()
    instance_id = (await connection.execute(INSERT_NEW_INSTANCE[connection.dialect.name], values)).scalar()
    if instance_id is None:  # a resend: take the count back (the row is ours until commit)
        await count_item(session, row.study_id, -len(data), values["received_at"], items=-1)
        return await _duplicate(session, parsed)
    return _stored(parsed, instance_id, row.study_id, row.series_id, order_id, digest, len(data))


def _check_sender(row: KnownSeries, sending_facility_id: int) -> None:
    if row.sender_id != sending_facility_id:
        raise InvalidDicom(Reason.study_of_another_sender, "this Study Instance UID was sent by another facility")


def _stored(parsed: ParsedInstance, instance_id: int, study_id: int, series_id: int, order_id: int | None,
            digest: str, size: int) -> StoredInstance:
    return StoredInstance(instance_id=instance_id, study_id=study_id, series_id=series_id, order_id=order_id,
                          study_uid=parsed.study_uid, series_uid=parsed.series_uid,
                          sop_instance_uid=parsed.sop_instance_uid, sop_class_uid=parsed.sop_class_uid,
                          transfer_syntax_uid=parsed.transfer_syntax_uid, blob_digest=digest, size_bytes=size,
                          duplicate=False)


async def _analyse_ecg(data: bytes) -> ecg.Analysed:
    try:
        return await asyncio.to_thread(ecg.analyse_dicom_waveform, data, max_seconds=get_settings().ecg_max_seconds)
    except InvalidInput as refused:
        raise InvalidDicom(Reason.bad_waveform, f"ECG refused: {refused.message}") from None


@dataclass(frozen=True)
class _Seen:
    instance_id: int | None
    study_id: int | None
    study_sender: int | None
    series_id: int | None
    series_study_id: int | None


# Built once: a statement built per object costs more CPU (construction, cache key) than running it.
_I, _S, _R = DicomInstance.__table__, DiagnosticStudy.__table__, DicomSeries.__table__
SEEN = select(
    select(_I.c.id).where(_I.c.sop_instance_uid == bindparam("sop")).scalar_subquery(),
    select(_S.c.id).where(_S.c.study_uid == bindparam("study")).scalar_subquery(),
    select(_S.c.sending_facility_id).where(_S.c.study_uid == bindparam("study")).scalar_subquery(),
    select(_R.c.id).where(_R.c.series_uid == bindparam("series")).scalar_subquery(),
    select(_R.c.study_id).where(_R.c.series_uid == bindparam("series")).scalar_subquery())
INSERT_INSTANCE = insert(_I).returning(_I.c.id)
# A resend of an indexed instance inserts nothing and returns no row: no look-up first, no savepoint.
# The database counts an inserted instance into dicom_series and dicom_studies (trigger, migration 0012).
INSERT_NEW_INSTANCE = {
    "sqlite": sqlite.insert(_I).on_conflict_do_nothing(index_elements=[_I.c.sop_instance_uid]).returning(_I.c.id),
    "postgresql": postgresql.insert(_I).on_conflict_do_nothing(index_elements=[_I.c.sop_instance_uid])
    .returning(_I.c.id)}


async def _seen(session: AsyncSession, parsed: ParsedInstance) -> _Seen:
    """What the index already holds of this object, its study and its series: one round trip."""
    connection = await session.connection()
    row = (await connection.execute(SEEN, {"sop": parsed.sop_instance_uid, "study": parsed.study_uid,
                                           "series": parsed.series_uid})).one()
    return _Seen(*row)


async def _duplicate(session: AsyncSession, parsed: ParsedInstance) -> StoredInstance:
    instance, order_id = (await session.execute(
        select(DicomInstance, DiagnosticStudy.order_id)
        .join(DiagnosticStudy, DiagnosticStudy.id == DicomInstance.study_id)
        .where(DicomInstance.sop_instance_uid == parsed.sop_instance_uid))).one()
    return StoredInstance(instance_id=instance.id, study_id=instance.study_id, series_id=instance.series_id,
                          order_id=order_id, study_uid=parsed.study_uid, series_uid=parsed.series_uid,
                          sop_instance_uid=instance.sop_instance_uid, sop_class_uid=instance.sop_class_uid,
                          transfer_syntax_uid=instance.transfer_syntax_uid, blob_digest=instance.blob_digest,
                          size_bytes=instance.size_bytes, duplicate=True)


async def _index(session: AsyncSession, blobs: BlobStore, parsed: ParsedInstance, data: bytes, digest: str,
                 series_id: int | None, sending_facility_id: int, hub_facility_id: int | None, calling_ae: str,
                 source: str, order_id: int | None, waveform: ecg.Analysed | None) -> StoredInstance:
    ds = parsed.dataset
    description = text_of(ds, "StudyDescription", 200)
    if waveform is not None and not description:
        description = f"ECG {len(waveform.tracing.leads)} leads, {waveform.tracing.duration:.0f} s (dicom)"
    study = await receive_item(session, Arrival(
        study_uid=parsed.study_uid, sending_facility_id=sending_facility_id, hub_facility_id=hub_facility_id,
        # An ECG waveform is an ECG study whatever its Modality says (an ambulatory cart may write HD).
        modality="ECG" if waveform is not None else text_of(ds, "Modality", 8),
        accession_number=text_of(ds, "AccessionNumber", 16),
        sent_patient_key=text_of(ds, "PatientID", 64), sent_patient_name=text_of(ds, "PatientName", 200),
        description=description, acquired_at=acquired_at(ds, get_settings().display_timezone),
        size_bytes=len(data), single_object=waveform is not None, order_id=order_id))
    if series_id is None:
        series_id = await _series(session, parsed, study.id)
    values = _instance_values(parsed, data, digest, series_id, study.id, calling_ae, source)
    connection = await session.connection()
    instance_id = (await connection.execute(INSERT_INSTANCE, values)).scalar_one()
    if waveform is not None:
        await ecg.file_recording(session, blobs, study, waveform, original_digest=digest,
                                 original_name=f"{parsed.sop_instance_uid}.dcm", original_size=len(data),
                                 uploaded_by_id=None)
    return _stored(parsed, instance_id, study.id, series_id, study.order_id, digest, len(data))


def _instance_values(parsed: ParsedInstance, data: bytes, digest: str, series_id: int, study_id: int,
                     calling_ae: str, source: str) -> dict:
    ds = parsed.dataset
    return dict(
        sop_instance_uid=parsed.sop_instance_uid, sop_class_uid=parsed.sop_class_uid, series_id=series_id,
        study_id=study_id, instance_number=int_of(ds, "InstanceNumber"),
        transfer_syntax_uid=parsed.transfer_syntax_uid, rows=int_of(ds, "Rows"), columns=int_of(ds, "Columns"),
        number_of_frames=int_of(ds, "NumberOfFrames") or 1, bits_allocated=int_of(ds, "BitsAllocated"),
        photometric=text_of(ds, "PhotometricInterpretation", 16), pixel_spacing=text_of(ds, "PixelSpacing", 64),
        slice_location=float_of(ds, "SliceLocation"), window_center=float_of(ds, "WindowCenter"),
        window_width=float_of(ds, "WindowWidth"), rescale_slope=float_of(ds, "RescaleSlope"),
        rescale_intercept=float_of(ds, "RescaleIntercept"), size_bytes=len(data), received_at=utcnow(),
        calling_ae=calling_ae[:16], source=source if source in SOURCES else "dimse",
        blob_digest=digest)  # durable: put() returned after the fsyncs


async def _series(session: AsyncSession, parsed: ParsedInstance, study_id: int) -> int:
    """The series row, created with the study's extra attributes on its first instance."""
    found = await _find_series(session, parsed, study_id)
    if found is not None:
        return found
    ds = parsed.dataset
    if await session.get(DicomStudy, study_id) is None:
        await _insert_once(session, DicomStudy(
            study_id=study_id, study_date=text_of(ds, "StudyDate", 8), study_time=text_of(ds, "StudyTime", 16),
            dicom_study_id=text_of(ds, "StudyID", 16), referring_physician=text_of(ds, "ReferringPhysicianName", 200),
            patient_birth_date=text_of(ds, "PatientBirthDate", 8), patient_sex=text_of(ds, "PatientSex", 16),
            series_count=0, instance_count=0))
    series = DicomSeries(study_id=study_id, series_uid=parsed.series_uid, modality=text_of(ds, "Modality", 16),
                         series_number=int_of(ds, "SeriesNumber"), description=text_of(ds, "SeriesDescription", 200),
                         body_part=text_of(ds, "BodyPartExamined", 64), instance_count=0)
    if not await _insert_once(session, series):  # another connection created it first: count into theirs
        return await _find_series(session, parsed, study_id)
    await session.execute(update(DicomStudy).where(DicomStudy.study_id == study_id)
                          .values(series_count=DicomStudy.series_count + 1)
                          .execution_options(synchronize_session=False))
    return series.id


async def _find_series(session: AsyncSession, parsed: ParsedInstance, study_id: int) -> int | None:
    found = (await session.execute(select(DicomSeries.id, DicomSeries.study_id)
                                   .where(DicomSeries.series_uid == parsed.series_uid))).first()
    if found is not None and found.study_id != study_id:
        raise InvalidDicom(Reason.study_mismatch, "this Series Instance UID belongs to another study")
    return found.id if found is not None else None


async def _insert_once(session: AsyncSession, row: object) -> bool:
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True
