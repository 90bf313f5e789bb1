"""The consultation case, its timeline and the record items it shares.

`version` is bumped by every transition with a conditional UPDATE (WHERE id AND version), so two
people acting on the same case at once cannot both win: the second finds the version moved."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.consultations.lifecycle import State
from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class Urgency(StrEnum):
    emergency = "emergency"
    urgent = "urgent"
    routine = "routine"


class Mode(StrEnum):
    live = "live"
    async_ = "async"


class ConsultationCase(Base):
    __tablename__ = "consultation_cases"
    __table_args__ = (
        Index("ix_consultation_cases_requester", "requesting_doctor_id", "id"),
        Index("ix_consultation_cases_target", "target_facility_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    requesting_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    requesting_doctor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(String(2000))
    clinical_summary: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(10))
    specialty_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    named_expert_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    target_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    assigned_expert_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), default=State.draft.value)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CaseEvent(Base):
    """One line of the case timeline: who did what, from which state to which."""

    __tablename__ = "consultation_case_events"
    # Analytics finds the cases submitted in a period by their `submit` event (migration 0006_analytics).
    __table_args__ = (Index("ix_consultation_case_events_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consultation_cases.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_part: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(2000), default="")


class CaseSharedItem(Base):
    __tablename__ = "consultation_shared_items"
    __table_args__ = (UniqueConstraint("case_id", "entry_id", name="uq_consultation_shared_items_case_entry"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consultation_cases.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("record_entries.id"))


class CaseTeamSeat(Base):
    """A seat on a multi-disciplinary team: a specialty the requester asked for (or the lead added),
    filled by a doctor the coordinator or the lead expert invites. The assigned expert leads the
    team and signs the whole opinion; members read the case, join the session and write their part."""

    __tablename__ = "consultation_team_seats"
    __table_args__ = (UniqueConstraint("case_id", "member_user_id", name="uq_consultation_team_seats_case_member"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consultation_cases.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    member_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invited_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
