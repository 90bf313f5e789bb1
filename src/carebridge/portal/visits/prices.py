"""The visits on the public price list (payments.price_list): per doctor and mode, the price of
the follow-up visits a facility currently offers."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import User
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.payments.price_list import PriceEntry, price_source
from carebridge.portal.visits.labels import MODE_LABELS
from carebridge.portal.visits.models import VisitSeries, VisitSlot

CATEGORY = N_("Online follow-up visits")


@price_source
async def visit_prices(session: AsyncSession, facility_id: int) -> list[PriceEntry]:
    rows = (await session.execute(
        select(VisitSeries.doctor_user_id, User.display_name, VisitSeries.mode, func.min(VisitSeries.price_fen))
        .join(User, User.id == VisitSeries.doctor_user_id)
        .where(VisitSeries.facility_id == facility_id, VisitSeries.withdrawn_at.is_(None), VisitSeries.id.in_(
            select(VisitSlot.series_id).where(VisitSlot.starts_at > utcnow(), VisitSlot.withdrawn_at.is_(None))))
        .group_by(VisitSeries.doctor_user_id, User.display_name, VisitSeries.mode))).all()
    return [PriceEntry(category=_(CATEGORY), code=f"visit_{mode}_{doctor}", label=f"{_(MODE_LABELS[mode])} · {name}",
                       unit_fen=price)
            for doctor, name, mode, price in rows]
