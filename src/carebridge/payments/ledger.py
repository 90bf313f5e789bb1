"""The ledger: balanced postings for every money movement, and the checks that prove it.

Accounts: `provider:<name>` (money held by the payment provider), `insurance:<scheme>` (owed by
the insurance fund), `discount:<rule>` (price given away by a pricing rule) and
`facility:<id>:revenue`. Debits are positive, credits negative."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.payments.models import Charge, LedgerEntry, Payment, ProviderTransaction, Refund


class UnbalancedPosting(AssertionError):
    """A programming error: a posting that does not sum to zero must never reach the database."""


def revenue_account(facility_id: int) -> str:
    return f"facility:{facility_id}:revenue"


def post(session: AsyncSession, charge: Charge, kind: str, amounts: dict[str, int]) -> str:
    lines = {account: amount for account, amount in amounts.items() if amount}
    if sum(lines.values()) != 0:
        raise UnbalancedPosting(f"{kind} for charge {charge.id} does not balance: {lines}")
    txn = uuid.uuid4().hex
    session.add_all(LedgerEntry(txn=txn, charge_id=charge.id, account=account, amount_fen=amount, kind=kind)
                    for account, amount in lines.items())
    return txn


def post_payment(session: AsyncSession, charge: Charge, provider: str) -> str:
    rule = charge.rules[0] if charge.rules else "none"
    return post(session, charge, "payment", {
        f"provider:{provider}": charge.self_pay_fen, f"insurance:{charge.scheme}": charge.insurance_fen,
        f"discount:{rule}": charge.discount_fen, revenue_account(charge.facility_id): -charge.total_fen})


def post_full_reversal(session: AsyncSession, charge: Charge, provider: str, cash_fen: int) -> str:
    """Cancelled after payment: the remaining cash goes back, and the insurance claim and discount
    are withdrawn, so the facility keeps only what earlier partial refunds left it."""
    rule = charge.rules[0] if charge.rules else "none"
    return post(session, charge, "refund", {
        f"provider:{provider}": -cash_fen, f"insurance:{charge.scheme}": -charge.insurance_fen,
        f"discount:{rule}": -charge.discount_fen,
        revenue_account(charge.facility_id): cash_fen + charge.insurance_fen + charge.discount_fen})


def post_cash_refund(session: AsyncSession, charge: Charge, provider: str, amount_fen: int, kind: str) -> str:
    return post(session, charge, kind, {f"provider:{provider}": -amount_fen,
                                        revenue_account(charge.facility_id): amount_fen})


def post_duplicate(session: AsyncSession, charge: Charge, provider: str, amount_fen: int) -> str:
    """A second successful payment of one charge: received, held for the patient, returned."""
    return post(session, charge, "duplicate", {f"provider:{provider}": amount_fen,
                                               f"patient:{charge.patient_id}:overpaid": -amount_fen})


def post_duplicate_return(session: AsyncSession, charge: Charge, provider: str, amount_fen: int) -> str:
    return post(session, charge, "duplicate", {f"provider:{provider}": -amount_fen,
                                               f"patient:{charge.patient_id}:overpaid": amount_fen})


@dataclass
class Reconciliation:
    ledger_total_fen: int = 0
    unbalanced_txns: list[str] = field(default_factory=list)
    balances: dict[str, int] = field(default_factory=dict)
    # Each problem names the charge or provider reference and what disagrees.
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.ledger_total_fen == 0 and not self.unbalanced_txns and not self.problems


async def _provider_cash_by_charge(session: AsyncSession) -> dict[int, int]:
    """What the provider's own book says each charge collected, net of refunds."""
    paid = dict((await session.execute(
        select(Payment.charge_id, func.sum(ProviderTransaction.amount_fen))
        .join(Payment, (Payment.provider == ProviderTransaction.provider)
              & (Payment.provider_ref == ProviderTransaction.reference))
        .where(ProviderTransaction.kind == "charge", ProviderTransaction.status == "succeeded")
        .group_by(Payment.charge_id))).all())
    refunded = dict((await session.execute(
        select(Refund.charge_id, func.sum(ProviderTransaction.amount_fen))
        .join(Refund, Refund.provider_ref == ProviderTransaction.reference)
        .where(ProviderTransaction.kind == "refund").group_by(Refund.charge_id))).all())
    return {cid: paid.get(cid, 0) - refunded.get(cid, 0) for cid in set(paid) | set(refunded)}


async def reconcile(session: AsyncSession) -> Reconciliation:
    result = Reconciliation()
    result.ledger_total_fen = await session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)))
    result.unbalanced_txns = list((await session.scalars(
        select(LedgerEntry.txn).group_by(LedgerEntry.txn).having(func.sum(LedgerEntry.amount_fen) != 0))).all())
    result.balances = dict((await session.execute(
        select(LedgerEntry.account, func.sum(LedgerEntry.amount_fen)).group_by(LedgerEntry.account)
        .order_by(LedgerEntry.account))).all())
    ledger_cash = dict((await session.execute(
        select(LedgerEntry.charge_id, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.account.like("provider:%")).group_by(LedgerEntry.charge_id))).all())
    provider_cash = await _provider_cash_by_charge(session)
    for charge_id in sorted(set(ledger_cash) | set(provider_cash)):
        ours, theirs = ledger_cash.get(charge_id, 0), provider_cash.get(charge_id, 0)
        if ours != theirs:
            result.problems.append(f"charge {charge_id}: ledger holds {ours} fen at the provider, "
                                   f"the provider's book {theirs} fen")
    await _check_charges(session, result)
    return result


async def _check_charges(session: AsyncSession, result: Reconciliation) -> None:
    """A charge's own numbers must agree with what its postings say it collected and returned."""
    rows = (await session.execute(
        select(Charge.id, Charge.status, Charge.self_pay_fen, Charge.refunded_fen,
               func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
        .outerjoin(LedgerEntry, (LedgerEntry.charge_id == Charge.id) & LedgerEntry.account.like("provider:%")
                   & (LedgerEntry.kind != "duplicate"))
        .group_by(Charge.id, Charge.status, Charge.self_pay_fen, Charge.refunded_fen))).all()
    for charge_id, status, self_pay, refunded, held in rows:
        expected = self_pay - refunded if status in {"paid", "partly_refunded", "refunded"} else 0
        if held != expected:
            result.problems.append(f"charge {charge_id} ({status}): expected {expected} fen collected, "
                                   f"the ledger holds {held} fen")
