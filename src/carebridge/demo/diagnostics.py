"""Remote diagnosis in the demo: the showcase patient's orders in every state a user meets, made
through the real services (order, image store, ECG upload, slide upload, claim, report, sign) so
every page works on them:
- a STAT head CT with an acute bleed: read and signed by demo.radiologist with a critical finding
  that demo.doctor has acknowledged;
- a chest radiograph and a 12-lead ECG (with its automatic pre-read) waiting on the worklist;
- a stained section at the city hub's pathology desk, waiting for demo.pathologist;
- a scan that arrived with a patient ID nobody knows, in the county hub's reconciliation queue."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from pydicom.data import get_testdata_file
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth import service as auth
from carebridge.auth.models import User
from carebridge.config import get_settings
from carebridge.demo import phantom
from carebridge.diagnostics import claims, report_critical, reports, service, studies
from carebridge.diagnostics.ecg.read_wfdb import NamedFile
from carebridge.diagnostics.ecg.service import UploadRequest, upload_ecg
from carebridge.diagnostics.imaging.store import store_instance
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.diagnostics.pathology.service import SlideDetails, upload_slides
from carebridge.kit.blobs import BlobStore
from carebridge.kit.clock import utcnow
from carebridge.records.models import Patient, PatientRegistration

HEAD_CT_REPORT = reports.DraftInput(
    findings={"haemorrhage": "subdural", "midline_shift": "4", "ventricles": "compressed",
              "other": "右侧顶部新月形高密度影，厚约8毫米"},
    impression="右侧顶部急性硬膜下血肿，中线左移约4毫米。", free_text="建议神经外科急会诊，复查头颅CT。",
    critical=True, critical_note="急性硬膜下血肿")


async def _principal(session: AsyncSession, username: str):  # noqa: ANN202
    user = await session.scalar(select(User).where(User.username == username))
    return await auth.load_principal(session, user, via="session")


async def _order(session: AsyncSession, doctor, patient_id: int, modality: str, question: str,  # noqa: ANN001
                 **kw) -> DiagnosisOrder:
    return await service.order_diagnosis(session, doctor, service.OrderRequest(
        patient_id=patient_id, modality=modality, clinical_question=question, **kw))


async def _store_images(session: AsyncSession, blobs: BlobStore, order: DiagnosisOrder, images: list[bytes]) -> None:
    for data in images:
        await store_instance(session, blobs, data, sending_facility_id=order.requesting_facility_id,
                             hub_facility_id=order.hub_facility_id, source="demo", order_id=order.id)
    now = utcnow() + dt.timedelta(seconds=get_settings().diagnosis_quiet_seconds + 1)
    await studies.complete_quiet_studies(session, now)
    await session.refresh(order)


async def _head_ct(session: AsyncSession, blobs: BlobStore, doctor, patient: tuple, pid: int) -> None:  # noqa: ANN001
    order = await _order(session, doctor, pid, "CT", "跌倒后头痛，口服华法林：颅内出血？", urgency="stat",
                         body_part="HEAD")
    await _store_images(session, blobs, order, phantom.head_ct(patient, order.accession_number, utcnow()))
    reader = await _principal(session, "demo.radiologist")
    await claims.claim(session, reader, order.id)
    await reports.save_draft(session, reader, order.id, HEAD_CT_REPORT)
    await reports.sign(session, reader, order.id, "final", blobs)
    await report_critical.acknowledge(session, doctor, order.id, "已电话联系家属，转上级医院神经外科")


async def _waiting(session: AsyncSession, blobs: BlobStore, doctor, technician, patient: tuple,  # noqa: ANN001
                   pid: int) -> None:
    chest = await _order(session, doctor, pid, "DX", "咳嗽三周，低热：肺部感染？", body_part="CHEST")
    await _store_images(session, blobs, chest, [phantom.chest_radiograph(patient, chest.accession_number, utcnow())])
    ecg = await _order(session, doctor, pid, "ECG", "心悸两天，心率快", urgency="urgent")
    tracing = NamedFile("ecg.dcm", Path(get_testdata_file("waveform_ecg.dcm")).read_bytes())  # noqa: ASYNC240
    await upload_ecg(session, technician, ecg.id, UploadRequest([tracing]), blobs=blobs,
                     max_bytes=get_settings().upload_max_bytes, max_seconds=get_settings().ecg_max_seconds)


async def _section(session: AsyncSession, blobs: BlobStore, doctor, pid: int) -> None:  # noqa: ANN001
    order = await _order(session, doctor, pid, "SM", "胃窦黏膜活检：慢性胃炎还是肠化？", body_part="胃窦")
    with tempfile.TemporaryDirectory() as folder:
        staging = Path(folder)
        section = staging / "gastric-antrum-he.png"
        section.write_bytes(phantom.stained_section())  # noqa: ASYNC240 - a one-off demo file
        await upload_slides(session, doctor, order.id, staging, [(section.name, section)],
                            SlideDetails(label="胃窦 A1", stain="HE", block="A1"), blobs)


async def _stray_scan(session: AsyncSession, blobs: BlobStore, hub_id: int, sender_id: int) -> None:
    scan = phantom.chest_radiograph(("UNKNOWN-0042", "LI^SI"), "", utcnow())
    await store_instance(session, blobs, scan, sending_facility_id=sender_id, hub_facility_id=hub_id, source="demo")


async def write_diagnostics(session: AsyncSession, blobs: BlobStore, patient_id: int) -> None:
    doctor = await _principal(session, "demo.doctor")
    patient = await session.get(Patient, patient_id)
    mrn = await session.scalar(select(PatientRegistration.mrn).where(PatientRegistration.patient_id == patient_id)
                               .order_by(PatientRegistration.id).limit(1))
    labelled = (mrn, patient.name_en.replace(" ", "^") or patient.name)
    await _head_ct(session, blobs, doctor, labelled, patient_id)
    await _waiting(session, blobs, doctor, await _principal(session, "demo.nurse"), labelled, patient_id)
    await _section(session, blobs, doctor, patient_id)
    chest = await session.scalar(select(DiagnosisOrder).where(DiagnosisOrder.patient_id == patient_id,
                                                               DiagnosisOrder.modality == "DX"))
    await _stray_scan(session, blobs, chest.hub_facility_id, chest.requesting_facility_id)
