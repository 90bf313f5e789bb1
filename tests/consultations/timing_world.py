"""Arranging rosters, practitioners and cases at a given stage for the suggestions, escalation and
scheduling tests (on top of the `net` network of conftest.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from carebridge.consultations import service
from carebridge.network.models import Department, Facility, PracticeSite, Practitioner, RosterShift
from carebridge.notifications.models import Notification

_licence = iter(range(10_000, 99_999))


async def department_id(db, code: str) -> int:  # noqa: ANN001
    return await db.scalar(select(Department.id).where(Department.code == code))


async def practitioner(db, user, facility: Facility, specialty_id: int | None = None,  # noqa: ANN001
                       languages: tuple[str, ...] = ("zh",)) -> Practitioner:
    found = await db.scalar(select(Practitioner).where(Practitioner.user_id == user.id))
    if found is None:
        found = Practitioner(user_id=user.id, title="attending", license_no=f"LIC{next(_licence)}",
                             specialty_id=specialty_id, languages=list(languages))
        db.add(found)
        await db.flush()
    if await db.get(PracticeSite, (found.id, facility.id)) is None:
        db.add(PracticeSite(practitioner_id=found.id, facility_id=facility.id))
        await db.flush()
    return found


async def shift(db, who: Practitioner, facility: Facility, starts_at: dt.datetime,  # noqa: ANN001
                ends_at: dt.datetime) -> RosterShift:
    row = RosterShift(practitioner_id=who.id, facility_id=facility.id, starts_at=starts_at, ends_at=ends_at)
    db.add(row)
    await db.flush()
    return row


async def submitted_case(world, net, db, *, urgency: str = "urgent", mode: str = "live",  # noqa: ANN001
                         target_facility_id: int | None = None, requester=None):
    requester = await world.principal(requester or net.requester)
    case = await service.request_consultation(db, requester, service.CaseRequest(
        patient_id=net.patient.id, question="Atrial fibrillation?", urgency=urgency, mode=mode,
        specialty=net.specialty, target_facility_id=target_facility_id, shared_entry_ids=(net.entries[0].id,)))
    return await service.take_action(db, requester, case.id, "submit")


async def accepted_case(world, net, db, expert=None, **kw):  # noqa: ANN001, ANN202
    case = await submitted_case(world, net, db, **kw)
    await service.take_action(db, await world.principal(net.county_admin), case.id, "triage")
    return await service.take_action(db, await world.principal(expert or net.county_doctor), case.id, "accept")


async def titles(db, user) -> list[str]:  # noqa: ANN001
    return list((await db.scalars(select(Notification.title).where(Notification.user_id == user.id)
                                  .order_by(Notification.id))).all())
