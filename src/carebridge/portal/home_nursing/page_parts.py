"""What several pages show of one order: its timeline with who acted, the facility, the assessment,
the visit record; and small formatters (money in yuan from integer fen)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import User
from carebridge.kit import i18n
from carebridge.network.models import Facility
from carebridge.portal.home_nursing import billing, labels
from carebridge.portal.home_nursing.assessment import assessment_of
from carebridge.portal.home_nursing.models import NursingOrder
from carebridge.portal.home_nursing.service import OrderAccess, events_of
from carebridge.portal.home_nursing.visit import record_of
from carebridge.portal.home_nursing.vitals import LIMIT_LABELS, LIMITS, VITALS


def yuan(fen: int | None) -> str:
    fen = fen or 0
    return f"¥{fen // 100}.{fen % 100:02d}"


def num(value: float | None) -> str:
    """A reading as people write it: 138, 36.7 (never 138.0)."""
    if value is None or value == "":
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def service_name(order: NursingOrder) -> str:
    return (order.service_name_en or order.service_name) if i18n.get_locale() == "en" else order.service_name


async def names(session: AsyncSession, user_ids: set[int]) -> dict[int, str]:
    ids = {u for u in user_ids if u}
    if not ids:
        return {}
    return dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))).all())


async def nurse_name(session: AsyncSession, order: NursingOrder) -> str:
    return (await names(session, {order.nurse_user_id})).get(order.nurse_user_id, "") if order.nurse_user_id else ""


async def facility_name(session: AsyncSession, facility_id: int) -> str:
    facility = await session.get(Facility, facility_id)
    if facility is None:
        return ""
    return (facility.name_en or facility.name) if i18n.get_locale() == "en" else facility.name


async def order_context(session: AsyncSession, seen: OrderAccess) -> dict:
    order = seen.order
    events = await events_of(session, order.id)
    actors = await names(session, {e.actor_user_id for e in events if e.actor_user_id})
    return {
        "order": order, "parties": {p.value for p in seen.parties}, "actions": [a.value for a in seen.actions],
        "events": events, "actors": actors, "labels": labels, "yuan": yuan, "service_name": service_name(order),
        "facility_name": await facility_name(session, order.facility_id),
        "step": labels.STEP_OF.get(order.state, -1), "assessment": await assessment_of(session, order.id),
        "record": await record_of(session, order.id), "vitals": VITALS, "limits": LIMITS,
        "limit_labels": LIMIT_LABELS, "unpaid": not billing.is_settled(order),
        "charge": await billing.charge_of(session, order),
        "pay_url": f"/payments/charges/{order.charge_id}" if order.charge_id else "",
        "num": num, "tr": i18n.gettext,  # plain lookup for text that may be typed by people (no %-formatting)
    }
