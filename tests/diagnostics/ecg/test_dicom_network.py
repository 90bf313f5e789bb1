"""A DICOM waveform ECG sent by an ECG cart over the network (DCMTK `storescu` to the DICOM listener,
or STOW-RS) becomes the order's ECG recording with its automatic pre-read, exactly as an upload
does: matched to its order, on the hub's worklist with the pre-read hint, open in the ECG viewer.
One that matches no order waits in the reconciliation queue with its pre-read; a damaged one is
refused with a status the cart shows, and nothing is kept."""

from __future__ import annotations

import asyncio
import io
import json

import numpy as np
import pytest
import wfdb
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from sqlalchemy import func, select

from carebridge.diagnostics.ecg.models import EcgRecording
from carebridge.diagnostics.imaging.models import DicomInstance
from carebridge.diagnostics.imaging.samples import part10_bytes
from carebridge.diagnostics.models import DiagnosticStudy
from carebridge.kit.blobs import LocalBlobStore
from tests.diagnostics.conftest import place_order
from tests.diagnostics.ecg import samples
from tests.diagnostics.imaging.dimse import dcmtk, require_dcmtk, start_listener

GENERAL_ECG = "1.2.840.10008.5.1.4.1.1.9.1.2"


@pytest.fixture
def blobs(tmp_path):  # noqa: ANN001, ANN201 - the app's blob store (tests/conftest.py), so the API reads what was sent
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
async def scp(world, db, dnet, settings, sessionmaker, blobs):  # noqa: ANN001, ANN201
    require_dcmtk()
    running = await start_listener(world, db, dnet, settings, sessionmaker, blobs)
    yield running
    await asyncio.to_thread(running.listener.stop)


def cart_ecg(*, accession: str = "", patient_id: str = "", patient_name: str = "ZHAO^GUILAN") -> Dataset:
    """pydicom's real 12-lead ECG as a cart of the community centre would send it for an order."""
    ds = dcmread(io.BytesIO(samples.dicom_ecg()))
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid(), generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.AccessionNumber, ds.PatientID, ds.PatientName = accession, patient_id, patient_name
    return ds


def mitdb_general_ecg(record: str, start_s: float, seconds: float, patient_id: str) -> Dataset:
    """Two leads of an MIT-BIH record as a General ECG Waveform object (PS3.3 A.34.3), the way a
    Holter or monitoring system exports a strip: 16-bit samples, sensitivity in mV per unit."""
    source = wfdb.rdrecord(str(samples.MITDB / record), sampfrom=int(start_s * 360),
                           sampto=int((start_s + seconds) * 360), physical=False)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = GENERAL_ECG, generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = GENERAL_ECG, ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientID, ds.PatientName, ds.AccessionNumber = "ECG", patient_id, "MITDB^" + record, ""
    ds.StudyDate, ds.StudyTime, ds.ContentDate, ds.ContentTime = "20260301", "093000", "20260301", "093000"
    group = Dataset()
    group.MultiplexGroupLabel, group.SamplingFrequency = "RHYTHM", source.fs
    group.NumberOfWaveformChannels, group.NumberOfWaveformSamples = len(source.sig_name), source.sig_len
    group.WaveformBitsAllocated, group.WaveformSampleInterpretation = 16, "SS"
    channels = []
    for k, name in enumerate(source.sig_name):
        channel = Dataset()
        channel.ChannelSourceSequence = Sequence([Dataset()])
        channel.ChannelSourceSequence[0].CodeValue = "2:2" if name == "MLII" else "2:7"  # MDC: II (MLII is II-like), V5
        channel.ChannelSourceSequence[0].CodingSchemeDesignator = "MDC"
        channel.ChannelSourceSequence[0].CodeMeaning = name
        channel.ChannelSensitivity = f"{1 / source.adc_gain[k]:.6f}"[:16]
        channel.ChannelSensitivityUnitsSequence = Sequence([Dataset()])
        channel.ChannelSensitivityUnitsSequence[0].CodeValue = "mV"
        channel.ChannelSensitivityUnitsSequence[0].CodingSchemeDesignator = "UCUM"
        # pydicom (as read_dicom) gives raw * sensitivity * correction + baseline, the baseline in mV
        channel.ChannelSensitivityCorrectionFactor = 1
        channel.ChannelBaseline = f"{-source.baseline[k] / source.adc_gain[k]:.6f}"[:16]
        channel.WaveformBitsStored = 16
        channels.append(channel)
    group.ChannelDefinitionSequence = Sequence(channels)
    group.WaveformData = source.d_signal.astype("<i2").tobytes()
    ds.WaveformSequence = Sequence([group])
    return ds


async def _send(scp, tmp_path, ds: Dataset, name: str = "ecg.dcm", aet: str | None = None) -> tuple[int, str]:  # noqa: ANN001
    path = tmp_path / name
    path.write_bytes(part10_bytes(ds))
    return await dcmtk("storescu", "-v", "-aet", aet or scp.ct, "-aec", "CAREBRIDGE", "127.0.0.1", str(scp.port),
                       str(path))


async def _recording(db, study_uid: str) -> EcgRecording | None:  # noqa: ANN001
    return await db.scalar(select(EcgRecording).join(DiagnosticStudy, DiagnosticStudy.id == EcgRecording.study_id)
                           .where(DiagnosticStudy.study_uid == study_uid)
                           .execution_options(populate_existing=True))


async def test_storescu_sends_an_ecg_that_reaches_the_worklist_with_its_preread_and_opens_in_the_viewer(
        scp, client, world, db, dnet, tmp_path):
    order = await place_order(world, db, dnet, modality="ECG", clinical_question="Palpitations: rhythm?")
    await db.flush()
    ds = cart_ecg(accession=order.accession_number, patient_id=dnet.mrn)
    code, out = await _send(scp, tmp_path, ds)
    assert code == 0 and "Received Store Response (Success)" in out, out

    recording = await _recording(db, ds.StudyInstanceUID)
    assert recording is not None and recording.order_id == order.id and recording.uploaded_by_id is None
    assert recording.source_format == "dicom" and recording.lead_names[:3] == ["I", "II", "III"]
    reader = await world.token(dnet.reader)
    detail = (await client.get(f"/api/v1/diagnosis/orders/{order.id}", headers=reader)).json()
    assert detail["state"] == "ready" and detail["due_at"] is not None  # complete on arrival: the clock runs
    assert any(e["action"] == "ecg_preread" for e in detail["events"])

    worklist = (await client.get("/api/v1/diagnosis/worklist", headers=reader)).json()
    row = next(r for r in worklist["rows"] if r["order_id"] == order.id)
    assert row["kind"] == "ecg" and row["preread"]["heart_rate_bpm"] == 61  # the cart measured 61/min too
    assert row["preread"]["labels"][0] == "HR 61/min" and "sinus_rhythm" in row["preread"]["flags"]

    ecg = (await client.get(f"/api/v1/diagnosis/orders/{order.id}/ecg", headers=reader)).json()
    assert ecg["preread"]["kind"] == "automatic_preread" and ecg["original_size"] == recording.original_size
    signal = (await client.get(f"/api/v1/diagnosis/orders/{order.id}/ecg/signal", headers=reader)).json()
    assert len(signal["leads"]) == 12 and len(signal["data"][1]) == 5000  # 10 s at 500/s
    original = await client.get(f"/api/v1/diagnosis/orders/{order.id}/ecg/original", headers=reader)
    assert dcmread(io.BytesIO(original.content)).SOPInstanceUID == ds.SOPInstanceUID  # byte for byte as sent

    from tests.auth.conftest import login_as

    await login_as(client, db, dnet.reader)
    page = await client.get(f"/diagnosis/orders/{order.id}/ecg")
    assert page.status_code == 200 and 'data-testid="ecg-viewer"' in page.text and "DICOM" in page.text

    # The cart sends it again (it never saw the acknowledgement): success, still one recording.
    code, out = await _send(scp, tmp_path, ds)
    assert code == 0 and "Received Store Response (Success)" in out
    assert await db.scalar(select(func.count()).select_from(EcgRecording)
                           .where(EcgRecording.order_id == order.id)) == 1


async def test_an_mitdb_strip_as_general_ecg_matches_its_order_by_the_patient_id(scp, client, world, db, dnet,
                                                                                 tmp_path):
    order = await place_order(world, db, dnet, modality="ECG", clinical_question="Irregular pulse")
    await db.flush()
    code, out = await _send(scp, tmp_path, mitdb_general_ecg("100", 60, 20, dnet.mrn))
    assert code == 0 and "Success" in out, out
    reader = await world.token(dnet.reader)
    ecg = (await client.get(f"/api/v1/diagnosis/orders/{order.id}/ecg", headers=reader)).json()
    assert ecg["lead_names"] == ["II", "V5"] and abs(ecg["duration_s"] - 20) < 0.1
    # MIT-BIH 100 minute 1-1:20: 25 annotated beats in 20 s (75/min)
    assert abs(ecg["preread"]["heart_rate_bpm"] - 75) <= 3 and ecg["preread"]["beats"] >= 20


async def test_an_ecg_without_an_order_waits_for_reconciliation_and_brings_its_preread_when_linked(
        scp, client, world, db, dnet, tmp_path):
    ds = cart_ecg(accession="", patient_id="UNKNOWN-77")  # the cart had no order to pick
    code, out = await _send(scp, tmp_path, ds)
    assert code == 0 and "Success" in out, out
    recording = await _recording(db, ds.StudyInstanceUID)
    assert recording is not None and recording.order_id is None and recording.preread["heart_rate_bpm"] == 61

    hub_tech = await world.token(dnet.hub_tech)
    queue = (await client.get(f"/api/v1/diagnosis/hubs/{dnet.hub.id}/unmatched", headers=hub_tech)).json()
    study = next(s for s in queue if s["study_uid"] == ds.StudyInstanceUID)
    order = await place_order(world, db, dnet, modality="ECG", clinical_question="Chest pain")
    await db.flush()
    linked = await client.post(f"/api/v1/diagnosis/studies/{study['id']}/link", json={"order_id": order.id},
                               headers=hub_tech)
    assert linked.status_code == 200, linked.text

    reader = await world.token(dnet.reader)
    detail = (await client.get(f"/api/v1/diagnosis/orders/{order.id}", headers=reader)).json()
    assert detail["state"] == "ready" and any(e["action"] == "ecg_preread" for e in detail["events"])
    row = next(r for r in (await client.get("/api/v1/diagnosis/worklist", headers=reader)).json()["rows"]
               if r["order_id"] == order.id)
    assert row["preread"]["heart_rate_bpm"] == 61
    assert (await client.get(f"/api/v1/diagnosis/orders/{order.id}/ecg/signal", headers=reader)).status_code == 200


async def test_a_damaged_waveform_is_refused_with_a_reason_and_nothing_is_kept(scp, world, db, dnet, tmp_path):
    order = await place_order(world, db, dnet, modality="ECG")
    await db.flush()
    ds = cart_ecg(accession=order.accession_number, patient_id=dnet.mrn)
    rhythm = ds.WaveformSequence[0]
    rhythm.WaveformData = rhythm.WaveformData[: len(rhythm.WaveformData) // 2]  # half the samples it declares
    before = await db.scalar(select(func.count()).select_from(DicomInstance))
    code, out = await dcmtk("storescu", "-d", "-aet", scp.ct, "-aec", "CAREBRIDGE", "127.0.0.1", str(scp.port),
                            str(_write(tmp_path, ds)))
    assert "0xa900" in out.lower() and "ECG refused" in out, out  # the status and its Error Comment
    assert await db.scalar(select(func.count()).select_from(DicomInstance)) == before
    assert await _recording(db, ds.StudyInstanceUID) is None
    assert (await db.get(type(order), order.id)).state == "awaiting_study"


async def test_an_ecg_sent_by_stow_rs_gets_its_preread_too(client, world, db, dnet):
    order = await place_order(world, db, dnet, modality="ECG")
    await db.flush()
    ds = cart_ecg(accession=order.accession_number, patient_id=dnet.mrn)
    boundary = "ecg-boundary"
    body = (f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part10_bytes(ds)
            + f"\r\n--{boundary}--\r\n".encode())
    sender = await world.token(dnet.sender_tech)
    stored = await client.post("/dicomweb/studies", content=body, headers={
        **sender, "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}'})
    assert stored.status_code == 200, stored.text
    assert json.loads(stored.text)["00081199"]["Value"][0]["00081155"]["Value"] == [ds.SOPInstanceUID]
    reader = await world.token(dnet.reader)
    ecg = (await client.get(f"/api/v1/diagnosis/orders/{order.id}/ecg", headers=reader)).json()
    assert ecg["preread"]["heart_rate_bpm"] == 61 and ecg["source_format"] == "dicom"


def _write(tmp_path, ds: Dataset):  # noqa: ANN001, ANN202
    path = tmp_path / "damaged.dcm"
    path.write_bytes(part10_bytes(ds))
    return path


def test_the_mitdb_strip_reads_back_in_millivolts():
    from carebridge.diagnostics.ecg import read_dicom

    tracing = read_dicom.read(part10_bytes(mitdb_general_ecg("100", 60, 5, "X")))
    physical = wfdb.rdrecord(str(samples.MITDB / "100"), sampfrom=60 * 360, sampto=65 * 360).p_signal
    assert tracing.leads == ("II", "V5") and np.allclose(tracing.signal, physical, atol=0.01)
