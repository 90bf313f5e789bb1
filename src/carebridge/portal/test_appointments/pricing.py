"""What a test costs a patient at a facility. Every price a page or the API shows, and the one a
booking records, comes from `price_test`, the only place that knows how prices are made.

Until the payments feature (`carebridge.payments.service.quote`) is on main, this applies the
community-level discount itself (township and community centres, percent from the settings);
afterwards it asks `quote()`, which owns the pricing rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.config import get_settings
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import TIER_LEVEL, Facility, Tier
from carebridge.portal.test_appointments.models import CatalogueTest

PRIMARY_CARE_LEVEL = TIER_LEVEL[Tier.community_center]


@dataclass(frozen=True)
class Price:
    list_fen: int
    discount_fen: int
    insurance_fen: int
    self_pay_fen: int
    rules: tuple[str, ...] = ()


async def price_test(session: AsyncSession, *, facility: Facility, patient_id: int, test: CatalogueTest) -> Price:
    percent = get_settings().test_appointments_community_discount_percent
    if facility.level != PRIMARY_CARE_LEVEL or percent == 0:
        return Price(test.list_price_fen, 0, 0, test.list_price_fen)
    discount = (test.list_price_fen * percent + 50) // 100  # integer fen, half up
    rule = _("Community-level discount %(percent)s%%") % {"percent": percent}
    return Price(test.list_price_fen, discount, 0, test.list_price_fen - discount, (rule,))


def yuan(fen: int) -> str:
    """¥12.30: what a patient reads; the arithmetic stays in fen."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"
