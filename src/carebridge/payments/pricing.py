"""Prices: list price, the pricing rules of the facility's tier, and the insurance split.

The split is decided per line, rounded half up to the fen, so the lines always add up to the
charge and the receipt shows the same numbers the ledger holds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.config import get_settings
from carebridge.errors import InvalidInput, NotFound
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.payments.models import PatientCoverage, PricingRule

SELF_PAY, EMPLOYEE, RESIDENT = "self_pay", "employee", "resident"
SCHEMES = (SELF_PAY, EMPLOYEE, RESIDENT)
MAX_LINE_FEN = 10_000_000  # ¥100,000: far above anything the internet hospital sells
MAX_QUANTITY = 1000


@dataclass(frozen=True)
class PriceLine:
    code: str
    label: str
    unit_fen: int
    quantity: int = 1
    insured: bool = False


@dataclass(frozen=True)
class QuoteLine:
    line: PriceLine
    list_fen: int
    discount_fen: int
    insurance_fen: int
    self_pay_fen: int


@dataclass(frozen=True)
class Quote:
    lines: list[QuoteLine]
    scheme: str
    rules: list[str]  # codes of the pricing rules applied

    @property
    def total_fen(self) -> int:
        return sum(q.list_fen for q in self.lines)

    @property
    def discount_fen(self) -> int:
        return sum(q.discount_fen for q in self.lines)

    @property
    def insurance_fen(self) -> int:
        return sum(q.insurance_fen for q in self.lines)

    @property
    def self_pay_fen(self) -> int:
        return sum(q.self_pay_fen for q in self.lines)


def share(amount_fen: int, percent: int) -> int:
    return (amount_fen * percent + 50) // 100


def insurance_percent(scheme: str) -> int:
    settings = get_settings()
    return {EMPLOYEE: settings.payments_employee_insurance_percent,
            RESIDENT: settings.payments_resident_insurance_percent}.get(scheme, 0)


def _check(lines: list[PriceLine]) -> None:
    if not lines:
        raise InvalidInput(N_("a charge needs at least one item"), details={"field": "lines"})
    for line in lines:
        if not 0 <= line.unit_fen <= MAX_LINE_FEN or not 1 <= line.quantity <= MAX_QUANTITY:
            raise InvalidInput(N_("an item has an impossible price or quantity"),
                               details={"field": "lines", "code": line.code})


async def best_rule(session: AsyncSession, facility: Facility) -> tuple[str, int] | None:
    """(code, percent off) of the largest discount for the facility's tier. Columns, not entities:
    a rule edited since this session loaded it must price with its new value."""
    rules = (await session.execute(select(PricingRule.code, PricingRule.tiers, PricingRule.percent_off)
                                   .where(PricingRule.active))).all()
    fitting = [(code, percent) for code, tiers, percent in rules if str(facility.tier) in (tiers or [])]
    return max(fitting, key=lambda rule: rule[1], default=None)


async def patient_scheme(session: AsyncSession, patient_id: int) -> str:
    scheme = await session.scalar(select(PatientCoverage.scheme).where(PatientCoverage.patient_id == patient_id))
    return scheme or SELF_PAY


async def quote(session: AsyncSession, *, facility_id: int, patient_id: int | None, lines: list[PriceLine]) -> Quote:
    """What the patient would pay at this facility. Without a patient, the self-pay price."""
    _check(lines)
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise NotFound(N_("facility not found"))
    rule_code, percent_off = await best_rule(session, facility) or ("", 0)
    scheme = await patient_scheme(session, patient_id) if patient_id else SELF_PAY
    covered = insurance_percent(scheme)
    quoted = []
    for line in lines:
        list_fen = line.unit_fen * line.quantity
        discount = share(list_fen, percent_off)
        insurance = share(list_fen - discount, covered) if line.insured else 0
        quoted.append(QuoteLine(line, list_fen, discount, insurance, list_fen - discount - insurance))
    return Quote(quoted, scheme, [rule_code] if percent_off else [])
