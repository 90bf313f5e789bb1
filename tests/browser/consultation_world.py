"""A consultation the browser tests can take into its live session: a township doctor asked the
county specialist about a patient, sharing a blood pressure reading, a diagnosis and an ECG report;
the specialist triaged, accepted and scheduled it. Arranged through the real services."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyotp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.auth.models import Role, User
from carebridge.consultations import service as consultations
from carebridge.kit.blobs import LocalBlobStore
from carebridge.kit.clock import utcnow
from carebridge.network.models import Department, Facility, PracticeSite, Practitioner, RosterShift, ServiceOffering
from carebridge.records import service as records
from carebridge.records.models import Patient, PatientRegistration
from carebridge.records.schemas import ConditionIn, ObservationIn

SPECIALIST_TOTP = pyotp.random_base32()
# A minimal but valid one-page PDF.
ECG_REPORT = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
              b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
              b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


async def arrange_consultation_world(session: AsyncSession, blob_dir: Path, password: str) -> dict:
    county = await session.scalar(select(Facility).where(Facility.code == "BR-COUNTY"))
    township = await session.scalar(select(Facility).where(Facility.code == "BR-TOWN"))
    requester = await auth.create_user(session, username="dr.zhao", display_name="赵丽 (乡镇)", password=password,
                                       roles=[(Role.doctor, township.id)])
    specialist = await auth.create_user(session, username="dr.li", display_name="李强 (心内科)", password=password,
                                        roles=[(Role.doctor, county.id)])
    specialist.totp_secret, specialist.totp_enabled = SPECIALIST_TOTP, True
    patient = Patient(name="刘建国", name_en="Liu Jianguo", sex="male", birth_date=dt.date(1958, 6, 2),
                      national_id="110105195806020017")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=township.id, mrn="QT-004512"))
    session.add(Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=requester.id,
                        facility_id=township.id))
    await session.flush()
    case_id = await arrange_scheduled_case(session, blob_dir, requester.id, specialist.id, patient.id)
    await _cardiology_on_duty_at(session, county, specialist)
    return {"requester": requester.username, "specialist": specialist.username, "specialist_totp": SPECIALIST_TOTP,
            "room_case_id": case_id, "room_patient_name": patient.name, "room_patient_id": patient.id}


async def _cardiology_on_duty_at(session: AsyncSession, county: Facility, specialist: User) -> None:
    """The county hospital offers cardiology consultations and the specialist is rostered around
    the clock this week, so a request routes there and session slots exist at any hour."""
    cardiology = Department(code="cardiology_br", name="心血管内科", name_en="Cardiology")
    session.add(cardiology)
    await session.flush()
    session.add(ServiceOffering(facility_id=county.id, kind="consultation", department_id=cardiology.id,
                                open_to_all=True, active=True))
    profile = Practitioner(user_id=specialist.id, title="chief", specialty_id=cardiology.id,
                           license_no="BR-LIC-0001", languages=["zh"])
    session.add(profile)
    await session.flush()
    session.add(PracticeSite(practitioner_id=profile.id, facility_id=county.id, department_id=cardiology.id))
    start = utcnow().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    session.add_all(RosterShift(practitioner_id=profile.id, facility_id=county.id,
                                starts_at=start + dt.timedelta(days=d), ends_at=start + dt.timedelta(days=d + 1))
                    for d in range(8))
    await session.flush()


async def arrange_scheduled_case(session: AsyncSession, blob_dir: Path, requester_id: int, specialist_id: int,
                                 patient_id: int) -> int:
    """A live consultation in `scheduled`; call again for a fresh one (each test's own session)."""
    doctor = await auth.load_principal(session, await session.get(User, requester_id), via="token")
    expert = await auth.load_principal(session, await session.get(User, specialist_id), via="token")
    bp = await records.add_observation(session, doctor, patient_id, ObservationIn(
        code="8480-6", value=172, unit="mm[Hg]"))
    chest_pain = await records.add_condition(session, doctor, patient_id,
                                             ConditionIn(code="I20.0", display="不稳定型心绞痛"))
    report = await records.add_document(session, doctor, patient_id, blobs=LocalBlobStore(blob_dir), data=ECG_REPORT,
                                        filename="心电图报告.pdf", declared_type="application/pdf", title="心电图报告",
                                        max_bytes=1 << 20)
    case = await consultations.request_consultation(session, doctor, consultations.CaseRequest(
        patient_id=patient_id, question="胸痛两小时，心电图ST段压低，请会诊是否需要转诊介入治疗。", urgency="urgent",
        mode="live", named_expert_id=specialist_id, shared_entry_ids=(bp.id, chest_pain.id, report.id)))
    await consultations.take_action(session, doctor, case.id, "submit")
    for action in ("triage", "accept", "schedule"):
        await consultations.take_action(session, expert, case.id, action)
    return case.id
