"""The online visit journey's world: a patient whose hypertension was diagnosed in person at the
township centre, and a county cardiologist who has published video follow-up visits. Arranged
through the real services. A second doctor offers free text visits. Each doctor's earliest slot is moved
to start within the next half hour, so the patient can enter its waiting room during the test (the
waiting room opens 30 minutes before); the two do not overlap."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.kit.clock import utcnow
from carebridge.network.models import Department, Facility, Practitioner, Tier
from carebridge.portal.visits import slots
from carebridge.portal.visits.models import VisitSlot
from carebridge.records import entries
from carebridge.records.models import Patient, PatientRegistration
from carebridge.records.schemas import ConditionIn, EncounterClass, EncounterIn

PASSWORD = "visit-journey-password"
PRICE_FEN = 2000


async def _diagnosed_in_person(session: AsyncSession, township: Facility, patient: Patient) -> None:
    gp = await auth.create_user(session, username="dr.wu", display_name="吴医生 (乡镇)", password=PASSWORD,
                                roles=[(Role.doctor, township.id)])
    by = await auth.load_principal(session, gp, via="session")
    when = utcnow() - dt.timedelta(days=60)
    clinic = await entries.add_encounter(session, by, patient.id, EncounterIn(
        encounter_class=EncounterClass.outpatient, reason="头晕、血压高", occurred_at=when))
    await entries.add_condition(session, by, patient.id, ConditionIn(
        code="I10", display="原发性高血压", encounter_id=clinic.id, occurred_at=when))
    # Diabetes was first diagnosed in a teleconsultation: not something an online visit may follow up.
    remote = await entries.add_encounter(session, by, patient.id, EncounterIn(
        encounter_class=EncounterClass.teleconsultation, reason="远程会诊", occurred_at=when))
    await entries.add_condition(session, by, patient.id, ConditionIn(
        code="E11.9", display="2型糖尿病", encounter_id=remote.id, occurred_at=when))


async def arrange_visit_world(session: AsyncSession, _blob_dir: Path) -> dict:
    county = Facility(code="VJ-COUNTY", name="青山县人民医院", name_en="Qingshan County People's Hospital",
                      tier=Tier.county_hospital.value)
    township = Facility(code="VJ-TOWN", name="青山镇卫生院", name_en="Qingshan Township Health Center",
                        tier=Tier.township_center.value)
    cardiology = Department(code="cardiology_vj", name="心血管内科", name_en="Cardiology")
    session.add_all([county, township, cardiology])
    await session.flush()
    doctor = await auth.create_user(session, username="dr.sun", display_name="孙伟", password=PASSWORD,
                                    roles=[(Role.doctor, county.id)])
    session.add(Practitioner(user_id=doctor.id, title="attending", specialty_id=cardiology.id,
                             license_no="VJ-110000001", languages=["zh"]))
    patient = Patient(name="王秀英", name_en="Wang Xiuying", sex="female", birth_date=dt.date(1952, 3, 8),
                      national_id="110105195203081226", phone="13800138000")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=township.id, mrn="QS-000123"))
    patient_user = await auth.create_user(session, username="wang.xiuying", display_name="王秀英", password=PASSWORD,
                                          roles=[(Role.patient, township.id)], patient_id=patient.id)
    await session.flush()
    text_doctor = await auth.create_user(session, username="dr.qian", display_name="钱芳", password=PASSWORD,
                                         roles=[(Role.doctor, county.id)])
    await _diagnosed_in_person(session, township, patient)
    await _publish(session, doctor, county.id, mode="video", price_fen=PRICE_FEN, soonest_in=10)
    await _publish(session, text_doctor, county.id, mode="text", price_fen=0, soonest_in=27)
    return {"doctor": doctor.username, "doctor_name": doctor.display_name, "patient_user": patient_user.username,
            "text_doctor": text_doctor.username, "text_doctor_name": text_doctor.display_name,
            "patient_id": patient.id, "patient_name": patient.name, "password": PASSWORD}


async def _publish(session: AsyncSession, doctor, county_id: int, *, mode: str, price_fen: int,  # noqa: ANN001
                   soonest_in: int) -> None:
    """A week of afternoon slots; the earliest moved to start `soonest_in` minutes from now."""
    principal = await auth.load_principal(session, doctor, via="session")
    day = slots.local_day(utcnow()) + dt.timedelta(days=1)
    series, _ = await slots.publish_series(session, principal, slots.SeriesInput(
        facility_id=county_id, first_day=day, last_day=day + dt.timedelta(days=6), weekdays=tuple(range(1, 8)),
        start="14:00", end="16:00", visit_minutes=15, buffer_minutes=5, daily_max=4, cancel_cutoff_hours=2,
        mode=mode, price_fen=price_fen))
    soonest = await session.scalar(select(VisitSlot.id).where(VisitSlot.series_id == series.id)
                                   .order_by(VisitSlot.starts_at).limit(1))
    starts = utcnow() + dt.timedelta(minutes=soonest_in)
    await session.execute(update(VisitSlot).where(VisitSlot.id == soonest).values(
        starts_at=starts, ends_at=starts + dt.timedelta(minutes=15)))
