"""Tables of medicine delivery: the order with its priced lines and timeline, the patient's
remembered addresses, and every courier event that reached the webhook (accepted or refused)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class DeliveryOrder(Base):
    """One fulfilment of one source (a prescription ...): picked up at the pharmacy or delivered."""

    __tablename__ = "delivery_orders"
    __table_args__ = (
        # A tracking number names one parcel of one courier; the webhook finds the order by it.
        UniqueConstraint("courier", "tracking_number"),
        Index("ix_delivery_orders_facility_state", "facility_id", "state", "id"),
        Index("ix_delivery_orders_patient", "patient_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    source_kind: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[int] = mapped_column(IdType)
    # "<kind>:<id>" while the order stands, NULL once cancelled: a source is fulfilled at most once
    # at a time (unique; NULLs do not collide), and a cancelled order does not block a new one.
    claim_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    cold_chain: Mapped[bool] = mapped_column(Boolean, default=False)
    drugs_fen: Mapped[int] = mapped_column(Integer)
    fees_fen: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(Integer)
    charge_id: Mapped[int | None] = mapped_column(IdType)  # the payments charge (purpose "fulfilment")
    # The address as it was when ordered; a remembered address edited later does not change it.
    recipient: Mapped[str] = mapped_column(String(50), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    address_detail: Mapped[str] = mapped_column(String(200), default="")
    courier: Mapped[str | None] = mapped_column(String(20))
    tracking_number: Mapped[str | None] = mapped_column(String(40))
    pickup_code: Mapped[str] = mapped_column(String(6), default="")
    state_reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DeliveryLine(Base):
    """What the charge is for: the dispensed drugs, then the fees (kind "drug" or "fee")."""

    __tablename__ = "delivery_lines"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("delivery_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    unit_fen: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    insured: Mapped[bool] = mapped_column(Boolean, default=False)


class DeliveryEvent(Base):
    """One row of the timeline the patient sees: who did what, when, where, with a note."""

    __tablename__ = "delivery_events"
    __table_args__ = (Index("ix_delivery_events_order_time", "order_id", "occurred_at", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("delivery_orders.id"))
    action: Mapped[str] = mapped_column(String(20))  # lifecycle action, or "place"
    state: Mapped[str] = mapped_column(String(20))  # the order's state after it
    courier_event: Mapped[str] = mapped_column(String(20), default="")  # the courier's word for it
    party: Mapped[str] = mapped_column(String(10))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryAddress(Base):
    """An address a patient had medicine sent to, offered again next time; forgotten, never deleted."""

    __tablename__ = "delivery_addresses"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    forgotten_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CourierEvent(Base):
    """Every call of the courier webhook, kept whatever became of it, so nothing a courier sent is
    lost: applied, recorded on the timeline only, ignored as out of order, or refused (bad
    signature, stale timestamp, unknown tracking number, unreadable body)."""

    __tablename__ = "delivery_courier_events"
    __table_args__ = (Index("ix_delivery_courier_events_received", "courier", "received_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    courier: Mapped[str] = mapped_column(String(20))
    # "<courier>:<event id>" for authentic events: a replayed or duplicated event finds its first
    # copy here (unique) and changes nothing. Refused calls leave it NULL, so a forged copy of an
    # event id cannot block the real one.
    dedupe_key: Mapped[str | None] = mapped_column(String(140), unique=True)
    event_id: Mapped[str] = mapped_column(String(100), default="")
    tracking_number: Mapped[str] = mapped_column(String(40), default="")
    event: Mapped[str] = mapped_column(String(20), default="")
    occurred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    location: Mapped[str] = mapped_column(String(200), default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_orders.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    problem: Mapped[str] = mapped_column(String(200), default="")
    remote_ip: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # the raw body as sent (capped), for disputes
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
