"""The price of a fulfilment: the dispensed drugs plus the fee rules in settings. Integer fen only.

- pickup at the facility pharmacy: the drugs, nothing more;
- delivery: the drugs, the delivery fee (waived when the drugs reach `delivery_free_over_fen`, if
  set), and the cold-chain surcharge when any line must stay cold.

Discounts and insurance are the payments quote's business; this only builds the lines it prices.
"""

from __future__ import annotations

from dataclasses import dataclass

from carebridge.config import Settings
from carebridge.kit.i18n import N_
from carebridge.portal.delivery.lifecycle import Method
from carebridge.portal.delivery.sources import Dispensable

DELIVERY_FEE, COLD_CHAIN_FEE = "delivery_fee", "cold_chain_fee"
FEE_LABELS = {DELIVERY_FEE: N_("Delivery fee"), COLD_CHAIN_FEE: N_("Cold-chain surcharge")}


@dataclass(frozen=True)
class Line:
    kind: str  # "drug" or "fee"
    code: str
    label: str
    unit_fen: int
    quantity: int = 1
    insured: bool = False

    @property
    def total_fen(self) -> int:
        return self.unit_fen * self.quantity


@dataclass(frozen=True)
class Price:
    lines: list[Line]
    cold_chain: bool
    fee_waived: bool = False

    @property
    def drugs_fen(self) -> int:
        return sum(line.total_fen for line in self.lines if line.kind == "drug")

    @property
    def fees_fen(self) -> int:
        return sum(line.total_fen for line in self.lines if line.kind == "fee")

    @property
    def total_fen(self) -> int:
        return self.drugs_fen + self.fees_fen


def price(dispensable: Dispensable, method: Method | str, settings: Settings) -> Price:
    drugs = [Line("drug", d.code, d.label, d.unit_fen, d.quantity, d.insured) for d in dispensable.lines]
    if Method(method) is Method.pickup:
        return Price(drugs, dispensable.cold_chain)
    drugs_fen = sum(line.total_fen for line in drugs)
    waived = 0 < settings.delivery_free_over_fen <= drugs_fen
    fees = [] if waived else [Line("fee", DELIVERY_FEE, FEE_LABELS[DELIVERY_FEE], settings.delivery_fee_fen)]
    if dispensable.cold_chain:
        fees.append(Line("fee", COLD_CHAIN_FEE, FEE_LABELS[COLD_CHAIN_FEE], settings.delivery_cold_chain_fee_fen))
    return Price(drugs + [f for f in fees if f.unit_fen > 0], dispensable.cold_chain, waived)
