"""Who hears of a move, and how.

- Every move pushes `{"type": "delivery", "order_id", "state"}` to the patient's side (the
  patient's own login and whoever placed the order for them) over their notifications socket, after
  commit; an open order page reloads its timeline on it (static/delivery-live.js). No row, no SMS.
- The moves a patient waits for (paid, shipped, ready for pickup, delivered, failed, returned,
  cancelled) also become notifications, in each recipient's language, naming the order but no
  drugs (notifications also leave by SMS and email).
- A paid order tells the dispensing facility's pharmacists there is medicine to prepare.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.kit.i18n import N_
from carebridge.notifications.push import user_topic
from carebridge.notifications.service import notify_in_their_language
from carebridge.portal.delivery.models import DeliveryEvent, DeliveryOrder
from carebridge.realtime.publish import publish_after_commit

KIND = "delivery"
TELL_PATIENT = {
    "paid": N_("Payment received for medicine order %(order)s"),
    "shipped": N_("Your medicine (order %(order)s) is on its way"),
    "ready_for_pickup": N_("Your medicine (order %(order)s) is ready for pickup"),
    "delivered": N_("Your medicine (order %(order)s) was delivered"),
    "failed": N_("Delivery of medicine order %(order)s failed"),
    "returned": N_("Medicine order %(order)s was returned to the pharmacy"),
    "cancelled": N_("Medicine order %(order)s was cancelled"),
}
BODY = N_("Open the order to see its timeline.")


def order_link(order_id: int) -> str:
    return f"/portal/deliveries/{order_id}"


async def patient_side(session: AsyncSession, order: DeliveryOrder) -> list[int]:
    """The patient's own logins and the person who placed the order (family acting for them)."""
    own = (await session.scalars(select(User.id).where(User.patient_id == order.patient_id, User.is_active))).all()
    return sorted({*own, order.created_by_id})


async def pharmacists(session: AsyncSession, facility_id: int) -> list[int]:
    return list((await session.scalars(
        select(RoleAssignment.user_id).join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.facility_id == facility_id, RoleAssignment.role == Role.pharmacist.value,
               User.is_active))).all())


async def tell(session: AsyncSession, user_ids: Iterable[int], *, title: str, body: str, params: dict,
               link: str) -> None:
    """`title` and `body` are msgids with %(name)s placeholders, written in each recipient's language."""
    await notify_in_their_language(session, user_ids, kind=KIND, title=title, body=body, params=params, link=link)


def order_number(order: DeliveryOrder) -> str:
    return f"MD{order.id:06d}"


async def order_moved(session: AsyncSession, order: DeliveryOrder, event: DeliveryEvent) -> None:
    users = await patient_side(session, order)
    message = {"type": "delivery", "order_id": order.id, "state": order.state, "event_id": event.id}
    for user_id in users:
        publish_after_commit(session, user_topic(user_id), message)
    params = {"order": order_number(order)}
    if event.action != "track" and order.state in TELL_PATIENT:
        await tell(session, users, title=TELL_PATIENT[order.state], body=BODY, params=params,
                   link=order_link(order.id))
    if event.action == "pay":
        await tell(session, await pharmacists(session, order.facility_id),
                   title=N_("Medicine order %(order)s is paid and waits to be dispensed"),
                   body=N_("Open the dispensing list to prepare it."), params=params, link="/pharmacy/dispensing")
