"""Test appointments in the demo, made through the real services: the starter catalogue at the demo
county hospital (where demo.facility administers and demo.technician works) and at the community
health centre of that county nearest the showcase patient, so the finder shows the centre's
community discount and what it saves against the hospital; the showcase patient has booked and
paid an abdominal ultrasound at that centre, and demo.doctor has ordered a chest CT she may book."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth import service as auth
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.network.models import Facility, Tier
from carebridge.payments import service as payments
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from carebridge.portal.test_appointments import catalogue, doctor_orders, offers, service, slots
from carebridge.portal.test_appointments.models import CatalogueTest


async def _user(session: AsyncSession, username: str) -> User:
    return await session.scalar(select(User).where(User.username == username))


async def _demo_county(session: AsyncSession) -> Facility:
    admin = await _user(session, "demo.facility")
    return await session.scalar(select(Facility).join(RoleAssignment, RoleAssignment.facility_id == Facility.id)
                                .where(RoleAssignment.user_id == admin.id,
                                       RoleAssignment.role == Role.facility_admin.value))


async def _nearest_centre(session: AsyncSession, county: Facility, patient_id: int) -> Facility:
    centres = list((await session.scalars(select(Facility).where(
        Facility.tier == Tier.community_center.value, Facility.county_code == county.county_code)
        .order_by(Facility.code))).all())
    home = await offers.home_facility(session, patient_id) or county
    return min(centres, key=lambda c: offers.km_between(home.latitude, home.longitude, c.latitude, c.longitude) or 0)


async def _book_and_pay(session: AsyncSession, patient: User, test: CatalogueTest) -> None:
    principal = await auth.load_principal(session, patient, via="session")
    days_ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    slot = next(s for s in await slots.open_slots(session, test) if s.free and s.starts_at > days_ahead)
    booking = await service.book_test(session, principal, service.BookingInput(
        patient.patient_id, test.id, slot.starts_at, note="体检发现转氨酶偏高", consent_remote_reading=True))
    checkout = await payments.start_payment(session, principal, booking.charge_id)
    body = await PROVIDERS["demo"].settle(session, checkout.reference)  # the demo provider's "confirm"
    await payments.receive_notice(session, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)


async def write_test_appointments(session: AsyncSession, patient_id: int) -> None:
    county = await _demo_county(session)
    centre = await _nearest_centre(session, county, patient_id)
    for facility in (county, centre):
        await catalogue.load_starter(session, None, facility)
    patient = await session.scalar(select(User).where(User.patient_id == patient_id, User.username == "demo.patient"))
    ultrasound = next(t for t in await catalogue.list_tests(session, centre.id) if t.code == "US-ABDOMEN")
    await _book_and_pay(session, patient, ultrasound)
    doctor = await auth.load_principal(session, await _user(session, "demo.doctor"), via="session")
    await doctor_orders.order_test(session, doctor, patient_id=patient_id, code="CT-CHEST",
                                   reason="咳嗽三周，胸片示右下肺斑片影，进一步检查")
