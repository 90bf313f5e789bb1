"""A small home-nursing world: a community centre with a catalogue, three nurses, a coordinator and
a doctor; another facility with its own coordinator; an elderly patient who can sign in, a younger
one, and a visit window two days ahead that the nurses' rosters cover."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.kit.clock import today_local
from carebridge.network.models import Facility, PracticeSite, Practitioner, RosterShift, Tier
from carebridge.portal.home_nursing import catalogue, nurses
from carebridge.portal.home_nursing.geo import window_bounds
from carebridge.portal.home_nursing.models import NursingService
from carebridge.records.models import Patient
from tests.factories import World

_seq = itertools.count(1)
FACILITY_AT = (36.1950, 113.1170)
PATIENT_AT = (36.2000, 113.1200)  # about 600 m from the centre
NEAR_BASE = (36.1970, 113.1180)
FAR_BASE = (36.2500, 113.2000)  # about 9.6 km from the patient


@dataclass
class Scene:
    world: World
    facility: Facility
    other_facility: Facility
    coordinator: User
    other_coordinator: User
    doctor: User
    nurse_a: User  # assessor, wound and IV credentials, 10 years, near
    nurse_b: User  # wound credential, 3 years, far
    nurse_c: User  # no credentials
    other_nurse: User  # at the other facility
    practitioner: dict[str, int]
    patient: Patient  # 76 years old, signs in as patient_user
    patient_user: User
    young: Patient  # 40, signs in as young_user
    young_user: User
    day: dt.date
    services: dict[str, NursingService]

    async def p(self, user: User) -> Principal:
        return await self.world.principal(user)

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        return window_bounds(self.day, "afternoon")


async def _nurse(world: World, db, facility: Facility, day: dt.date, name: str) -> tuple[User, int]:  # noqa: ANN001
    n = next(_seq)
    user = await world.user((Role.nurse, facility.id), username=f"hn_{name}_{n}")
    practitioner = Practitioner(user_id=user.id, title="attending", license_no=f"HN{n:04d}{user.id:06d}",
                                languages=["zh"])
    db.add(practitioner)
    await db.flush()
    db.add(PracticeSite(practitioner_id=practitioner.id, facility_id=facility.id))
    start, end = window_bounds(day, "afternoon")
    db.add(RosterShift(practitioner_id=practitioner.id, facility_id=facility.id,
                       starts_at=start - dt.timedelta(hours=1), ends_at=end + dt.timedelta(hours=1)))
    await db.flush()
    return user, practitioner.id


async def build_scene(world: World, db) -> Scene:  # noqa: ANN001
    facility = await world.facility(tier=Tier.community_center, latitude=FACILITY_AT[0], longitude=FACILITY_AT[1])
    other = await world.facility(tier=Tier.community_center, latitude=FACILITY_AT[0], longitude=FACILITY_AT[1])
    coordinator = await world.user((Role.facility_admin, facility.id))
    other_coordinator = await world.user((Role.facility_admin, other.id))
    doctor = await world.user((Role.doctor, facility.id))
    day = today_local() + dt.timedelta(days=2)
    a, pa = await _nurse(world, db, facility, day, "a")
    b, pb = await _nurse(world, db, facility, day, "b")
    c, pc = await _nurse(world, db, facility, day, "c")
    o, po = await _nurse(world, db, other, day, "o")
    admin = await world.principal(coordinator)
    today = today_local()
    for pid, since, base in ((pa, 10, NEAR_BASE), (pb, 3, FAR_BASE), (pc, 5, NEAR_BASE)):
        await nurses.set_profile(db, admin, pid, nurses.ProfileInput(
            license_valid_until=today + dt.timedelta(days=400), practising_since=today.replace(year=today.year - since),
            base_label="社区卫生服务中心", base_latitude=base[0], base_longitude=base[1]))
    for credential in ("assessor", "wound", "iv_therapy"):
        await nurses.set_credential(db, admin, pa, credential, certificate_no=f"C-{credential}")
    await nurses.set_credential(db, admin, pb, "wound")
    other_admin = await world.principal(other_coordinator)
    await nurses.set_profile(db, other_admin, po, nurses.ProfileInput(
        license_valid_until=today + dt.timedelta(days=400), practising_since=today.replace(year=today.year - 8),
        base_latitude=NEAR_BASE[0], base_longitude=NEAR_BASE[1]))
    await nurses.set_credential(db, other_admin, po, "wound")
    services = {s.code: s for s in await catalogue.install_starter(db, admin, facility.id)}
    await catalogue.install_starter(db, other_admin, other.id)
    patient = await world.patient(facility, birth_date=today.replace(year=today.year - 76, day=1),
                                  address="长治市潞州区英雄中路88号3单元201")
    young = await world.patient(facility, birth_date=today.replace(year=today.year - 40, day=1))
    patient_user = await world.user((Role.patient, facility.id), patient_id=patient.id)
    young_user = await world.user((Role.patient, facility.id), patient_id=young.id)
    for user in (coordinator, other_coordinator, doctor, a, b, c, o, patient_user, young_user):
        user.locale = "en"  # notifications are written in each reader's language; the tests read English
    await db.flush()
    return Scene(world, facility, other, coordinator, other_coordinator, doctor, a, b, c, o,
                 {"a": pa, "b": pb, "c": pc, "o": po}, patient, patient_user, young, young_user, day, services)
