"""Payments tables. Amounts are integer fen (1 yuan = 100 fen) everywhere.

Every money movement writes balanced `ledger_entries` (one `txn` sums to zero), so the books can be
checked against the charges and against the payment provider's own record at any time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class PricingRule(Base):
    """A discount by facility tier, e.g. the community discount. Editable by platform admins."""

    __tablename__ = "pricing_rules"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    tiers: Mapped[list] = mapped_column(JSON, default=list)
    percent_off: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PatientCoverage(Base):
    """The medical-insurance scheme a patient declared; insured items are split by its share."""

    __tablename__ = "patient_coverages"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    scheme: Mapped[str] = mapped_column(String(20))  # self_pay | employee | resident
    member_number: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Charge(Base):
    """What a patient owes for one thing they asked for (a visit, a test, medicine, nursing)."""

    __tablename__ = "charges"
    __table_args__ = (
        Index("ix_charges_purpose", "purpose", "purpose_id"),
        Index("ix_charges_patient", "patient_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    purpose_id: Mapped[int] = mapped_column(IdType)
    status: Mapped[str] = mapped_column(String(20))
    scheme: Mapped[str] = mapped_column(String(20))
    total_fen: Mapped[int] = mapped_column(Integer)
    discount_fen: Mapped[int] = mapped_column(Integer)
    insurance_fen: Mapped[int] = mapped_column(Integer)
    self_pay_fen: Mapped[int] = mapped_column(Integer)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    rules: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def receipt_number(self) -> str:
        return f"CB{self.created_at:%Y%m%d}{self.id:08d}"


class ChargeLine(Base):
    __tablename__ = "charge_lines"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("charges.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    unit_fen: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    insured: Mapped[bool] = mapped_column(Boolean)
    list_fen: Mapped[int] = mapped_column(Integer)
    discount_fen: Mapped[int] = mapped_column(Integer)
    insurance_fen: Mapped[int] = mapped_column(Integer)
    self_pay_fen: Mapped[int] = mapped_column(Integer)


class Payment(Base):
    """One attempt to collect a charge's self-pay part through a provider."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("provider", "provider_ref"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("charges.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # created | succeeded | failed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("charges.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    provider_ref: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class LedgerEntry(Base):
    """Double entry: positive debits, negative credits; the entries of one `txn` sum to zero."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_account", "account"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    txn: Mapped[str] = mapped_column(String(40), index=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("charges.id"), index=True)
    account: Mapped[str] = mapped_column(String(60))
    amount_fen: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # payment | refund | duplicate
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProviderTransaction(Base):
    """The demo provider's own book, kept apart from ours so reconciliation compares two records."""

    __tablename__ = "provider_transactions"
    __table_args__ = (UniqueConstraint("provider", "reference"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(64))
    merchant_order: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))  # charge | refund
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # open | succeeded
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
