"""Who is told what about a home-nursing order, each in their own language. Notifications also leave
by SMS and email, so they name the service and link to the order, never the address or health data.

`notify` writes in the caller's transaction and pushes after commit: a rolled-back move tells nobody."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.notifications.service import notify_in_their_language
from carebridge.portal.home_nursing.models import NursingOrder

KIND = "home_nursing"
SOS_KIND = "home_nursing_sos"


def patient_link(order_id: int) -> str:
    return f"/portal/nursing/{order_id}"


def staff_link(order_id: int) -> str:
    return f"/nursing/orders/{order_id}"


async def tell(session: AsyncSession, user_ids: Iterable[int | None], *, title: str, body: str = "",
               params: dict | None = None, link: str, kind: str = KIND, order: NursingOrder | None = None) -> None:
    """`title`/`body` are msgids with %(name)s placeholders, translated per recipient; with `order`,
    %(order)s and %(service)s (in the recipient's language) are filled in too."""
    def values(locale: str) -> dict:
        return {**(params_of(order, locale) if order is not None else {}), **(params or {})}

    await notify_in_their_language(session, user_ids, kind=kind, title=title, body=body, params=values, link=link)


async def coordinators(session: AsyncSession, facility_id: int) -> list[int]:
    """The facility's administrators run home-nursing dispatch (the coordinator desk)."""
    return list((await session.scalars(
        select(RoleAssignment.user_id).join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.facility_id == facility_id, RoleAssignment.role == Role.facility_admin.value,
               User.is_active))).all())


async def patient_users(session: AsyncSession, order: NursingOrder) -> list[int]:
    """The patient's own login and whoever booked (a family member acting as proxy)."""
    own = (await session.scalars(select(User.id).where(User.patient_id == order.patient_id, User.is_active))).all()
    return sorted({*own, order.booked_by_id})


def params_of(order: NursingOrder, locale: str) -> dict:
    english = locale == "en"
    return {"order": order.id, "service": (order.service_name_en or order.service_name) if english
            else order.service_name}
