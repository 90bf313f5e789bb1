"""Online follow-up visits: what doctors publish (a series of slots, counted per day) and what
patients book (a visit that names the condition it follows up), with the visit's text chat.

Two counters decide a booking, both taken by conditional UPDATE in the booking's transaction:
`visit_days.booked < capacity` (the series' daily maximum) and `visit_slots.taken = false` (one
patient per slot). A cancellation gives both back."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class VisitSeries(Base):
    """One publication: every chosen weekday in a date range, visits of a fixed length from a start to an
    end time (local time of the network, minutes after midnight), a buffer between them, at most
    `daily_max` booked per day, cancellable by the patient until `cancel_cutoff_hours` before."""

    __tablename__ = "visit_series"
    __table_args__ = (Index("ix_visit_series_doctor", "doctor_user_id", "first_day"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    doctor_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    weekdays: Mapped[str] = mapped_column(String(7))  # ISO weekday digits, "12345" = Monday to Friday
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)
    visit_minutes: Mapped[int] = mapped_column(Integer)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    daily_max: Mapped[int] = mapped_column(Integer)
    cancel_cutoff_hours: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(10))  # video | text
    price_fen: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class VisitDay(Base):
    """The daily maximum of one series on one day, as a counter a booking takes by conditional UPDATE."""

    __tablename__ = "visit_days"
    __table_args__ = (UniqueConstraint("series_id", "day"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("visit_series.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)


class VisitSlot(Base):
    __tablename__ = "visit_slots"
    __table_args__ = (Index("ix_visit_slots_doctor_time", "doctor_user_id", "starts_at"),
                      Index("ix_visit_slots_facility_time", "facility_id", "starts_at"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("visit_series.id"), index=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("visit_days.id"))
    doctor_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    taken: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Visit(Base):
    """A booked online follow-up visit. Price, mode, times and the cancellation cut-off are copied
    from the slot when booked: what the patient agreed to does not change if the doctor edits later."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_doctor_time", "doctor_user_id", "starts_at"),
                      Index("ix_visits_patient_time", "patient_id", "starts_at"),
                      Index("ix_visits_state_time", "state", "starts_at"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("visit_slots.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    doctor_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    # The condition this visit follows up: an entry of the patient's record diagnosed in person.
    condition_id: Mapped[int] = mapped_column(ForeignKey("record_entries.id"))
    condition_code: Mapped[str] = mapped_column(String(10))
    condition_display: Mapped[str] = mapped_column(String(300), default="")
    complaint: Mapped[str] = mapped_column(String(1000), default="")  # what the patient says changed
    mode: Mapped[str] = mapped_column(String(10))
    price_fen: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cancel_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20))
    state_reason: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    charge_id: Mapped[int | None] = mapped_column(IdType)  # the payments charge, when the visit has a price
    registered_by_booking: Mapped[bool] = mapped_column(Boolean, default=False)
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # completed, cancelled or no-show
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("record_entries.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class VisitMessage(Base):
    """The visit's chat: the whole of a text visit, and the side channel of a video visit."""

    __tablename__ = "visit_messages"
    __table_args__ = (Index("ix_visit_messages_visit", "visit_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    author_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(200))  # as it was when written
    text: Mapped[str] = mapped_column(String(4000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
