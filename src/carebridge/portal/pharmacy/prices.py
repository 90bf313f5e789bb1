"""The medicines on the public price list (payments.price_list): the catalogue's pack prices at
every facility whose pharmacy dispenses, which is where the medicine is charged."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit.i18n import gettext as _
from carebridge.payments.price_list import PriceEntry, price_source
from carebridge.portal.pharmacy import catalogue, checks, service


@price_source
async def medicine_prices(session: AsyncSession, facility_id: int) -> list[PriceEntry]:
    if not await service.has_pharmacist(session, facility_id):
        return []
    pick = 1 if catalogue.english() else 0
    return [PriceEntry(category=_("Medicines"), code=drug.code,
                       label=_("%(drug)s (%(n)s per %(pack)s)") % {
                           "drug": catalogue.drug_label(drug), "n": drug.pack_count,
                           "pack": checks.PACKS.get(drug.pack_unit, ["", ""])[pick]},
                       unit_fen=drug.price_fen, insured=drug.insured)
            for drug in await catalogue.search_drugs(session, limit=500)]
