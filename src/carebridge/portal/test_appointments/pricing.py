"""What a test costs a patient at a facility. Every price a page or the API shows, and the one a
booking records, comes from the payments feature's `quote()`, which owns the pricing rules (the
community-level discount at township and community centres, 10 % unless an administrator changed
it) and the patient's insurance split. This module only says how a catalogue test becomes a price
line, and registers the tests in the public price list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit import i18n
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import TIER_LEVEL, Facility, Tier
from carebridge.payments.price_list import PriceEntry, price_source
from carebridge.payments.service import PriceLine, quote
from carebridge.portal.test_appointments.models import CatalogueTest

PRIMARY_CARE_LEVEL = TIER_LEVEL[Tier.community_center]


@dataclass(frozen=True)
class Price:
    list_fen: int
    discount_fen: int
    insurance_fen: int
    self_pay_fen: int
    rules: tuple[str, ...] = ()  # codes of the pricing rules applied (labels.RULE names them)


def price_line(test: CatalogueTest) -> PriceLine:
    return PriceLine(code=f"test:{test.code}", label=test.name, unit_fen=test.list_price_fen, insured=test.insured)


async def price_test(session: AsyncSession, *, facility: Facility, patient_id: int, test: CatalogueTest) -> Price:
    quoted = await quote(session, facility_id=facility.id, patient_id=patient_id, lines=[price_line(test)])
    return Price(quoted.total_fen, quoted.discount_fen, quoted.insurance_fen, quoted.self_pay_fen,
                 tuple(quoted.rules))


@price_source
async def test_prices(session: AsyncSession, facility_id: int) -> list[PriceEntry]:
    tests = (await session.scalars(select(CatalogueTest).where(CatalogueTest.facility_id == facility_id,
                                                               CatalogueTest.active.is_(True))
                                   .order_by(CatalogueTest.category, CatalogueTest.code))).all()
    english = i18n.get_locale() == "en"
    return [PriceEntry(category=_("Tests"), code=f"test:{t.code}", label=(t.name_en or t.name) if english else t.name,
                       unit_fen=t.list_price_fen, insured=t.insured) for t in tests]

