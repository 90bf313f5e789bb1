"""Facilities, hub links and departments: the shape of the network. Never commits.

Who may do what: platform administrators manage everything; a facility administrator manages
only their own facility (its details, departments and services); everyone signed in may browse.
Levels strictly increase along every hub link (TIER_LEVEL), so the hub graph can never contain a
cycle; changing a facility's tier is checked against its hubs *and* its members to keep it so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.network.catalog import STANDARD_DEPARTMENTS
from carebridge.network.models import (
    TIER_LEVEL,
    Department,
    Facility,
    FacilityDepartment,
    FacilityLink,
    Tier,
)
from carebridge.network.schemas import DepartmentIn, DepartmentUpdate, FacilityIn, FacilityUpdate

PLATFORM_ONLY_FIELDS = frozenset({"code", "tier", "active"})


# --- who may ---------------------------------------------------------------------------------

def can_manage_facility(principal: Principal, facility_id: int) -> bool:
    return principal.is_platform_admin or principal.has_role(Role.facility_admin, facility_id)


def check_network_admin(principal: Principal) -> None:
    if not principal.is_platform_admin:
        raise Forbidden(N_("only platform administrators can change the network"))


def check_facility_admin(principal: Principal, facility_id: int) -> None:
    if not can_manage_facility(principal, facility_id):
        raise Forbidden(N_("you can manage only your own facility"))


async def audit_change(session: AsyncSession, principal: Principal, action: str, resource_type: str,
                 resource_id: int | str, facility_id: int | None = None, **detail: Any) -> None:
    await audit.append(session, audit.Entry(
        action=action, outcome="success", actor=principal.actor(facility_id), resource_type=resource_type,
        resource_id=resource_id, facility_id=facility_id, detail=detail))


# --- facilities ------------------------------------------------------------------------------

async def get_facility(session: AsyncSession, facility_id: int) -> Facility:
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise NotFound(N_("facility not found"))
    return facility


async def get_facility_by_code(session: AsyncSession, code: str) -> Facility:
    facility = await session.scalar(select(Facility).where(Facility.code == code.strip()))
    if facility is None:
        raise NotFound(_("no facility has the code %(code)s") % {"code": code}, details={"code": code})
    return facility


async def _check_code_free(session: AsyncSession, code: str) -> None:
    if await session.scalar(select(Facility.id).where(Facility.code == code)):
        raise Conflict(_("institution code %(code)s is already in use") % {"code": code},
                       details={"field": "code", "code": code})


async def create_facility(session: AsyncSession, principal: Principal, data: FacilityIn) -> Facility:
    check_network_admin(principal)
    await _check_code_free(session, data.code)
    departments = [await get_department(session, code, active_only=True) for code in data.departments]
    fields = data.model_dump(exclude={"hubs", "departments"})
    facility = Facility(**{**fields, "tier": data.tier.value, "active": True})
    session.add(facility)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent request took the code between check and insert
        raise Conflict(_("institution code %(code)s is already in use") % {"code": data.code},
                       details={"field": "code", "code": data.code}) from exc
    for department in departments:
        session.add(FacilityDepartment(facility_id=facility.id, department_id=department.id))
    for link in data.hubs:
        await _link(session, facility, link.hub_id, link.alliance)
    await session.flush()
    await audit_change(session, principal, "create", "Facility", facility.id, facility.id, code=facility.code)
    return facility


async def update_facility(session: AsyncSession, principal: Principal, facility_id: int,
                          data: FacilityUpdate) -> Facility:
    facility = await get_facility(session, facility_id)
    check_facility_admin(principal, facility.id)
    changes = {k: getattr(data, k) for k in data.model_fields_set}
    if changes.keys() & PLATFORM_ONLY_FIELDS:
        check_network_admin(principal)
    if changes.get("code") is not None and changes["code"] != facility.code:
        await _check_code_free(session, changes["code"])
    if changes.get("tier") is not None:
        await _check_tier_fits_links(session, facility, Tier(changes["tier"]))
    # Only coordinates may be cleared with null; for other fields null means "leave as is".
    changes = {k: v for k, v in changes.items() if v is not None or k in ("latitude", "longitude")}
    for name, value in changes.items():
        setattr(facility, name, value.value if isinstance(value, Tier) else value)
    await session.flush()
    await audit_change(session, principal, "update", "Facility", facility.id, facility.id, fields=sorted(changes))
    return facility


async def deactivate_facility(session: AsyncSession, principal: Principal, facility_id: int) -> Facility:
    return await update_facility(session, principal, facility_id, FacilityUpdate(active=False))


async def list_facilities(
    session: AsyncSession, *, tier: Tier | None = None, region: str | None = None, hub_id: int | None = None,
    q: str | None = None, include_inactive: bool = False, cursor: str | None = None, limit: int = 50,
) -> Page[Facility]:
    query = select(Facility).order_by(Facility.code).limit(check_limit(limit) + 1)
    if not include_inactive:
        query = query.where(Facility.active.is_(True))
    if tier is not None:
        query = query.where(Facility.tier == Tier(tier).value)
    if region:
        query = query.where(or_(Facility.province_code == region, Facility.city_code == region,
                                Facility.county_code == region))
    if hub_id is not None:
        query = query.where(exists().where(FacilityLink.facility_id == Facility.id, FacilityLink.hub_id == hub_id))
    if q and q.strip():
        text = q.strip()
        query = query.where(or_(Facility.name.icontains(text, autoescape=True),
                                Facility.name_en.icontains(text, autoescape=True),
                                Facility.code.icontains(text, autoescape=True)))
    after = decode_cursor(cursor)
    if after:
        query = query.where(Facility.code > str(after[0]))
    rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor([rows[-1].code]) if more and rows else None)


async def tier_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Facility.tier, func.count()).where(Facility.active.is_(True))
                                 .group_by(Facility.tier))
    return {tier: count for tier, count in rows}


@dataclass
class TreeNode:
    facility: Facility
    members: int


async def tree_children(session: AsyncSession, parent_id: int | None) -> list[TreeNode]:
    """The roots of the tree (active facilities with no hub) or the members linked to one hub."""
    query = select(Facility).where(Facility.active.is_(True))
    if parent_id is None:
        query = query.where(~exists().where(FacilityLink.facility_id == Facility.id))
    else:
        query = query.where(exists().where(FacilityLink.facility_id == Facility.id,
                                           FacilityLink.hub_id == parent_id))
    facilities = list((await session.scalars(query)).all())
    counts = await member_counts(session, [f.id for f in facilities])
    facilities.sort(key=lambda f: (-f.level, f.code))
    return [TreeNode(f, counts.get(f.id, 0)) for f in facilities]


async def member_counts(session: AsyncSession, hub_ids: list[int]) -> dict[int, int]:
    if not hub_ids:
        return {}
    rows = await session.execute(
        select(FacilityLink.hub_id, func.count(func.distinct(FacilityLink.facility_id)))
        .join(Facility, Facility.id == FacilityLink.facility_id)
        .where(FacilityLink.hub_id.in_(hub_ids), Facility.active.is_(True)).group_by(FacilityLink.hub_id))
    return {hub_id: count for hub_id, count in rows}


# --- hub links -------------------------------------------------------------------------------

def check_hub_level(facility_tier: str, hub_tier: str) -> None:
    if TIER_LEVEL[Tier(hub_tier)] <= TIER_LEVEL[Tier(facility_tier)]:
        raise InvalidInput(_("a hub must be a higher tier than its member (%(hub)s is not above %(member)s)")
                           % {"hub": hub_tier, "member": facility_tier}, details={"field": "hub_id"})


async def _check_tier_fits_links(session: AsyncSession, facility: Facility, tier: Tier) -> None:
    level = TIER_LEVEL[tier]
    hub_tiers = (await session.scalars(select(Facility.tier).join(FacilityLink, FacilityLink.hub_id == Facility.id)
                                       .where(FacilityLink.facility_id == facility.id))).all()
    member_tiers = (await session.scalars(
        select(Facility.tier).join(FacilityLink, FacilityLink.facility_id == Facility.id)
        .where(FacilityLink.hub_id == facility.id))).all()
    if any(TIER_LEVEL[Tier(t)] <= level for t in hub_tiers) or any(TIER_LEVEL[Tier(t)] >= level for t in member_tiers):
        raise Conflict(N_("this tier would put the facility at or above one of its hubs, or at or below "
                          "one of its members; change the hub links first"), details={"field": "tier"})


async def _link(session: AsyncSession, facility: Facility, hub_id: int, alliance: str) -> FacilityLink:
    hub = await session.get(Facility, hub_id)
    if hub is None:
        raise InvalidInput(N_("the hub facility does not exist"), details={"field": "hub_id"})
    check_hub_level(facility.tier, hub.tier)
    taken = await session.scalar(select(FacilityLink.id).where(
        FacilityLink.facility_id == facility.id, FacilityLink.hub_id == hub.id, FacilityLink.alliance == alliance))
    if taken:
        raise Conflict(_("%(facility)s is already linked to %(hub)s in this alliance")
                       % {"facility": facility.code, "hub": hub.code})
    link = FacilityLink(facility_id=facility.id, hub_id=hub.id, alliance=alliance)
    session.add(link)
    return link


async def add_hub_link(session: AsyncSession, principal: Principal, facility_id: int, hub_id: int,
                       alliance: str = "") -> FacilityLink:
    check_network_admin(principal)
    facility = await get_facility(session, facility_id)
    link = await _link(session, facility, hub_id, alliance.strip())
    await session.flush()
    await audit_change(session, principal, "link", "FacilityLink", link.id, facility.id,
                       hub_id=hub_id, alliance=alliance)
    return link


async def remove_hub_link(session: AsyncSession, principal: Principal, facility_id: int, link_id: int) -> None:
    check_network_admin(principal)
    link = await session.get(FacilityLink, link_id)
    if link is None or link.facility_id != facility_id:
        raise NotFound(N_("hub link not found"))
    await session.delete(link)
    await session.flush()
    await audit_change(session, principal, "unlink", "FacilityLink", link_id, facility_id, hub_id=link.hub_id)


@dataclass
class HubView:
    id: int
    facility_id: int
    hub: Facility
    alliance: str


async def list_hubs(session: AsyncSession, facility_id: int) -> list[HubView]:
    rows = await session.execute(select(FacilityLink, Facility).join(Facility, Facility.id == FacilityLink.hub_id)
                                 .where(FacilityLink.facility_id == facility_id).order_by(FacilityLink.id))
    return [HubView(link.id, link.facility_id, hub, link.alliance) for link, hub in rows]


# --- departments -----------------------------------------------------------------------------

async def ensure_standard_departments(session: AsyncSession) -> int:
    """Adds whatever of the standard list is missing; edited names are left alone. Returns how many."""
    present = set((await session.scalars(select(Department.code))).all())
    missing = [Department(code=code, name=name, name_en=name_en, active=True)
               for code, name, name_en in STANDARD_DEPARTMENTS if code not in present]
    session.add_all(missing)
    await session.flush()
    return len(missing)


async def list_departments(session: AsyncSession, include_inactive: bool = False) -> list[Department]:
    query = select(Department).order_by(Department.id)
    if not include_inactive:
        query = query.where(Department.active.is_(True))
    return list((await session.scalars(query)).all())


async def get_department(session: AsyncSession, code: str, *, active_only: bool = False) -> Department:
    department = await session.scalar(select(Department).where(Department.code == code))
    if department is None or (active_only and not department.active):
        raise InvalidInput(_("unknown department %(code)s") % {"code": code},
                           details={"field": "department", "code": code})
    return department


async def add_department(session: AsyncSession, principal: Principal, data: DepartmentIn) -> Department:
    check_network_admin(principal)
    if await session.scalar(select(Department.id).where(Department.code == data.code)):
        raise Conflict(_("department code %(code)s is already in use") % {"code": data.code},
                       details={"field": "code", "code": data.code})
    department = Department(code=data.code, name=data.name, name_en=data.name_en, active=True)
    session.add(department)
    await session.flush()
    await audit_change(session, principal, "create", "Department", department.code)
    return department


async def update_department(session: AsyncSession, principal: Principal, code: str,
                            data: DepartmentUpdate) -> Department:
    check_network_admin(principal)
    department = await session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(N_("department not found"))
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    for name, value in changes.items():
        setattr(department, name, value)
    await session.flush()
    await audit_change(session, principal, "update", "Department", department.code, fields=sorted(changes))
    return department


async def facility_departments(session: AsyncSession, facility_id: int) -> list[Department]:
    return list((await session.scalars(
        select(Department).join(FacilityDepartment, FacilityDepartment.department_id == Department.id)
        .where(FacilityDepartment.facility_id == facility_id).order_by(Department.id))).all())


async def facility_department(session: AsyncSession, facility_id: int, code: str | None) -> Department | None:
    """The named department, which the facility must have (None when no code is given)."""
    if code is None:
        return None
    department = await get_department(session, code, active_only=True)
    if await session.get(FacilityDepartment, (facility_id, department.id)) is None:
        raise InvalidInput(_("this facility has no %(department)s department; add the department first")
                           % {"department": code}, details={"field": "department"})
    return department


async def add_facility_department(session: AsyncSession, principal: Principal, facility_id: int,
                                  code: str) -> Department:
    facility = await get_facility(session, facility_id)
    check_facility_admin(principal, facility.id)
    department = await get_department(session, code, active_only=True)
    if await session.get(FacilityDepartment, (facility.id, department.id)) is None:
        session.add(FacilityDepartment(facility_id=facility.id, department_id=department.id))
        await session.flush()
        await audit_change(session, principal, "add_department", "Facility", facility.id, facility.id, department=code)
    return department


async def remove_facility_department(session: AsyncSession, principal: Principal, facility_id: int,
                                     code: str) -> None:
    from carebridge.network.models import ServiceOffering

    facility = await get_facility(session, facility_id)
    check_facility_admin(principal, facility.id)
    department = await get_department(session, code)
    if await session.scalar(select(ServiceOffering.id).where(and_(
            ServiceOffering.facility_id == facility.id, ServiceOffering.department_id == department.id,
            ServiceOffering.active.is_(True)))):
        raise Conflict(N_("this department still offers a remote service; stop the service first"))
    await session.execute(delete(FacilityDepartment).where(
        FacilityDepartment.facility_id == facility.id, FacilityDepartment.department_id == department.id))
    await audit_change(session, principal, "remove_department", "Facility", facility.id, facility.id, department=code)
