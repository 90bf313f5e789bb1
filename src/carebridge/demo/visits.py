"""Online follow-up visits in the demo, made through the real services: demo.cardiologist publishes
video visits on weekday afternoons and text visits on Saturday mornings for the next two weeks, and
the demo patient (whose hypertension was diagnosed in person at the township centre) has booked and
paid the first free video visit. Times run from the day the demo is loaded: slots are in the future."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.service import access_patient
from carebridge.auth import service as auth
from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.kit.clock import utcnow
from carebridge.payments import service as payments
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from carebridge.portal.visits import eligibility, service, slots
from carebridge.portal.visits import paid as _paid  # noqa: F401 - confirms the demo booking when it is paid

DOCTOR, PATIENT = "demo.cardiologist", "demo.patient"
VIDEO_FEN, TEXT_FEN = 2500, 1500


async def _principal(session: AsyncSession, username: str) -> Principal:
    user = await session.scalar(select(User).where(User.username == username))
    return await auth.load_principal(session, user, via="session")


async def _publish(session: AsyncSession, doctor: Principal) -> None:
    facility = min(doctor.facilities_with(Role.doctor))
    first = slots.local_day(utcnow()) + dt.timedelta(days=1)
    last = first + dt.timedelta(days=13)
    common = {"facility_id": facility, "first_day": first, "last_day": last, "cancel_cutoff_hours": 4}
    await slots.publish_series(session, doctor, slots.SeriesInput(
        **common, weekdays=(1, 2, 3, 4, 5), start="14:00", end="17:00", visit_minutes=15, buffer_minutes=5,
        daily_max=6, mode="video", price_fen=VIDEO_FEN))
    await slots.publish_series(session, doctor, slots.SeriesInput(
        **common, weekdays=(6,), start="09:00", end="11:00", visit_minutes=10, buffer_minutes=0,
        daily_max=8, mode="text", price_fen=TEXT_FEN))


async def _pay(session: AsyncSession, patient: Principal, charge_id: int) -> None:
    """As the patient does it: checkout at the (demo) provider, which then sends its signed notice."""
    checkout = await payments.start_payment(session, patient, charge_id)
    body = await PROVIDERS["demo"].settle(session, checkout.reference)
    await payments.receive_notice(session, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)


async def write_visits(session: AsyncSession, patient_id: int) -> None:
    doctor, patient = await _principal(session, DOCTOR), await _principal(session, PATIENT)
    await _publish(session, doctor)
    access = await access_patient(session, patient, patient_id, action="visit_demo")
    hypertension = next(c for c in await eligibility.conditions_to_follow_up(session, access)
                        if c.eligible and c.code == "I10")
    first_video = next(s for s in await slots.open_slots(session, doctor.user_id) if s.mode == "video")
    visit = await service.book_visit(session, patient, service.BookingInput(
        patient_id, first_video.id, hypertension.condition_id, "最近早上血压 150/95 左右，偶有头晕，想调整用药。"))
    await _pay(session, patient, visit.charge_id)
