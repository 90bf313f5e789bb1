"""Home nursing in the demo, at the township centre where the demo patient is registered and the demo
nurse works, made through the real services:
- the centre's catalogue (the starter services) and a coordinator, demo.coordinator (护士长);
- two nurses with credentials and base positions: demo.nurse (assessor, wound, catheter, stoma, IV,
  PICC; 12 years) and demo.nurse2 (wound, maternal-newborn; 4 years), both on the centre's roster;
- demo.doctor's home-nursing order for the demo patient (63, so eligible on the order, not by age);
- a wound dressing done ten days ago, paid, recorded into the record and rated five stars, and one
  booked for the next working morning, assessed, paid and accepted by demo.nurse, ready to check in.
The finished visit is made with a future window like any booking and then moved back in time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth import service as auth
from carebridge.auth.models import Role, User
from carebridge.kit.clock import today_local
from carebridge.network.models import Facility, PracticeSite, Practitioner, RosterShift
from carebridge.payments import service as payments
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from carebridge.portal.home_nursing import (
    assessment,
    booking,
    catalogue,
    dispatch,
    doctor_orders,
    feedback,
    nurses,
    paying,  # noqa: F401 - the on_paid handler, as the app registers it
    visit,
)
from carebridge.portal.home_nursing.models import (
    NursingAssessment,
    NursingEvent,
    NursingOffer,
    NursingOrder,
    NursingService,
    NursingVisitRecord,
)
from carebridge.records.models import Patient, PatientRegistration, RecordEntry

COORDINATOR, SECOND_NURSE = "demo.coordinator", "demo.nurse2"
PIN_OFFSET = (0.0042, 0.0031)  # the patient's home, about 550 m from the centre
DONE_DAYS_AGO = 10


async def _principal(session: AsyncSession, username: str):  # noqa: ANN202
    user = await session.scalar(select(User).where(User.username == username))
    return await auth.load_principal(session, user, via="session")


async def _staff(session: AsyncSession, town_id: int, password_hash: str) -> int:
    """The coordinator and a second nurse at the centre, who works demo.nurse's roster there."""
    await auth.create_user(session, username=COORDINATOR, display_name="王秀英（护士长）", password=None,
                           password_hash=password_hash, roles=[(Role.facility_admin, town_id)])
    second = await auth.create_user(session, username=SECOND_NURSE, display_name="刘静", password=None,
                                    password_hash=password_hash, roles=[(Role.nurse, town_id)])
    practitioner = Practitioner(user_id=second.id, title="resident", license_no=f"2DEMO{second.id:08d}",
                                languages=["zh"])
    session.add(practitioner)
    await session.flush()
    session.add(PracticeSite(practitioner_id=practitioner.id, facility_id=town_id))
    first = await session.scalar(select(Practitioner.id).join(User, User.id == Practitioner.user_id)
                                 .where(User.username == "demo.nurse"))
    for shift in (await session.scalars(select(RosterShift).where(RosterShift.practitioner_id == first,
                                                                  RosterShift.facility_id == town_id))).all():
        session.add(RosterShift(practitioner_id=practitioner.id, facility_id=town_id, starts_at=shift.starts_at,
                                ends_at=shift.ends_at))
    await session.flush()
    return first


async def _credentials(session: AsyncSession, coordinator, town, first: int) -> None:  # noqa: ANN001
    second = await session.scalar(select(Practitioner.id).join(User, User.id == Practitioner.user_id)
                                  .where(User.username == SECOND_NURSE))
    today = today_local()
    lat, lon = town.latitude, town.longitude
    for pid, years, base in ((first, 12, (lat + 0.0010, lon - 0.0012)), (second, 4, (lat - 0.0150, lon + 0.0210))):
        await nurses.set_profile(session, coordinator, pid, nurses.ProfileInput(
            license_valid_until=today + dt.timedelta(days=3 * 365),
            practising_since=today.replace(year=today.year - years, day=1), base_label=town.name,
            base_latitude=base[0], base_longitude=base[1]))
    for code in ("assessor", "wound", "catheter", "stoma", "iv_therapy", "picc"):
        await nurses.set_credential(session, coordinator, first, code, certificate_no=f"SX-{code.upper()}-0{first}")
    for code in ("wound", "maternal_newborn"):
        await nurses.set_credential(session, coordinator, second, code, certificate_no=f"SX-{code.upper()}-0{second}")


def _next_working_day(today: dt.date) -> dt.date:
    day = today + dt.timedelta(days=1)
    return day + dt.timedelta(days=1) if day.weekday() == 6 else day  # the centre's roster has no Sundays


async def _pay(session: AsyncSession, patient, order: NursingOrder) -> None:  # noqa: ANN001
    checkout = await payments.start_payment(session, patient, order.charge_id)
    body = await PROVIDERS["demo"].settle(session, checkout.reference)
    await payments.receive_notice(session, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)
    await session.refresh(order)


async def _visit_to_acceptance(session: AsyncSession, people: dict, service: NursingService, pin: tuple,
                               day: dt.date, window: str, nurse_id: int) -> NursingOrder:
    order = await booking.book(session, people["patient"], booking.BookingInput(
        patient_id=people["patient"].patient_id, service_id=service.id, address=people["address"],
        latitude=pin[0], longitude=pin[1], day=day, window=window, contact_phone="13800138000",
        notes="糖尿病足，右足背伤口；家住一楼"))
    await assessment.assess(session, people["nurse"], order.id, assessment.AssessmentInput(
        fall_risk="medium", infection_risk="medium", home_environment="suitable", outcome="accept",
        allergies="青霉素", home_notes="老伴在家陪护，室内整洁", limits={"systolic_max": 170}))
    await _pay(session, people["patient"], order)
    await dispatch.dispatch(session, people["coordinator"], order.id, [nurse_id])
    return await dispatch.accept(session, people["nurse"], order.id)


async def _finish(session: AsyncSession, people: dict, order: NursingOrder, pin: tuple) -> None:
    nurse = people["nurse"]
    await visit.depart(session, nurse, order.id)
    await visit.check_in(session, nurse, order.id, visit.Position(pin[0] + 0.0002, pin[1] - 0.0001, 15))
    await visit.save_record(session, nurse, order.id, visit.RecordInput(
        procedures=["Wound assessed", "Wound cleaned", "Dressing applied", "Vital signs measured"],
        vitals={"systolic": 146, "diastolic": 84, "heart_rate": 76, "temperature": 36.6},
        notes="伤口约2×1.5厘米，肉芽新鲜，渗液少，无异味。嘱抬高患肢，控制血糖，三天后复诊换药。"))
    await visit.check_out(session, nurse, order.id, visit.Position(pin[0] + 0.0001, pin[1], 12))
    await feedback.rate(session, people["patient"], order.id, 5, "护士很细心，讲得清楚，不用再跑医院了")


def _shift(row: object, columns: tuple[str, ...], delta: dt.timedelta) -> None:
    for column in columns:
        value = getattr(row, column)
        if value is not None:
            setattr(row, column, value - delta)


async def _move_back(session: AsyncSession, order: NursingOrder, delta: dt.timedelta) -> None:
    """The finished visit happened `delta` ago: its times, its timeline and what it filed in the record.
    (Moved in Python: date arithmetic in SQL differs between SQLite and PostgreSQL.)"""
    _shift(order, ("window_start", "window_end", "created_at", "updated_at", "paid_at", "checked_in_at",
                   "checked_out_at", "rated_at", "ended_at"), delta)
    for model, columns in ((NursingEvent, ("at",)), (NursingOffer, ("created_at", "expires_at", "decided_at")),
                           (NursingAssessment, ("created_at",)), (NursingVisitRecord, ("updated_at",))):
        for row in (await session.scalars(select(model).where(model.order_id == order.id))).all():
            _shift(row, columns, delta)
    record = await session.scalar(select(NursingVisitRecord).where(NursingVisitRecord.order_id == order.id))
    for entry in (await session.scalars(select(RecordEntry).where(RecordEntry.id.in_(record.filed_entry_ids)))).all():
        _shift(entry, ("occurred_at", "recorded_at"), delta)
    await session.flush()


async def write_home_nursing(session: AsyncSession, patient_id: int) -> None:
    patient = await session.get(Patient, patient_id)
    town_id = await session.scalar(select(PatientRegistration.facility_id).where(
        PatientRegistration.patient_id == patient_id).order_by(PatientRegistration.id).limit(1))
    town = await session.get(Facility, town_id)
    nurse_user = await session.scalar(select(User).where(User.username == "demo.nurse"))
    first = await _staff(session, town.id, nurse_user.password_hash)
    coordinator = await _principal(session, COORDINATOR)
    await _credentials(session, coordinator, town, first)
    services = {s.code: s for s in await catalogue.install_starter(session, coordinator, town.id)}
    await doctor_orders.create_doctor_order(session, await _principal(session, "demo.doctor"), patient_id,
                                            reason="2型糖尿病足溃疡（右足背），需上门换药", valid_days=60)
    people = {"patient": await _principal(session, "demo.patient"), "nurse": await _principal(session, "demo.nurse"),
              "coordinator": coordinator, "address": patient.address or f"{town.name}附近"}
    pin = (town.latitude + PIN_OFFSET[0], town.longitude + PIN_OFFSET[1])
    day = _next_working_day(today_local())
    done = await _visit_to_acceptance(session, people, services["wound_dressing"], pin, day, "afternoon", first)
    await _finish(session, people, done, pin)
    await _move_back(session, done, dt.timedelta(days=DONE_DAYS_AGO))
    await _visit_to_acceptance(session, people, services["wound_dressing"], pin, day, "morning", first)
