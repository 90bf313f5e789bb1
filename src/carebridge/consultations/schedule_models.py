"""Tables about a case's time: missed response targets (breaches) and the live session's appointment.

A breach is keyed by (case, due_at): the case missed *that* deadline, once. Escalation gives the
case a new due_at, so a later miss is a new breach, and a sweep that finds nowhere to escalate
still writes the miss only once.

The appointment is one row per case: the confirmed slot, a pending proposal (from either side),
and the invitation's SEQUENCE, bumped whenever the confirmed slot changes or is cancelled, so
calendar programs replace the event instead of adding a second one (RFC 5545 3.8.7.4).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class ConsultationBreach(Base):
    __tablename__ = "consultation_breaches"
    __table_args__ = (
        UniqueConstraint("case_id", "due_at", name="uq_consultation_breaches_case_due"),
        Index("ix_consultation_breaches_target", "target_facility_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consultation_cases.id"), index=True)
    urgency: Mapped[str] = mapped_column(String(10))
    target_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    escalated_to_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    escalated_to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ConsultationAppointment(Base):
    __tablename__ = "consultation_appointments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consultation_cases.id"), unique=True)
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    proposed_starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    proposed_ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    proposed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_side: Mapped[str] = mapped_column(String(20), default="")
    proposal_note: Mapped[str] = mapped_column(String(2000), default="")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(String(2000), default="")
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
