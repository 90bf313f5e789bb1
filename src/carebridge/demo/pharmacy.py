"""The pharmacy in the demo, made through the real services so every page works on it. The
showcase patient (hypertension, type 2 diabetes, high cholesterol, coronary disease; penicillin
allergy) has, from demo.doctor at the township centre, reviewed by demo.pharmacist at the county
hospital above it:
- a long-term prescription (amlodipine, metformin, atorvastatin; 12 weeks' validity, two refills),
  approved and dispensed, with a refill request from the patient waiting for demo.doctor;
- a long-term aspirin prescription, approved and dispensed, that the patient can still ask to refill;
- an acute prescription (clarithromycin and ibuprofen for a chest infection and knee pain) waiting in
  demo.pharmacist's review queue, where the checks flag clarithromycin with atorvastatin and
  ibuprofen with low-dose aspirin."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth import service as auth
from carebridge.auth.models import User
from carebridge.auth.principal import Principal
from carebridge.portal.pharmacy import catalogue, dispensing, refills, service
from carebridge.portal.pharmacy.service import ItemInput, PrescriptionInput

LONG_TERM = PrescriptionInput(
    patient_id=0, kind="chronic", diagnosis="高血压；2型糖尿病；高脂血症", refills_allowed=2, valid_days=84,
    note="慢病长期处方，每月续方", items=(
        ItemInput("amlodipine-5mg-tab", 5, "qd", 28, instructions="每日早晨服用"),
        ItemInput("metformin-500mg-tab", 500, "tid", 28, instructions="随餐服用"),
        ItemInput("atorvastatin-20mg-tab", 20, "qn", 28, instructions="睡前服用")))
ASPIRIN = PrescriptionInput(
    patient_id=0, kind="chronic", diagnosis="冠状动脉粥样硬化性心脏病", refills_allowed=3, valid_days=84,
    items=(ItemInput("aspirin-ec-100mg-tab", 100, "qd", 30, instructions="早餐前服用"),))
ACUTE = PrescriptionInput(
    patient_id=0, kind="acute", diagnosis="急性支气管炎；膝骨关节炎", note="患者咳嗽一周，膝痛加重",
    items=(ItemInput("clarithromycin-250mg-tab", 500, "bid", 7),
           ItemInput("ibuprofen-sr-300mg-cap", 300, "bid", 5, instructions="饭后服用")))


async def _principal(session: AsyncSession, username: str) -> Principal:
    user = await session.scalar(select(User).where(User.username == username))
    return await auth.load_principal(session, user, via="session")


async def _written(session: AsyncSession, doctor: Principal, data: PrescriptionInput, patient_id: int):  # noqa: ANN202
    return await service.write_prescription(session, doctor, PrescriptionInput(**{**vars(data),
                                                                                 "patient_id": patient_id}))


async def write_pharmacy(session: AsyncSession, patient_id: int) -> None:
    await catalogue.ensure_catalogue(session)
    doctor, pharmacist = await _principal(session, "demo.doctor"), await _principal(session, "demo.pharmacist")
    patient = await session.scalar(select(User).where(User.username == "demo.patient"))
    patient_principal = await auth.load_principal(session, patient, via="session")
    for data in (LONG_TERM, ASPIRIN):
        prescription = await _written(session, doctor, data, patient_id)
        await service.review(session, pharmacist, prescription.id, "approve")
        await dispensing.mark_dispensed(session, prescription.id)
        if data is LONG_TERM:
            await refills.request_refill(session, patient_principal, prescription.id, "药快吃完了，请帮我续方")
    await _written(session, doctor, ACUTE, patient_id)
