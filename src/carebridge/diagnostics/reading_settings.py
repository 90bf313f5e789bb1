"""How a reading hub reads: two-step (resident preliminary, attending final) or one step, and the
share of final reports double-read for quality. Managed by the hub's facility administrator; the
hub's doctors may look. Also who counts as an attending: a practitioner whose title is attending,
associate chief or chief physician. A doctor without a practitioner profile is not one, so a
resident (or an unknown) can never sign a final report."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.diagnostics.report_models import ReadingHubSettings
from carebridge.errors import InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility, Practitioner, Title

ATTENDING_TITLES = frozenset({Title.attending.value, Title.associate_chief.value, Title.chief.value})


@dataclass(frozen=True)
class HubReading:
    facility_id: int
    two_step: bool = False
    double_read_percent: int = 0


async def settings_for(session: AsyncSession, hub_id: int) -> HubReading:
    row = await session.get(ReadingHubSettings, hub_id)
    if row is None:
        return HubReading(hub_id)
    return HubReading(hub_id, row.two_step, row.double_read_percent)


def may_manage(principal: Principal, hub_id: int) -> bool:
    return principal.has_role(Role.facility_admin, hub_id)


async def access_settings(session: AsyncSession, principal: Principal, hub_id: int, *,
                          manage: bool = False) -> HubReading:
    """The hub's administrators manage; its doctors may look; anyone else gets 404."""
    allowed = may_manage(principal, hub_id) or (not manage and principal.has_role(Role.doctor, hub_id))
    if not allowed or await session.get(Facility, hub_id) is None:
        raise NotFound(N_("reading hub not found"))
    return await settings_for(session, hub_id)


async def update_settings(session: AsyncSession, principal: Principal, hub_id: int, *, two_step: bool,
                          double_read_percent: int) -> HubReading:
    before = await access_settings(session, principal, hub_id, manage=True)
    if isinstance(double_read_percent, bool) or not 0 <= double_read_percent <= 100:
        raise InvalidInput(N_("the double-read share is a whole percentage from 0 to 100"),
                           details={"field": "double_read_percent"})
    row = await session.get(ReadingHubSettings, hub_id)
    if row is None:
        row = ReadingHubSettings(facility_id=hub_id)
        session.add(row)
    row.two_step, row.double_read_percent = bool(two_step), int(double_read_percent)
    row.updated_at, row.updated_by_id = utcnow(), principal.user_id
    await session.flush()
    await audit.append(session, audit.Entry(
        action="reading_settings_update", outcome="success", actor=principal.actor(hub_id),
        resource_type="ReadingHubSettings", resource_id=hub_id, facility_id=hub_id,
        detail={"before": {"two_step": before.two_step, "double_read_percent": before.double_read_percent},
                "after": {"two_step": row.two_step, "double_read_percent": row.double_read_percent}}))
    return await settings_for(session, hub_id)


async def title_of(session: AsyncSession, user_id: int) -> str | None:
    return await session.scalar(select(Practitioner.title).where(Practitioner.user_id == user_id))


async def is_attending(session: AsyncSession, user_id: int) -> bool:
    return await title_of(session, user_id) in ATTENDING_TITLES


async def attendings_at(session: AsyncSession, hub_id: int) -> list[int]:
    """Active doctors of the hub whose title lets them sign final reports, by id."""
    rows = await session.scalars(
        select(User.id).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(Practitioner, Practitioner.user_id == User.id)
        .where(RoleAssignment.facility_id == hub_id, RoleAssignment.role == Role.doctor.value, User.is_active,
               Practitioner.title.in_(ATTENDING_TITLES)).order_by(User.id))
    return list(dict.fromkeys(rows.all()))
