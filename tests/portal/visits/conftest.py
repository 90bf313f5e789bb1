"""A small network for online visits: the patient's hypertension was diagnosed in person at a
township centre; a county hospital's cardiologist publishes video follow-up slots for tomorrow;
a second doctor at the same hospital, a doctor elsewhere and a second patient try what they must not.

The patient's record holds one condition for every branch of the follow-up rule."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import pytest
from sqlalchemy import update

from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.kit.clock import utcnow
from carebridge.network.models import Department, Facility, Tier
from carebridge.portal.visits import paid as _paid  # noqa: F401 - the on_paid handler, registered as the app's routes do
from carebridge.portal.visits import slots
from carebridge.portal.visits.models import Visit, VisitSlot
from carebridge.records import entries
from carebridge.records.models import Patient
from carebridge.records.schemas import ConditionIn, EncounterClass, EncounterIn

_seq = itertools.count(1)


@dataclass
class Net:
    township: Facility
    county: Facility
    elsewhere: Facility
    department: Department
    patient: Patient
    other_patient: Patient
    patient_user: User
    other_patient_user: User
    township_doctor: User
    doctor: User  # publishes the slots
    colleague: User  # another doctor at the same county hospital
    outsider: User  # a doctor elsewhere
    conditions: dict[str, int] = field(default_factory=dict)  # branch of the rule -> condition id
    other_condition: int = 0  # the second patient's eligible condition


def tomorrow() -> dt.date:
    return slots.local_day(utcnow()) + dt.timedelta(days=1)


def series_input(net: Net, **kw) -> slots.SeriesInput:
    day = kw.pop("day", tomorrow())
    values = {"facility_id": net.county.id, "first_day": day, "last_day": day, "weekdays": (day.isoweekday(),),
              "start": "09:00", "end": "10:00", "visit_minutes": 20, "buffer_minutes": 10, "daily_max": 2,
              "cancel_cutoff_hours": 2, "mode": "video", "price_fen": 0}
    return slots.SeriesInput(**{**values, **kw})


async def _condition(world, principal: Principal, patient: Patient, code: str, *,  # noqa: ANN001
                     encounter: str | None, **kw) -> int:
    encounter_id = None
    when = utcnow() - dt.timedelta(days=90)
    if encounter:
        found = await entries.add_encounter(world.db, principal, patient.id, EncounterIn(
            encounter_class=EncounterClass(encounter), reason="门诊", occurred_at=when))
        encounter_id = found.id
    condition = await entries.add_condition(world.db, principal, patient.id, ConditionIn(
        code=code, encounter_id=encounter_id, occurred_at=when, **kw))
    return condition.id


async def build_net(world) -> Net:  # noqa: ANN001
    n = next(_seq)
    department = Department(code=f"cardio_visits_{n}", name="心血管内科", name_en="Cardiology")
    world.db.add(department)
    township = await world.facility(tier=Tier.township_center)
    county = await world.facility(tier=Tier.county_hospital)
    elsewhere = await world.facility(tier=Tier.county_hospital)
    patient = await world.patient(township, name="张桂兰")
    other_patient = await world.patient(township, name="李建国")
    township_doctor = await world.user((Role.doctor, township.id))
    net = Net(township, county, elsewhere, department, patient, other_patient,
              patient_user=await world.user((Role.patient, township.id), patient_id=patient.id),
              other_patient_user=await world.user((Role.patient, township.id), patient_id=other_patient.id),
              township_doctor=township_doctor, doctor=await world.user((Role.doctor, county.id)),
              colleague=await world.user((Role.doctor, county.id)),
              outsider=await world.user((Role.doctor, elsewhere.id)))
    # Notices are written in each recipient's language; these people chose English, so the tests read
    # the English texts (the Chinese ones are the catalogue's business, checked by tests/web/test_i18n.py).
    for user in (net.patient_user, net.other_patient_user, net.doctor, net.colleague, net.outsider, township_doctor):
        user.locale = "en"
    await world.db.flush()
    by = await world.principal(township_doctor)
    net.conditions = {
        "eligible": await _condition(world, by, patient, "I10", encounter="outpatient", display="高血压"),
        "diagnosed_online": await _condition(world, by, patient, "E11", encounter="teleconsultation"),
        "not_active": await _condition(world, by, patient, "J20", encounter="outpatient", clinical_status="resolved"),
        "not_confirmed": await _condition(world, by, patient, "K29", encounter="outpatient",
                                          verification_status="provisional"),
        "no_in_person_visit": await _condition(world, by, patient, "M54", encounter=None),
    }
    net.other_condition = await _condition(world, by, other_patient, "I10", encounter="inpatient")
    return net


@pytest.fixture
async def net(world) -> Net:  # noqa: ANN001
    return await build_net(world)


async def publish(world, net: Net, **kw) -> list[VisitSlot]:  # noqa: ANN001
    """The cardiologist publishes tomorrow 09:00-10:00: two 20-minute video visits (09:00, 09:30)."""
    from sqlalchemy import select

    series, _count = await slots.publish_series(world.db, await world.principal(net.doctor), series_input(net, **kw))
    return list((await world.db.scalars(select(VisitSlot).where(VisitSlot.series_id == series.id)
                                        .order_by(VisitSlot.starts_at))).all())


async def move_visit_to(db, visit: Visit, starts_at: dt.datetime, minutes: int = 20) -> None:  # noqa: ANN001
    """Time travel for rules that depend on the clock: the visit (and its slot) now start at `starts_at`."""
    ends_at = starts_at + dt.timedelta(minutes=minutes)
    cutoff = visit.starts_at - visit.cancel_until
    await db.execute(update(VisitSlot).where(VisitSlot.id == visit.slot_id)
                     .values(starts_at=starts_at, ends_at=ends_at))
    await db.execute(update(Visit).where(Visit.id == visit.id).values(
        starts_at=starts_at, ends_at=ends_at, cancel_until=starts_at - cutoff))
    await db.refresh(visit)
