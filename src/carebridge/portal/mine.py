""""My orders": every feature of the internet hospital lists what a patient asked of it.

The portal's order page must not import every feature (and features must not import the page),
so each feature registers a source here and the page gathers them. The caller has already
authorised the patient through `access_patient`; a source only reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class MyItem:
    kind: str  # visit, prescription, refill, delivery, test, nursing, payment
    title: str  # translated, e.g. "Follow-up visit with Dr Wang"
    status: str  # machine value of the feature's lifecycle
    status_label: str  # translated
    when: dt.datetime  # what the patient would sort by: the appointment, else the request time
    url: str  # the patient's page for this item
    needs_action: bool = False  # unpaid, to confirm, to rate ...


Source = Callable[[AsyncSession, int], Awaitable[list[MyItem]]]
_sources: list[Source] = []


def my_items_source(source: Source) -> Source:
    if source not in _sources:
        _sources.append(source)
    return source


async def my_items(session: AsyncSession, patient_id: int) -> list[MyItem]:
    items = [item for source in _sources for item in await source(session, patient_id)]
    return sorted(items, key=lambda item: (not item.needs_action, -item.when.timestamp()))
