"""What the visit pages show besides the visit itself: the names of doctors, hospitals and
departments, the days of free slots in local time, the words of the room's script, the patient
summary on the doctor's console."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.service import PatientAccess
from carebridge.auth.models import User
from carebridge.consultations.room_pages import _room_strings as consultation_room_strings
from carebridge.kit import i18n
from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Department, Facility, Practitioner
from carebridge.portal.visits.labels import STATE_LABELS
from carebridge.portal.visits.models import Visit
from carebridge.portal.visits.slots import OpenSlot
from carebridge.records.models import Allergy, Condition, MedicationStatement


@dataclass
class Names:
    doctors: dict[int, str] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict)
    facilities: dict[int, str] = field(default_factory=dict)
    departments: dict[int, str] = field(default_factory=dict)


def _pick(zh: str, en: str) -> str:
    return (en or zh) if i18n.get_locale() == "en" else zh


async def names_for(session: AsyncSession, *, doctors: set[int] = frozenset(), facilities: set[int] = frozenset(),
                    departments: set[int | None] = frozenset()) -> Names:
    names = Names()
    if doctors:
        names.doctors = dict((await session.execute(select(User.id, User.display_name)
                                                    .where(User.id.in_(doctors)))).all())
        names.titles = dict((await session.execute(select(Practitioner.user_id, Practitioner.title)
                                                   .where(Practitioner.user_id.in_(doctors)))).all())
    if facilities:
        names.facilities = {i: _pick(zh, en) for i, zh, en in (await session.execute(
            select(Facility.id, Facility.name, Facility.name_en).where(Facility.id.in_(facilities)))).all()}
    wanted = {d for d in departments if d}
    if wanted:
        names.departments = {i: _pick(zh, en) for i, zh, en in (await session.execute(
            select(Department.id, Department.name, Department.name_en).where(Department.id.in_(wanted)))).all()}
    return names


async def names_of_visits(session: AsyncSession, visits: list[Visit]) -> Names:
    return await names_for(session, doctors={v.doctor_user_id for v in visits},
                           facilities={v.facility_id for v in visits}, departments={v.department_id for v in visits})


async def departments(session: AsyncSession) -> list[tuple[int, str]]:
    rows = (await session.execute(select(Department.id, Department.name, Department.name_en)
                                  .where(Department.active).order_by(Department.code))).all()
    return [(i, _pick(zh, en)) for i, zh, en in rows]


def by_local_day(found: list[OpenSlot]) -> list[tuple[dt.date, list[OpenSlot]]]:
    days: dict[dt.date, list[OpenSlot]] = defaultdict(list)
    for slot in found:
        days[slot.starts_at.astimezone(local_zone()).date()].append(slot)
    return sorted(days.items())


def room_strings() -> dict[str, str]:
    """The consultation room's words (the same scripts run the visit room) and the visit's own."""
    return {**consultation_room_strings(),
            "waiting": _("You are in the waiting room. The doctor has been told and will start the visit."),
            "doctor_here": _("The doctor has joined."),
            "patient_waiting": _("The patient is waiting for you."),
            "ended": _("The visit has ended."),
            "text_only_joined": _("You joined with text only: write to the doctor in the chat."),
            **{f"state_{state}": _(label) for state, label in STATE_LABELS.items()}}


@dataclass(frozen=True)
class PatientSummary:
    conditions: list[Condition]
    medications: list[MedicationStatement]
    allergies: list[Allergy]


async def patient_summary(session: AsyncSession, access: PatientAccess) -> PatientSummary:
    """What the doctor needs beside the video: active problems, current medication, allergies.
    Read through the access the console was opened with (already audited)."""
    def entries(model):  # noqa: ANN001, ANN202
        return (select(model).where(model.patient_id == access.patient.id, model.voided_at.is_(None),
                                    access.entry_filter()).order_by(model.occurred_at.desc()).limit(30))

    conditions = [c for c in (await session.scalars(entries(Condition))).all()
                  if c.clinical_status in ("active", "recurrence", "relapse")]
    medications = [m for m in (await session.scalars(entries(MedicationStatement))).all() if m.status == "active"]
    allergies = list((await session.scalars(entries(Allergy))).all())
    return PatientSummary(conditions, medications, allergies)
