"""Tables of the reading worklist: who reads what at a hub, the assignment history, missed targets.

- `reader_profiles`: a doctor's reading subspecialty at one hub (modalities and body parts; an empty
  list means "any") and whether they may sign a final report. A doctor without a row reads anything
  and signs final unless their practitioner title is resident (preliminary only).
- `diagnosis_assignments`: every assignment of an order to a reader, automatic (`assigned_by_id`
  NULL) or by hand; the newest row per reader breaks ties ("least recently assigned").
- `diagnosis_breaches`: an order whose turnaround target passed unsigned, written once per
  (order, due_at) by the escalation sweep, with the reader it was assigned to at that moment."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class ReaderProfile(Base):
    __tablename__ = "reader_profiles"
    __table_args__ = (UniqueConstraint("user_id", "facility_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    modalities: Mapped[list[str]] = mapped_column(JSON, default=list)
    body_parts: Mapped[list[str]] = mapped_column(JSON, default=list)
    can_sign_final: Mapped[bool] = mapped_column(Boolean, default=True)
    # False: a doctor at the hub who does not read (never assigned, never the on-call reader).
    reads: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ReadingAssignment(Base):
    __tablename__ = "diagnosis_assignments"
    __table_args__ = (Index("ix_diagnosis_assignments_reader", "reader_user_id", "assigned_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_orders.id"), index=True)
    reader_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(500), default="")


class ReadingBreach(Base):
    __tablename__ = "diagnosis_breaches"
    __table_args__ = (UniqueConstraint("order_id", "due_at"),
                      Index("ix_diagnosis_breaches_hub", "hub_facility_id", "id"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_orders.id"))
    hub_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    urgency: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reader_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
