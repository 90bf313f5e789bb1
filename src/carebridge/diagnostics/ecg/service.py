"""ECG use cases: a recording arrives for an ECG order (uploaded by the sending site, or sent as a
DICOM waveform over the DICOM listener or STOW-RS); the order's parties read it back (metadata,
pre-read, the signal for the viewer).

Every way in reads and pre-reads the tracing first (in a worker thread: numpy and the parsers would
otherwise hold the event loop), so a bad file is refused before anything is stored. Then the
original and the normalised signal go to the blob store (blob before row: a rolled-back request
leaves at most an unreferenced blob, never a row pointing at nothing), the study arrives through
`studies.receive_item` as a single object (complete at once: a matched order moves to the worklist
and its clock starts) and `file_recording` writes the recording row with its pre-read, all in the
caller's one transaction. `file_recording` is the one place that decides which order a recording
belongs to; a DICOM ECG that matched no order waits in the hub's reconciliation queue with its
pre-read, and `attach_recording` gives it its order when a technician links the study. The
pre-read takes about 50-150 ms for 10 s of 12 leads at 1000 Hz (docs/benchmarks.md), so it runs
on arrival rather than as a later job: the reader never sees the order on the worklist without it."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

import numpy as np
from scipy.signal import resample_poly
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.diagnostics import service as orders
from carebridge.diagnostics import studies
from carebridge.diagnostics.ecg import ingest, read_dicom
from carebridge.diagnostics.ecg.hints import rank_of, summary_note
from carebridge.diagnostics.ecg.models import EcgRecording
from carebridge.diagnostics.ecg.preread import PREREAD_VERSION, preread
from carebridge.diagnostics.ecg.read_wfdb import NamedFile
from carebridge.diagnostics.ecg.tracing import Tracing, from_npz, to_npz
from carebridge.diagnostics.lifecycle import Party, State
from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy, Modality
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.blobs import BlobStore
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_

log = logging.getLogger(__name__)
MAX_WINDOW_S = 60.0
MAX_RATE_HZ = 1000.0


@dataclass(frozen=True)
class UploadRequest:
    files: list[NamedFile]
    declared_format: str = ""
    sample_rate: float | None = None


def _check_can_upload(order: DiagnosisOrder, parties: frozenset) -> None:
    if Party.sender not in parties:
        raise Forbidden(N_("only the sending facility uploads the ECG of its order"))
    if order.modality != Modality.ECG:
        raise Conflict(N_("this order is not for an ECG"), code="not_ecg", details={"modality": order.modality})
    if order.state != State.awaiting_study.value:
        raise Conflict(N_("this order is not waiting for a study"), code="order_not_waiting",
                       details={"state": order.state})


@dataclass(frozen=True)
class Analysed:
    """A tracing read, checked and pre-read: nothing of it is stored yet."""

    tracing: Tracing
    preread: dict | None


def analyse_dicom_waveform(data: bytes, *, max_seconds: float) -> Analysed:
    """A DICOM waveform ECG that came as a DICOM object (C-STORE, STOW-RS, the imaging upload), held to
    the limits of an upload. Blocking (numpy): run it in a thread. Raises `InvalidInput`."""
    tracing = read_dicom.read(data)
    ingest.check_duration(tracing, max_seconds)
    return Analysed(tracing, _safe_preread(tracing))


async def upload_ecg(session: AsyncSession, principal: Principal, order_id: int, request: UploadRequest, *,
                     blobs: BlobStore, max_bytes: int, max_seconds: float) -> EcgRecording:
    order, parties = await orders.load_order(session, principal, order_id)
    _check_can_upload(order, parties)
    if await recording_of(session, order.id) is not None:
        raise Conflict(N_("this order already has its ECG"), code="ecg_exists")
    upload = await asyncio.to_thread(ingest.read_upload, request.files, declared_format=request.declared_format,
                                     sample_rate=request.sample_rate, max_bytes=max_bytes, max_seconds=max_seconds)
    tracing = upload.tracing
    analysed = Analysed(tracing, await asyncio.to_thread(_safe_preread, tracing))
    original_digest = await blobs.put(upload.original)
    study = await studies.receive_item(session, studies.Arrival(
        study_uid=f"2.25.{uuid.uuid4().int}", sending_facility_id=order.requesting_facility_id,
        hub_facility_id=order.hub_facility_id, modality=Modality.ECG.value, accession_number=order.accession_number,
        sent_patient_key=tracing.patient_key, sent_patient_name=tracing.patient_name,
        description=f"ECG {len(tracing.leads)} leads, {tracing.duration:.0f} s ({tracing.source_format})",
        acquired_at=tracing.start, size_bytes=len(upload.original), single_object=True, order_id=order.id))
    if study.order_id != order.id:  # receive_item matches only an order still waiting; someone moved it first
        raise Conflict(N_("this order is not waiting for a study"), code="order_not_waiting")
    recording = await file_recording(session, blobs, study, analysed, original_digest=original_digest,
                                     original_name=upload.original_name, original_size=len(upload.original),
                                     uploaded_by_id=principal.user_id)
    if recording.order_id != order.id:
        raise Conflict(N_("this order already has its ECG"), code="ecg_exists")
    await orders.audit_order(session, principal.actor(order.requesting_facility_id), order, "ecg_upload",
                             detail={"recording": recording.id, "format": tracing.source_format,
                                     "leads": len(tracing.leads), "seconds": round(tracing.duration, 2)})
    return recording


async def file_recording(session: AsyncSession, blobs: BlobStore, study: DiagnosticStudy, analysed: Analysed, *,
                         original_digest: str, original_name: str, original_size: int,
                         uploaded_by_id: int | None) -> EcgRecording:
    """The recording of a single-object ECG study that has just arrived through `studies.receive_item`,
    with its pre-read; it belongs to the study's order when that is an ECG order without a recording
    yet, else it waits unattached (reconciliation). `uploaded_by_id` is None for a DICOM peer. A second
    waveform of a study that has its recording is kept as a DICOM instance only: the first one stands."""
    existing = await session.scalar(select(EcgRecording).where(EcgRecording.study_id == study.id))
    if existing is not None:
        return existing
    tracing, result = analysed.tracing, analysed.preread
    signal_digest = await blobs.put(await asyncio.to_thread(to_npz, tracing))
    order = await _order_to_read(session, study.order_id)
    now = utcnow()
    recording = EcgRecording(
        study_id=study.id, order_id=order.id if order else None, lead_names=list(tracing.leads),
        derived_leads=list(tracing.derived_leads), sample_rate=tracing.sample_rate,
        sample_count=int(tracing.signal.shape[0]), duration_s=tracing.duration, source_format=tracing.source_format,
        recorded_at=tracing.start, original_digest=original_digest, original_name=original_name[:200],
        original_size=original_size, signal_digest=signal_digest, uploaded_by_id=uploaded_by_id, uploaded_at=now,
        preread=result, preread_at=now if result else None, preread_version=PREREAD_VERSION if result else "",
        preread_rank=rank_of(result))
    session.add(recording)
    await session.flush()
    if order is not None and result:
        await orders.record_event(session, None, order, Party.system, "ecg_preread", summary_note(result))
    return recording


async def _order_to_read(session: AsyncSession, order_id: int | None) -> DiagnosisOrder | None:
    """The order a recording belongs to: an ECG order (a study matched by accession number may name
    another kind) that has no recording yet (one per order: a second tracing stays unattached)."""
    if order_id is None:
        return None
    order = await session.get(DiagnosisOrder, order_id)
    if order is None or order.modality != Modality.ECG or await recording_of(session, order.id) is not None:
        return None
    return order


async def attach_recording(session: AsyncSession, study: DiagnosticStudy, order: DiagnosisOrder) -> None:
    """A study that found its order after it arrived (linked from the reconciliation queue, or an
    order placed after its ECG came): its waiting recording follows it, pre-read and all."""
    recording = await session.scalar(select(EcgRecording).where(EcgRecording.study_id == study.id,
                                                                EcgRecording.order_id.is_(None)))
    if recording is None or await _order_to_read(session, order.id) is None:
        return
    recording.order_id = order.id
    await session.flush()
    if recording.preread:
        await orders.record_event(session, None, order, Party.system, "ecg_preread", summary_note(recording.preread))


def _safe_preread(tracing: Tracing) -> dict | None:
    """The pre-read, or None if the analysis itself failed on this tracing: the ECG still reaches
    the reader (who reads it unaided), and the failure is in the log to be fixed."""
    try:
        return preread(tracing)
    except Exception:
        log.exception("automatic pre-read failed on a %s tracing", tracing.source_format)
        return None


async def recording_of(session: AsyncSession, order_id: int) -> EcgRecording | None:
    return await session.scalar(select(EcgRecording).where(EcgRecording.order_id == order_id))


async def read_ecg(session: AsyncSession, principal: Principal, order_id: int,
                   action: str = "diagnosis_ecg_read") -> tuple[DiagnosisOrder, frozenset, EcgRecording | None]:
    """The order, the caller's parts in it and its recording (None before one arrived); audited."""
    order, parties = await orders.read_order(session, principal, order_id, action=action)
    return order, parties, await recording_of(session, order.id)


@dataclass(frozen=True)
class SignalWindow:
    leads: list[str]
    sample_rate: float
    start_s: float
    samples: np.ndarray  # (n, leads) float32 mV


async def ecg_signal(session: AsyncSession, principal: Principal, order_id: int, *, blobs: BlobStore,
                     start_s: float = 0.0, seconds: float = 10.0, rate: float = 500.0) -> SignalWindow:
    """A window of the normalised signal, decimated (with an anti-alias filter) to at most `rate`."""
    if not (0 <= start_s and 0 < seconds <= MAX_WINDOW_S and 50 <= rate <= MAX_RATE_HZ):
        raise InvalidInput(N_("ask for up to 60 seconds of signal, at 50 to 1000 samples per second"),
                           details={"max_seconds": MAX_WINDOW_S, "max_rate": MAX_RATE_HZ})
    _order, _parties, recording = await read_ecg(session, principal, order_id, action="diagnosis_ecg_signal")
    if recording is None:
        raise NotFound(N_("no ECG has arrived for this order yet"))
    leads, fs, signal = await asyncio.to_thread(from_npz, await blobs.get(recording.signal_digest))
    first = int(start_s * fs)
    part = signal[first:first + int(np.ceil(seconds * fs))]
    factor = max(1, int(np.ceil(fs / rate)))
    if factor > 1 and part.shape[0] > 3 * factor:
        part = resample_poly(part.astype(np.float64), 1, factor, axis=0).astype(np.float32)
    return SignalWindow(leads=list(leads), sample_rate=fs / factor, start_s=first / fs, samples=part)


async def original_file(session: AsyncSession, principal: Principal, order_id: int,
                        blobs: BlobStore) -> tuple[EcgRecording, bytes]:
    """The file as the sender uploaded it (an export of patient data: audited as such)."""
    _order, _parties, recording = await read_ecg(session, principal, order_id, action="diagnosis_ecg_export")
    if recording is None:
        raise NotFound(N_("no ECG has arrived for this order yet"))
    return recording, await blobs.get(recording.original_digest)
