"""What can be dispensed: a registry of sources, so delivery never imports the features it serves.

A source is a kind of thing that puts medicine in a patient's hands: a pharmacist-approved
prescription (kind "prescription", from portal/pharmacy, registered where the app is wired), or in
tests and the demo something smaller. It answers two questions:

- `resolve(session, source_id) -> Dispensable | None`: what would be dispensed now, for whom, where,
  at what price; None when it is not dispensable now (not approved, voided, expired ...). It only
  reads and does no authorization: delivery decides who may order it (`access_patient`).
- `on_dispensed(session, source_id)`: the medicine was handed over at the pharmacy or delivered to
  the patient; called once, in the transaction that records it.

The order keeps a snapshot of the lines and the price it was paid at, so what the patient sees of a
past order never changes when a source's data later does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.errors import ConfigurationError, InvalidInput
from carebridge.kit.i18n import N_


@dataclass(frozen=True)
class DispensedLine:
    code: str  # the drug's code in the facility's catalogue
    label: str  # name, strength and form as the patient should read it
    unit_fen: int
    quantity: int
    insured: bool = False  # covered by basic medical insurance (the payments quote splits it)


@dataclass(frozen=True)
class Dispensable:
    patient_id: int
    facility_id: int  # whose pharmacy dispenses it
    label: str  # e.g. "Prescription RX-2026-0042", shown to the patient and the pharmacy
    lines: list[DispensedLine] = field(default_factory=list)
    cold_chain: bool = False  # any line must stay between 2 and 8 °C


Resolve = Callable[[AsyncSession, int], Awaitable[Dispensable | None]]
OnDispensed = Callable[[AsyncSession, int], Awaitable[None]]


@dataclass(frozen=True)
class Source:
    kind: str
    resolve: Resolve
    on_dispensed: OnDispensed


_sources: dict[str, Source] = {}


def register_source(kind: str, resolve: Resolve, on_dispensed: OnDispensed) -> None:
    """Registering the same kind again replaces it (a reloaded module, a test's own source)."""
    _sources[kind] = Source(kind, resolve, on_dispensed)


def unregister_source(kind: str) -> None:
    _sources.pop(kind, None)


def registered_kinds() -> list[str]:
    return sorted(_sources)


def _source(kind: str) -> Source:
    found = _sources.get(kind)
    if found is None:
        raise InvalidInput(N_("this kind of order cannot be delivered"), details={"field": "source_kind",
                                                                               "kind": kind})
    return found


async def resolve(session: AsyncSession, kind: str, source_id: int) -> Dispensable | None:
    dispensable = await _source(kind).resolve(session, source_id)
    if dispensable is not None:
        _check(dispensable)
    return dispensable


async def dispensed(session: AsyncSession, kind: str, source_id: int) -> None:
    found = _sources.get(kind)
    if found is None:
        # An order exists only for a kind that was registered when it was placed; its source going
        # missing later is a deployment error that must not pass silently.
        raise ConfigurationError(f"delivery source kind {kind!r} is not registered")
    await found.on_dispensed(session, source_id)


def _check(dispensable: Dispensable) -> None:
    """A source's bug must not become a wrong charge."""
    if not dispensable.lines:
        raise ConfigurationError("a dispensable must have at least one line")
    for line in dispensable.lines:
        if not isinstance(line.unit_fen, int) or line.unit_fen < 0 or not isinstance(line.quantity, int) \
                or line.quantity < 1:
            raise ConfigurationError(f"dispensable line {line.code!r}: unit_fen and quantity must be whole, "
                                     "non-negative fen and a positive count")
