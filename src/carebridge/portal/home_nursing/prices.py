"""The catalogue on the public price list (payments/price_list.py), next to the other features."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit import i18n
from carebridge.kit.i18n import gettext as _
from carebridge.payments.price_list import PriceEntry, price_source
from carebridge.portal.home_nursing.catalogue import list_services


@price_source
async def nursing_prices(session: AsyncSession, facility_id: int) -> list[PriceEntry]:
    english = i18n.get_locale() == "en"
    return [PriceEntry(category=_("Home nursing"), code=s.code, label=(s.name_en or s.name) if english else s.name,
                       unit_fen=s.price_fen, insured=s.insured) for s in await list_services(session, facility_id)]
