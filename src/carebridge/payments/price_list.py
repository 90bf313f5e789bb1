"""The public price list: every feature that sells something (visits, tests, medicine, nursing)
registers a source of its catalogue; the page shows list price and the price after the facility's
pricing rule, so a patient can compare a community centre with a hospital before booking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.network.models import Facility
from carebridge.payments.pricing import best_rule, share


@dataclass(frozen=True)
class PriceEntry:
    category: str  # translated: "Tests", "Home nursing" ...
    code: str
    label: str  # translated
    unit_fen: int
    insured: bool = False


@dataclass(frozen=True)
class PricedEntry:
    entry: PriceEntry
    price_fen: int  # after the facility's pricing rule, before insurance


Source = Callable[[AsyncSession, int], Awaitable[list[PriceEntry]]]
_sources: list[Source] = []


def price_source(source: Source) -> Source:
    if source not in _sources:
        _sources.append(source)
    return source


async def price_list(session: AsyncSession, facility: Facility) -> tuple[list[PricedEntry], str]:
    """Entries of every source for this facility, and the code of the pricing rule applied."""
    rule_code, percent_off = await best_rule(session, facility) or ("", 0)
    entries = [entry for source in _sources for entry in await source(session, facility.id)]
    priced = [PricedEntry(e, e.unit_fen - share(e.unit_fen, percent_off)) for e in entries]
    return sorted(priced, key=lambda p: (p.entry.category, p.entry.label)), rule_code if percent_off else ""
