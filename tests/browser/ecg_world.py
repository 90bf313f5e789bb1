"""ECG orders the browser tests start from: a township health centre sends ECGs to a city hospital
that reads them. One order waits for its tracing (the technician uploads it in the browser); one
already has the pydicom 12-lead ECG, uploaded through the real service, for the reader's viewer.
Arranged through the services."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from pydicom.data import get_testdata_file
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.diagnostics import service as orders
from carebridge.diagnostics.ecg import service as ecg
from carebridge.diagnostics.ecg.read_wfdb import NamedFile
from carebridge.kit.blobs import LocalBlobStore
from carebridge.network.models import Facility, FacilityLink, ServiceOffering, Tier
from carebridge.records.models import Patient, PatientRegistration


async def arrange_ecg_world(session: AsyncSession, blob_dir: Path, password: str) -> dict:
    town = Facility(code="BR-ECG-TOWN", name="柳河镇卫生院", name_en="Liuhe Township Health Center",
                    tier=Tier.township_center.value)
    city = Facility(code="BR-ECG-CITY", name="江城市心电诊断中心", name_en="Jiangcheng City ECG Reading Centre",
                    tier=Tier.city_hospital.value)
    session.add_all([town, city])
    await session.flush()
    session.add(FacilityLink(facility_id=town.id, hub_id=city.id))
    session.add(ServiceOffering(facility_id=city.id, kind="ecg_reading", open_to_all=True, active=True))
    tech = await auth.create_user(session, username="tech.sun", display_name="孙芳 (心电技师)", password=password,
                                  roles=[(Role.technician, town.id)])
    reader = await auth.create_user(session, username="dr.he", display_name="何伟 (心电诊断)", password=password,
                                    roles=[(Role.doctor, city.id)])
    patient = Patient(name="赵桂兰", name_en="Zhao Guilan", sex="female", birth_date=dt.date(1949, 11, 2),
                      national_id="110105194911020024")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=town.id, mrn="LH-000077"))
    session.add(Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=tech.id,
                        facility_id=town.id))
    await session.flush()
    sender = await auth.load_principal(session, tech, via="token")
    waiting = await orders.order_diagnosis(session, sender, orders.OrderRequest(
        patient_id=patient.id, modality="ECG", clinical_question="心悸两天，请判读心律。", urgency="urgent"))
    read = await orders.order_diagnosis(session, sender, orders.OrderRequest(
        patient_id=patient.id, modality="ECG", clinical_question="术前常规心电图。", urgency="routine"))
    dicom = await asyncio.to_thread(Path(get_testdata_file("waveform_ecg.dcm")).read_bytes)
    await ecg.upload_ecg(session, sender, read.id, ecg.UploadRequest(files=[NamedFile("waveform_ecg.dcm", dicom)]),
                         blobs=LocalBlobStore(blob_dir), max_bytes=20 << 20, max_seconds=300)
    return {"ecg_tech": tech.username, "ecg_reader": reader.username, "ecg_waiting_order": waiting.id,
            "ecg_read_order": read.id}
