"""Who may book home nursing, decided from the health record, each ground explained.

A patient qualifies on any one of: age at least `nursing_min_age` (the master record's birth date),
a recorded disability (an active condition coded as one, below), a discharge from an inpatient stay
within `nursing_discharge_days` (record encounters), or a doctor's home-nursing order in force.
Whatever the answer, every ground says what was found, so a refusal tells the patient what to do.

The caller has authorised the patient (`access_patient`); these functions only read what that
access allows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.service import PatientAccess
from carebridge.auth.models import User
from carebridge.config import get_settings
from carebridge.kit.clock import local_zone, today_local, utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.home_nursing.models import DoctorNursingOrder
from carebridge.records.models import Condition, Encounter

AGE, DISABILITY, DISCHARGE, DOCTOR_ORDER = "age", "disability", "discharge", "doctor_order"
# ICD-10 stems that record a lasting disability: cerebral palsy, hemi-/para-/tetraplegia and other
# paralytic syndromes, sequelae of stroke, spina bifida, blindness and low vision, hearing loss,
# intellectual disability, loss of a limb, dependence on a wheelchair, limitation by disability.
DISABILITY_STEMS = ("G80", "G81", "G82", "G83", "I69", "Q05", "H54", "H90", "H91", "F70", "F71", "F72",
                    "F73", "F78", "F79", "Z89", "Z99.3", "Z73.6")
INPATIENT = "inpatient"


@dataclass(frozen=True)
class Ground:
    code: str
    met: bool
    message: str  # msgid with %(name)s placeholders
    params: dict = field(default_factory=dict)
    doctor_order_id: int | None = None

    @property
    def text(self) -> str:
        return _(self.message) % self.params

    def stored(self) -> dict:
        return {"code": self.code, "message": self.message, "params": self.params}


@dataclass(frozen=True)
class Eligibility:
    grounds: list[Ground]

    @property
    def eligible(self) -> bool:
        return any(g.met for g in self.grounds)

    @property
    def met(self) -> list[Ground]:
        return [g for g in self.grounds if g.met]

    @property
    def doctor_order_id(self) -> int | None:
        return next((g.doctor_order_id for g in self.grounds if g.met and g.doctor_order_id), None)


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _age(access: PatientAccess) -> Ground:
    minimum, age = get_settings().nursing_min_age, age_on(access.patient.birth_date, today_local())
    if age >= minimum:
        return Ground(AGE, True, N_("Aged %(age)s (%(min)s or older)"), {"age": age, "min": minimum})
    return Ground(AGE, False, N_("Aged %(age)s: on age alone home nursing starts at %(min)s"),
                  {"age": age, "min": minimum})


def is_disability_code(code: str) -> bool:
    """G82 covers G82 and G82.2; Z99.3 covers Z99.3 and its subdivisions but not Z99.2."""
    return any(code == stem or code.startswith(stem + ".") or ("." in stem and code.startswith(stem))
               for stem in DISABILITY_STEMS)


async def _disability(session: AsyncSession, access: PatientAccess) -> Ground:
    conditions = (await session.scalars(select(Condition).where(
        Condition.patient_id == access.patient.id, Condition.voided_at.is_(None),
        Condition.clinical_status == "active", access.entry_filter()).order_by(Condition.occurred_at.desc()))).all()
    found = next((c for c in conditions if is_disability_code(c.code)), None)
    if found is not None:
        return Ground(DISABILITY, True, N_("Recorded disability: %(display)s"), {"display": found.display})
    return Ground(DISABILITY, False, N_("No disability is recorded in the health record"))


async def _discharge(session: AsyncSession, access: PatientAccess) -> Ground:
    days = get_settings().nursing_discharge_days
    since = utcnow() - dt.timedelta(days=days)
    ended = await session.scalar(select(Encounter.ended_at).where(
        Encounter.patient_id == access.patient.id, Encounter.voided_at.is_(None),
        Encounter.encounter_class == INPATIENT, Encounter.ended_at >= since, Encounter.ended_at <= utcnow(),
        access.entry_filter()).order_by(Encounter.ended_at.desc()).limit(1))
    if ended is not None:
        zone = local_zone()
        return Ground(DISCHARGE, True, N_("Discharged from hospital on %(date)s"),
                      {"date": ended.astimezone(zone).date().isoformat()})
    return Ground(DISCHARGE, False, N_("No discharge from hospital in the last %(days)s days is recorded"),
                  {"days": days})


async def active_doctor_orders(session: AsyncSession, patient_id: int,
                               service_code: str | None = None) -> list[DoctorNursingOrder]:
    query = select(DoctorNursingOrder).where(
        DoctorNursingOrder.patient_id == patient_id, DoctorNursingOrder.voided_at.is_(None),
        DoctorNursingOrder.valid_until > utcnow())
    if service_code is not None:
        query = query.where(or_(DoctorNursingOrder.service_code == "", DoctorNursingOrder.service_code == service_code))
    return list((await session.scalars(query.order_by(DoctorNursingOrder.id.desc()))).all())


async def _doctor_order(session: AsyncSession, access: PatientAccess, service_code: str | None) -> Ground:
    orders = await active_doctor_orders(session, access.patient.id, service_code)
    if orders:
        order = orders[0]
        doctor = await session.get(User, order.doctor_user_id)
        zone = local_zone()
        return Ground(DOCTOR_ORDER, True, N_("Home-nursing order from %(doctor)s, valid until %(date)s"),
                      {"doctor": doctor.display_name if doctor else "",
                       "date": order.valid_until.astimezone(zone).date().isoformat()}, doctor_order_id=order.id)
    return Ground(DOCTOR_ORDER, False, N_("No doctor's home-nursing order is in force"))


async def check_eligibility(session: AsyncSession, access: PatientAccess,
                            service_code: str | None = None) -> Eligibility:
    """`service_code`: a doctor's order for another service does not count for this one."""
    return Eligibility([_age(access), await _disability(session, access), await _discharge(session, access),
                        await _doctor_order(session, access, service_code)])


REFUSAL = N_("Home nursing is for people aged %(min)s or older, people with a recorded disability, "
             "people discharged from hospital in the last %(days)s days, or on a doctor's order.")
ADVICE = N_("If you need care at home, ask your doctor for a home-nursing order.")
