"""What happens when a home visit is paid: the payments feature calls this in the transaction that
records the payment, exactly once per charge. The order notes it, its coordinators are told it can
be dispatched, and with automatic dispatch on the best nurse is offered it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit.i18n import N_
from carebridge.payments.models import Charge
from carebridge.payments.service import on_paid
from carebridge.portal.home_nursing import notices
from carebridge.portal.home_nursing.billing import PURPOSE
from carebridge.portal.home_nursing.dispatch import offer_automatically
from carebridge.portal.home_nursing.lifecycle import Party, State
from carebridge.portal.home_nursing.models import NursingOrder
from carebridge.portal.home_nursing.service import add_event, audit_order


@on_paid(PURPOSE)
async def nursing_paid(session: AsyncSession, charge: Charge) -> None:
    order = await session.get(NursingOrder, charge.purpose_id, with_for_update=True)
    if order is None or order.paid_at is not None:
        return
    order.charge_id = order.charge_id or charge.id
    order.paid_at = charge.paid_at
    await session.flush()
    await add_event(session, None, order, "paid", Party.system)
    await audit_order(session, None, order, "paid", charge_id=charge.id, self_pay_fen=charge.self_pay_fen)
    if order.state != State.assessed:
        return
    if not await offer_automatically(session, order):
        await notices.tell(session, await notices.coordinators(session, order.facility_id), order=order,
                           title=N_("Home visit paid, ready to dispatch: %(service)s"),
                           link=notices.staff_link(order.id))
