"""The patient's "my orders" page lists their medicine orders (portal.mine); imported by api and pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit.i18n import gettext as _
from carebridge.portal.delivery import labels
from carebridge.portal.delivery.models import DeliveryOrder
from carebridge.portal.mine import MyItem, my_items_source

LISTED = 100


@my_items_source
async def delivery_items(session: AsyncSession, patient_id: int) -> list[MyItem]:
    orders = (await session.scalars(select(DeliveryOrder).where(DeliveryOrder.patient_id == patient_id)
                                    .order_by(DeliveryOrder.id.desc()).limit(LISTED))).all()
    return [MyItem(kind="delivery", title=f"{_(labels.METHODS[o.method])}: {o.label}", status=o.state,
                   status_label=labels.state(o.state), when=o.created_at, url=f"/portal/deliveries/{o.id}",
                   needs_action=o.state in labels.OPEN_FOR_PATIENT) for o in orders]
