"""Practitioners, their practice sites (multi-site practice is normal) and duty rosters. Never commits.

A facility administrator manages the practitioners who practise at their facility: their site
there, their shifts there, and their profile. Platform administrators manage all of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, cast, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth import service as auth
from carebridge.auth.models import RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.network.models import Department, Facility, PracticeSite, Practitioner, RosterShift, Title
from carebridge.network.schemas import PractitionerIn, PractitionerUpdate, ShiftIn, ShiftUpdate
from carebridge.network.service import (
    audit_change,
    can_manage_facility,
    check_facility_admin,
    facility_department,
    get_department,
    get_facility,
)

# A typo in a date (a wrong month) would otherwise block the practitioner's roster for weeks.
MAX_SHIFT = dt.timedelta(hours=48)


@dataclass
class SiteView:
    facility: Facility
    department: Department | None


@dataclass
class PractitionerView:
    id: int
    user_id: int
    display_name: str
    title: str
    specialty: Department | None
    license_no: str
    languages: list[str]
    sites: list[SiteView]
    on_duty_now: bool


async def get_practitioner(session: AsyncSession, practitioner_id: int) -> Practitioner:
    practitioner = await session.get(Practitioner, practitioner_id)
    if practitioner is None:
        raise NotFound(N_("practitioner not found"))
    return practitioner


async def _sites(session: AsyncSession, ids: list[int]) -> dict[int, list[SiteView]]:
    found: dict[int, list[SiteView]] = {}
    rows = await session.execute(
        select(PracticeSite.practitioner_id, Facility, Department)
        .join(Facility, Facility.id == PracticeSite.facility_id)
        .outerjoin(Department, Department.id == PracticeSite.department_id)
        .where(PracticeSite.practitioner_id.in_(ids)).order_by(Facility.code))
    for practitioner_id, facility, department in rows:
        found.setdefault(practitioner_id, []).append(SiteView(facility, department))
    return found


def _on_duty_clause(now: dt.datetime, facility_id: int | None = None):  # noqa: ANN202
    clause = exists().where(RosterShift.practitioner_id == Practitioner.id,
                            RosterShift.starts_at <= now, RosterShift.ends_at > now)
    return clause.where(RosterShift.facility_id == facility_id) if facility_id is not None else clause


async def _views(session: AsyncSession, rows: list[tuple[Practitioner, str]]) -> list[PractitionerView]:
    ids = [p.id for p, _name in rows]
    if not ids:
        return []
    now = utcnow()
    sites = await _sites(session, ids)
    on_duty = set((await session.scalars(select(RosterShift.practitioner_id).where(
        RosterShift.practitioner_id.in_(ids), RosterShift.starts_at <= now, RosterShift.ends_at > now))).all())
    dept_ids = {p.specialty_id for p, _name in rows if p.specialty_id}
    departments = {d.id: d for d in (await session.scalars(
        select(Department).where(Department.id.in_(dept_ids)))).all()} if dept_ids else {}
    return [PractitionerView(p.id, p.user_id, name, p.title, departments.get(p.specialty_id), p.license_no,
                             list(p.languages or []), sites.get(p.id, []), p.id in on_duty) for p, name in rows]


async def practitioner_view(session: AsyncSession, practitioner_id: int) -> PractitionerView:
    row = (await session.execute(select(Practitioner, User.display_name).join(User, User.id == Practitioner.user_id)
                                 .where(Practitioner.id == practitioner_id))).first()
    if row is None:
        raise NotFound(N_("practitioner not found"))
    return (await _views(session, [tuple(row)]))[0]


async def list_practitioners(
    session: AsyncSession, *, specialty: str | None = None, facility_id: int | None = None,
    title: Title | str | None = None, language: str | None = None, on_duty: bool = False, q: str | None = None,
    cursor: str | None = None, limit: int = 50,
) -> Page[PractitionerView]:
    query = (select(Practitioner, User.display_name).join(User, User.id == Practitioner.user_id)
             .where(User.is_active.is_(True)).order_by(User.display_name, Practitioner.id)
             .limit(check_limit(limit) + 1))
    if specialty:
        query = query.join(Department, Department.id == Practitioner.specialty_id).where(Department.code == specialty)
    if facility_id is not None:
        query = query.where(exists().where(PracticeSite.practitioner_id == Practitioner.id,
                                           PracticeSite.facility_id == facility_id))
    if title:
        query = query.where(Practitioner.title == Title(title).value)
    if language:
        # Languages are a JSON list; matching the quoted tag in its text works on every engine, and
        # tags are validated to letters, digits and hyphens, so they carry no LIKE wildcards.
        query = query.where(cast(Practitioner.languages, String).like(f'%"{language.strip().lower()}"%'))
    if on_duty:
        query = query.where(_on_duty_clause(utcnow(), facility_id))
    if q and q.strip():
        query = query.where(or_(User.display_name.icontains(q.strip(), autoescape=True),
                                Practitioner.license_no == q.strip()))
    after = decode_cursor(cursor)
    if after and len(after) == 2:
        query = query.where(or_(User.display_name > after[0],
                                (User.display_name == after[0]) & (Practitioner.id > int(after[1]))))
    rows = [tuple(r) for r in (await session.execute(query)).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1][1], rows[-1][0].id]) if more and rows else None
    return Page(await _views(session, rows), next_cursor)


async def on_duty_now(session: AsyncSession, facility_id: int) -> list[PractitionerView]:
    page = await list_practitioners(session, facility_id=facility_id, on_duty=True, limit=200)
    return page.items


# --- creating and editing --------------------------------------------------------------------

async def _site_facility_ids(session: AsyncSession, practitioner_id: int) -> set[int]:
    return set((await session.scalars(select(PracticeSite.facility_id)
                                      .where(PracticeSite.practitioner_id == practitioner_id))).all())


async def check_practitioner_admin(session: AsyncSession, principal: Principal, practitioner_id: int) -> None:
    sites = await _site_facility_ids(session, practitioner_id)
    if not (principal.is_platform_admin or any(can_manage_facility(principal, f) for f in sites)):
        raise Forbidden(N_("you can manage only practitioners who practise at your facility"))


async def _check_license_free(session: AsyncSession, license_no: str, practitioner_id: int | None = None) -> None:
    taken = await session.scalar(select(Practitioner.id).where(Practitioner.license_no == license_no))
    if taken and taken != practitioner_id:
        raise Conflict(_("license number %(license)s is already registered") % {"license": license_no},
                       details={"field": "license_no", "license_no": license_no})


async def _practitioner_user(session: AsyncSession, principal: Principal, data: PractitionerIn) -> User:
    if data.new_user is not None:
        new = data.new_user
        return await auth.create_user(session, username=new.username, display_name=new.display_name,
                                      password=new.password, roles=[(new.role, data.facility_id)])
    user = await session.get(User, data.user_id)
    visible = user is not None and (principal.is_platform_admin or await session.scalar(
        select(RoleAssignment.id).where(RoleAssignment.user_id == user.id,
                                        RoleAssignment.facility_id == data.facility_id)))
    if not visible:  # other facilities' staff are not revealed to a facility administrator
        raise NotFound(N_("user not found"), details={"field": "user_id"})
    if await session.scalar(select(Practitioner.id).where(Practitioner.user_id == user.id)):
        raise Conflict(N_("this user already has a practitioner profile"), details={"field": "user_id"})
    return user


async def create_practitioner(session: AsyncSession, principal: Principal, data: PractitionerIn) -> PractitionerView:
    facility = await get_facility(session, data.facility_id)
    check_facility_admin(principal, facility.id)
    specialty = await get_department(session, data.specialty, active_only=True) if data.specialty else None
    site_department = await facility_department(session, facility.id, data.department)
    await _check_license_free(session, data.license_no)
    user = await _practitioner_user(session, principal, data)
    practitioner = Practitioner(user_id=user.id, title=data.title.value, license_no=data.license_no,
                                specialty_id=specialty.id if specialty else None, languages=list(data.languages))
    session.add(practitioner)
    await session.flush()
    session.add(PracticeSite(practitioner_id=practitioner.id, facility_id=facility.id,
                             department_id=site_department.id if site_department else None))
    await session.flush()
    await audit_change(session, principal, "create", "Practitioner", practitioner.id, facility.id)
    return await practitioner_view(session, practitioner.id)


async def update_practitioner(session: AsyncSession, principal: Principal, practitioner_id: int,
                              data: PractitionerUpdate) -> PractitionerView:
    practitioner = await get_practitioner(session, practitioner_id)
    await check_practitioner_admin(session, principal, practitioner.id)
    if data.license_no is not None:
        await _check_license_free(session, data.license_no, practitioner.id)
        practitioner.license_no = data.license_no
    if data.title is not None:
        practitioner.title = data.title.value
    if "specialty" in data.model_fields_set:
        specialty = await get_department(session, data.specialty, active_only=True) if data.specialty else None
        practitioner.specialty_id = specialty.id if specialty else None
    if data.languages is not None:
        practitioner.languages = list(data.languages)
    await session.flush()
    await audit_change(session, principal, "update", "Practitioner", practitioner.id,
                       fields=sorted(data.model_fields_set))
    return await practitioner_view(session, practitioner.id)


async def add_practice_site(session: AsyncSession, principal: Principal, practitioner_id: int,
                            facility_id: int, department: str | None = None) -> SiteView:
    """Adds the site, or changes the department of an existing one."""
    practitioner = await get_practitioner(session, practitioner_id)
    facility = await get_facility(session, facility_id)
    check_facility_admin(principal, facility.id)
    if not facility.active:
        raise InvalidInput(N_("this facility is inactive"), details={"field": "facility_id"})
    site_department = await facility_department(session, facility.id, department)
    site = await session.get(PracticeSite, (practitioner.id, facility.id))
    if site is None:
        site = PracticeSite(practitioner_id=practitioner.id, facility_id=facility.id)
        session.add(site)
    site.department_id = site_department.id if site_department else None
    await session.flush()
    await audit_change(session, principal, "add_site", "Practitioner", practitioner.id, facility.id)
    return SiteView(facility, site_department)


async def remove_practice_site(session: AsyncSession, principal: Principal, practitioner_id: int,
                               facility_id: int) -> None:
    check_facility_admin(principal, facility_id)
    site = await session.get(PracticeSite, (practitioner_id, facility_id))
    if site is None:
        raise NotFound(N_("practice site not found"))
    if await session.scalar(select(RosterShift.id).where(
            RosterShift.practitioner_id == practitioner_id, RosterShift.facility_id == facility_id,
            RosterShift.ends_at > utcnow()).limit(1)):
        raise Conflict(N_("the practitioner still has shifts at this facility; remove those first"))
    await session.delete(site)
    await session.flush()
    await audit_change(session, principal, "remove_site", "Practitioner", practitioner_id, facility_id)


# --- rosters ---------------------------------------------------------------------------------

async def list_shifts(session: AsyncSession, practitioner_id: int, start: dt.datetime,
                      end: dt.datetime) -> list[RosterShift]:
    """Shifts that overlap [start, end)."""
    return list((await session.scalars(select(RosterShift).where(
        RosterShift.practitioner_id == practitioner_id, RosterShift.starts_at < end, RosterShift.ends_at > start)
        .order_by(RosterShift.starts_at))).all())


async def get_shift(session: AsyncSession, shift_id: int) -> RosterShift:
    shift = await session.get(RosterShift, shift_id)
    if shift is None:
        raise NotFound(N_("shift not found"))
    return shift


async def _check_window(session: AsyncSession, practitioner_id: int, starts_at: dt.datetime, ends_at: dt.datetime,
                        exclude_id: int | None = None) -> None:
    if ends_at <= starts_at:
        raise InvalidInput(N_("a shift must end after it starts"), details={"field": "ends_at"})
    if ends_at - starts_at > MAX_SHIFT:
        raise InvalidInput(N_("a shift may last at most 48 hours"), details={"field": "ends_at"})
    # Lock the practitioner row (PostgreSQL) so two concurrent requests cannot both pass the overlap
    # check; SQLite transactions already hold the write lock from BEGIN IMMEDIATE.
    await session.execute(select(Practitioner.id).where(Practitioner.id == practitioner_id).with_for_update())
    clash = await session.scalar(select(RosterShift).where(
        RosterShift.practitioner_id == practitioner_id, RosterShift.starts_at < ends_at,
        RosterShift.ends_at > starts_at, RosterShift.id != (exclude_id or 0)).limit(1))
    if clash is not None:
        raise Conflict(N_("this shift overlaps another shift of the same practitioner"),
                       details={"shift_id": clash.id, "starts_at": clash.starts_at.isoformat(),
                                "ends_at": clash.ends_at.isoformat()})


async def add_shift(session: AsyncSession, principal: Principal, practitioner_id: int, data: ShiftIn) -> RosterShift:
    practitioner = await get_practitioner(session, practitioner_id)
    check_facility_admin(principal, data.facility_id)
    if await session.get(PracticeSite, (practitioner.id, data.facility_id)) is None:
        raise InvalidInput(N_("the practitioner has no practice site at this facility"),
                           details={"field": "facility_id"})
    await _check_window(session, practitioner.id, data.starts_at, data.ends_at)
    shift = RosterShift(practitioner_id=practitioner.id, facility_id=data.facility_id,
                        starts_at=data.starts_at, ends_at=data.ends_at)
    session.add(shift)
    await session.flush()
    await audit_change(session, principal, "create", "RosterShift", shift.id, data.facility_id)
    return shift


async def update_shift(session: AsyncSession, principal: Principal, shift_id: int, data: ShiftUpdate) -> RosterShift:
    shift = await get_shift(session, shift_id)
    check_facility_admin(principal, shift.facility_id)
    starts_at = data.starts_at or shift.starts_at
    ends_at = data.ends_at or shift.ends_at
    await _check_window(session, shift.practitioner_id, starts_at, ends_at, exclude_id=shift.id)
    shift.starts_at, shift.ends_at = starts_at, ends_at
    await session.flush()
    await audit_change(session, principal, "update", "RosterShift", shift.id, shift.facility_id)
    return shift


async def delete_shift(session: AsyncSession, principal: Principal, shift_id: int) -> None:
    shift = await get_shift(session, shift_id)
    check_facility_admin(principal, shift.facility_id)
    await session.delete(shift)
    await session.flush()
    await audit_change(session, principal, "delete", "RosterShift", shift_id, shift.facility_id)
