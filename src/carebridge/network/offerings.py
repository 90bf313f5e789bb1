"""Remote services a facility offers, and the question later features route with: which facilities
offer service X (for specialty Y) to facility Z, nearest higher tier first. Never commits."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit.i18n import N_
from carebridge.network.models import (
    Department,
    Facility,
    ServiceKind,
    ServiceOffering,
    ServiceRecipient,
)
from carebridge.network.schemas import OfferingIn, OfferingUpdate
from carebridge.network.service import audit_change, check_facility_admin, facility_department, get_facility

EARTH_RADIUS_KM = 6371.0


@dataclass
class OfferingView:
    id: int
    facility_id: int
    kind: str
    department: Department | None
    open_to_all: bool
    recipient_ids: list[int]
    active: bool


async def _views(session: AsyncSession, offerings: list[ServiceOffering]) -> list[OfferingView]:
    ids = [o.id for o in offerings]
    recipients: dict[int, list[int]] = {}
    if ids:
        for offering_id, facility_id in await session.execute(
                select(ServiceRecipient.offering_id, ServiceRecipient.facility_id)
                .where(ServiceRecipient.offering_id.in_(ids)).order_by(ServiceRecipient.facility_id)):
            recipients.setdefault(offering_id, []).append(facility_id)
    dept_ids = {o.department_id for o in offerings if o.department_id}
    departments = {d.id: d for d in (await session.scalars(
        select(Department).where(Department.id.in_(dept_ids)))).all()} if dept_ids else {}
    return [OfferingView(o.id, o.facility_id, o.kind, departments.get(o.department_id), o.open_to_all,
                         recipients.get(o.id, []), o.active) for o in offerings]


async def list_offerings(session: AsyncSession, facility_id: int, include_inactive: bool = False) -> list[OfferingView]:
    query = select(ServiceOffering).where(ServiceOffering.facility_id == facility_id).order_by(ServiceOffering.id)
    if not include_inactive:
        query = query.where(ServiceOffering.active.is_(True))
    return await _views(session, list((await session.scalars(query)).all()))


async def get_offering(session: AsyncSession, offering_id: int) -> OfferingView:
    offering = await session.get(ServiceOffering, offering_id)
    if offering is None:
        raise NotFound(N_("service offering not found"))
    return (await _views(session, [offering]))[0]


async def _check_recipients(session: AsyncSession, facility_id: int, recipient_ids: list[int]) -> list[int]:
    wanted = sorted(set(recipient_ids) - {facility_id})
    if wanted:
        found = set((await session.scalars(select(Facility.id).where(Facility.id.in_(wanted)))).all())
        unknown = [i for i in wanted if i not in found]
        if unknown:
            raise InvalidInput(N_("some recipient facilities do not exist"),
                               details={"field": "recipient_ids", "unknown": unknown})
    return wanted


async def _set_recipients(session: AsyncSession, offering: ServiceOffering, recipient_ids: list[int]) -> None:
    await session.execute(delete(ServiceRecipient).where(ServiceRecipient.offering_id == offering.id))
    session.add_all(ServiceRecipient(offering_id=offering.id, facility_id=i) for i in recipient_ids)


async def create_offering(session: AsyncSession, principal: Principal, facility_id: int,
                          data: OfferingIn) -> OfferingView:
    facility = await get_facility(session, facility_id)
    check_facility_admin(principal, facility.id)
    department = await facility_department(session, facility.id, data.department)
    recipients = await _check_recipients(session, facility.id, data.recipient_ids)
    department_id = department.id if department else None
    offering = await session.scalar(select(ServiceOffering).where(
        ServiceOffering.facility_id == facility.id, ServiceOffering.kind == data.kind.value,
        ServiceOffering.department_id == department_id if department_id else ServiceOffering.department_id.is_(None)))
    if offering is not None and offering.active:
        raise Conflict(N_("this facility already offers that service; edit the existing offering"))
    if offering is None:  # a stopped offering is started again rather than duplicated
        offering = ServiceOffering(facility_id=facility.id, kind=data.kind.value, department_id=department_id)
        session.add(offering)
    offering.open_to_all, offering.active = data.open_to_all, True
    await session.flush()
    await _set_recipients(session, offering, recipients)
    await session.flush()
    await audit_change(session, principal, "create", "ServiceOffering", offering.id, facility.id, kind=offering.kind)
    return await get_offering(session, offering.id)


async def update_offering(session: AsyncSession, principal: Principal, offering_id: int,
                          data: OfferingUpdate) -> OfferingView:
    offering = await session.get(ServiceOffering, offering_id)
    if offering is None:
        raise NotFound(N_("service offering not found"))
    check_facility_admin(principal, offering.facility_id)
    if data.recipient_ids is not None:
        await _set_recipients(session, offering,
                              await _check_recipients(session, offering.facility_id, data.recipient_ids))
    if data.open_to_all is not None:
        offering.open_to_all = data.open_to_all
    if data.active is not None:
        offering.active = data.active
    await session.flush()
    await audit_change(session, principal, "update", "ServiceOffering", offering.id, offering.facility_id,
                 fields=sorted(data.model_fields_set))
    return await get_offering(session, offering.id)


@dataclass
class ProviderMatch:
    facility: Facility
    offering_id: int
    kind: str
    department: Department | None
    distance_km: float | None


def distance_km(a: Facility, b: Facility) -> float | None:
    """Great-circle (haversine) distance; None when either facility has no coordinates."""
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return round(2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h)), 1)


async def find_service_providers(
    session: AsyncSession, *, kind: ServiceKind | str, for_facility_id: int, specialty: str | None = None,
    limit: int = 20,
) -> list[ProviderMatch]:
    """Active facilities offering `kind` (for `specialty`, a department code) to the requester.

    An offering without a department covers every specialty. Order: higher tiers before the same
    or lower, the nearest tier up first, then by distance where both sides have coordinates.
    """
    requester = await get_facility(session, for_facility_id)
    query = (select(ServiceOffering, Facility, Department)
             .join(Facility, Facility.id == ServiceOffering.facility_id)
             .outerjoin(Department, Department.id == ServiceOffering.department_id)
             .where(ServiceOffering.active.is_(True), Facility.active.is_(True),
                    ServiceOffering.kind == ServiceKind(kind).value, Facility.id != requester.id,
                    or_(ServiceOffering.open_to_all.is_(True),
                        exists().where(ServiceRecipient.offering_id == ServiceOffering.id,
                                       ServiceRecipient.facility_id == requester.id))))
    if specialty:
        query = query.where(or_(ServiceOffering.department_id.is_(None),
                                _specialty_clause(specialty)))
    matches = [ProviderMatch(facility, offering.id, offering.kind, department, distance_km(requester, facility))
               for offering, facility, department in await session.execute(query)]
    matches.sort(key=lambda m: _rank(requester, m))
    return matches[:limit]


def _specialty_clause(code: str):  # noqa: ANN201 - a SQLAlchemy boolean clause
    return (Department.code == code) & Department.active.is_(True)


def _rank(requester: Facility, match: ProviderMatch) -> tuple:
    level = match.facility.level
    higher = level > requester.level
    far = match.distance_km if match.distance_km is not None else math.inf
    return (not higher, level if higher else -level, far, match.facility.code)
