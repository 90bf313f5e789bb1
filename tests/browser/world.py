"""The people and records the browser tests start from, arranged through the services."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.auth.models import Role, User
from carebridge.network.models import Facility, FacilityLink, Tier
from carebridge.records.models import Patient, PatientRegistration
from tests.browser.consultation_world import arrange_consultation_world
from tests.browser.ecg_world import arrange_ecg_world
from tests.browser.pathology_world import arrange_pathology_world

PASSWORD = "browser-test-password"
TOTP_SECRET = pyotp.random_base32()


async def arrange_browser_world(session: AsyncSession, blob_dir: Path) -> dict:
    county = Facility(code="BR-COUNTY", name="青山县人民医院", name_en="Qingshan County People's Hospital",
                      tier=Tier.county_hospital.value, require_mfa=True)
    township = Facility(code="BR-TOWN", name="青山镇卫生院", name_en="Qingshan Township Health Center",
                        tier=Tier.township_center.value)
    session.add_all([county, township])
    await session.flush()
    session.add(FacilityLink(facility_id=township.id, hub_id=county.id))
    doctor = await auth.create_user(session, username="dr.chen", display_name="陈明", password=PASSWORD,
                                    roles=[(Role.doctor, county.id)])
    doctor.totp_secret, doctor.totp_enabled = TOTP_SECRET, True
    patient = Patient(name="王秀英", name_en="Wang Xiuying", sex="female", birth_date=dt.date(1952, 3, 8),
                      national_id="110105195203081226", phone="13800138000")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=county.id, mrn="QS-000123"))
    session.add(Consent(patient_id=patient.id, status="granted", recorded_by_id=doctor.id, facility_id=county.id))
    patient_user: User = await auth.create_user(
        session, username="wang.xiuying", display_name="王秀英", password=PASSWORD,
        roles=[(Role.patient, county.id)], patient_id=patient.id)
    await session.flush()
    consultation = await arrange_consultation_world(session, blob_dir, PASSWORD)
    consultation |= await arrange_ecg_world(session, blob_dir, PASSWORD)
    pathology = await arrange_pathology_world(session, PASSWORD)
    return {**consultation, **pathology, "password": PASSWORD, "totp_secret": TOTP_SECRET, "doctor": doctor.username,
            "patient_user": patient_user.username, "patient_id": patient.id, "patient_name": patient.name,
            "county_id": county.id}
