""""My orders" source: the patient's home-nursing orders (portal/mine.py gathers them)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit import i18n
from carebridge.kit.i18n import gettext as _
from carebridge.portal.home_nursing.labels import STATES
from carebridge.portal.home_nursing.lifecycle import State
from carebridge.portal.home_nursing.models import NursingOrder
from carebridge.portal.mine import MyItem, my_items_source

LIMIT = 50


@my_items_source
async def nursing_items(session: AsyncSession, patient_id: int) -> list[MyItem]:
    orders = (await session.scalars(select(NursingOrder).where(NursingOrder.patient_id == patient_id)
                                    .order_by(NursingOrder.window_start.desc()).limit(LIMIT))).all()
    english = i18n.get_locale() == "en"
    return [MyItem(kind="nursing", title=_("Home nursing: %(service)s") % {
                       "service": (o.service_name_en or o.service_name) if english else o.service_name},
                   status=o.state, status_label=_(STATES[o.state]), when=o.window_start,
                   url=f"/portal/nursing/{o.id}", needs_action=o.state == State.checked_out or (
                       o.state == State.assessed and o.charge_id is not None and o.paid_at is None))
            for o in orders]
