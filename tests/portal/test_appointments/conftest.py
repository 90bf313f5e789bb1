"""A small county network for test appointments: a community centre 2 km from the patient's home
clinic and a county hospital 15 km away both list the starter catalogue; a city hospital reads
imaging and ECG for the network. The patient (with a login) is registered at the village clinic
and has not consented to sharing yet; another patient has their own login."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from carebridge.auth.models import Role, User
from carebridge.kit import clock
from carebridge.network.models import Facility, ServiceKind, ServiceOffering, Tier
from carebridge.portal.test_appointments import catalogue, slots
from carebridge.portal.test_appointments.models import CatalogueTest
from carebridge.records.models import Patient

HOME = (34.7500, 113.6500)


@dataclass
class TestNet:
    __test__ = False  # not a test class

    village: Facility
    community: Facility
    county: Facility
    hub: Facility
    patient: Patient
    patient_user: User
    other_patient: Patient
    other_user: User
    community_tech: User
    community_nurse: User
    community_admin: User
    county_admin: User
    county_doctor: User
    hub_reader: User
    outsider: User

    async def test_at(self, db, facility: Facility, code: str) -> CatalogueTest:  # noqa: ANN001
        return next(t for t in await catalogue.list_tests(db, facility.id) if t.code == code)

    async def first_slot(self, db, test: CatalogueTest, skip: int = 0) -> slots.Slot:  # noqa: ANN001
        """A free block from tomorrow on, well before the cancel cut-off."""
        tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        return [s for s in await slots.open_slots(db, test) if s.free and s.starts_at > tomorrow][skip]


async def build_test_net(world, db) -> TestNet:  # noqa: ANN001
    village = await world.facility(tier=Tier.village_clinic, latitude=HOME[0], longitude=HOME[1])
    community = await world.facility(tier=Tier.community_center, latitude=34.7680, longitude=HOME[1])
    county = await world.facility(tier=Tier.county_hospital, latitude=34.8850, longitude=HOME[1])
    hub = await world.facility(tier=Tier.city_hospital, latitude=35.2, longitude=113.9)
    elsewhere = await world.facility(tier=Tier.county_hospital)
    db.add_all(ServiceOffering(facility_id=hub.id, kind=k.value, open_to_all=True, active=True)
               for k in (ServiceKind.imaging_reading, ServiceKind.ecg_reading))
    await db.flush()
    for facility in (community, county):
        await catalogue.load_starter(db, None, facility)
    patient = await world.patient(village)
    other = await world.patient(village)
    net = TestNet(
        village=village, community=community, county=county, hub=hub, patient=patient,
        patient_user=await world.user((Role.patient, village.id), patient_id=patient.id),
        other_patient=other, other_user=await world.user((Role.patient, village.id), patient_id=other.id),
        community_tech=await world.user((Role.technician, community.id)),
        community_nurse=await world.user((Role.nurse, community.id)),
        community_admin=await world.user((Role.facility_admin, community.id)),
        county_admin=await world.user((Role.facility_admin, county.id)),
        county_doctor=await world.user((Role.doctor, county.id)),
        hub_reader=await world.user((Role.doctor, hub.id)),
        outsider=await world.user((Role.technician, elsewhere.id)))
    return net


@pytest.fixture
async def net(world, db) -> TestNet:  # noqa: ANN001
    return await build_test_net(world, db)


def at_local(day: dt.date, hhmm: str) -> dt.datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=clock.local_zone()).astimezone(dt.UTC)


async def pay(world, user: User, booking_id: int) -> None:  # noqa: ANN001
    """The patient pays the booking's charge at the demo provider, which then sends its signed notice."""
    from carebridge.payments import service as payments
    from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
    from carebridge.portal.test_appointments.models import Booking

    booking = await world.db.get(Booking, booking_id, populate_existing=True)
    checkout = await payments.start_payment(world.db, await world.principal(user), booking.charge_id)
    body = await PROVIDERS["demo"].settle(world.db, checkout.reference)
    await payments.receive_notice(world.db, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)
    await world.db.refresh(booking)


async def book_and_pay(world, user: User, data):  # noqa: ANN001, ANN201
    from carebridge.portal.test_appointments import service

    booking = await service.book_test(world.db, await world.principal(user), data)
    await pay(world, user, booking.id)
    return booking
