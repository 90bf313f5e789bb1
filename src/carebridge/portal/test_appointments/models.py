"""Appointments for medical tests: each facility's catalogue and opening hours, the bookings
patients make, the lab orders those become, and the doctor's orders that non-self-bookable tests
need.

Capacity is a counter per (test, block start) in `test_slot_counts`, taken with a conditional
UPDATE (`booked < capacity`), so two patients taking the last place cannot both win on either
engine. A booking moves only through conditional UPDATEs on its `version` (lifecycle.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class CatalogueTest(Base):
    """One test a facility performs. `code` is the key shared across facilities, so a patient can
    compare them: the LOINC order code for a lab test, `<modality>-<body part>` (or just the
    modality) for imaging and ECG, the modality being the DICOM code diagnostics routes on."""

    __tablename__ = "test_catalogue"
    __table_args__ = (
        UniqueConstraint("facility_id", "code", name="uq_test_catalogue_facility_code"),
        Index("ix_test_catalogue_code_active", "code", "active"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(20))
    modality: Mapped[str] = mapped_column(String(8), default="")  # imaging and ECG only
    body_part: Mapped[str] = mapped_column(String(64), default="")  # DICOM Body Part Examined
    # Lab tests: the LOINC codes of the results a technician enters (a panel has several).
    result_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    prep: Mapped[str] = mapped_column(String(1000), default="")
    prep_en: Mapped[str] = mapped_column(String(1000), default="")
    duration_minutes: Mapped[int] = mapped_column(Integer, default=15)
    list_price_fen: Mapped[int] = mapped_column(Integer)
    insured: Mapped[bool] = mapped_column(Boolean, default=False)
    # The facility may require a doctor's order even for a test the network lets patients self-book.
    self_bookable: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpeningHours(Base):
    """When a test is offered: on these ISO weekdays ("12345" = Monday to Friday), from `opens` to
    `closes` (minutes after local midnight), in blocks of `block_minutes`, `capacity` patients each."""

    __tablename__ = "test_hours"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("test_catalogue.id"), index=True)
    weekdays: Mapped[str] = mapped_column(String(7))
    opens_minute: Mapped[int] = mapped_column(Integer)
    closes_minute: Mapped[int] = mapped_column(Integer)
    block_minutes: Mapped[int] = mapped_column(Integer, default=30)
    capacity: Mapped[int] = mapped_column(Integer)


class SlotCount(Base):
    """Places taken in one block. Created on first booking; never holds more than the capacity."""

    __tablename__ = "test_slot_counts"

    test_id: Mapped[int] = mapped_column(ForeignKey("test_catalogue.id"), primary_key=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    booked: Mapped[int] = mapped_column(Integer, default=0)


class DoctorOrder(Base):
    """A doctor's order for a test the patient may not book alone (CT, MRI ...): the patient books
    it at any facility offering the code, once, before it expires."""

    __tablename__ = "test_requests"
    __table_args__ = (Index("ix_test_requests_patient_state", "patient_id", "state"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    code: Mapped[str] = mapped_column(String(32))
    requesting_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(12), default="open")  # open, booked, cancelled
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Booking(Base):
    __tablename__ = "test_bookings"
    __table_args__ = (
        Index("ix_test_bookings_patient", "patient_id", "starts_at"),
        Index("ix_test_bookings_facility_day", "facility_id", "starts_at"),
        Index("ix_test_bookings_state_time", "state", "starts_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    test_id: Mapped[int] = mapped_column(ForeignKey("test_catalogue.id"))
    # What was booked, as the patient saw it: the catalogue may change afterwards.
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(20))
    prep: Mapped[str] = mapped_column(String(1000), default="")
    prep_en: Mapped[str] = mapped_column(String(1000), default="")
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    basis: Mapped[str] = mapped_column(String(20))  # self_booked | doctor_order
    request_id: Mapped[int | None] = mapped_column(ForeignKey("test_requests.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    list_price_fen: Mapped[int] = mapped_column(Integer)
    discount_fen: Mapped[int] = mapped_column(Integer, default=0)
    insurance_fen: Mapped[int] = mapped_column(Integer, default=0)
    self_pay_fen: Mapped[int] = mapped_column(Integer)
    pricing_rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The payments feature's charge (no foreign key: payments migrates separately).
    charge_id: Mapped[int | None] = mapped_column(IdType)
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    diagnosis_order_id: Mapped[int | None] = mapped_column(ForeignKey("diagnosis_orders.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    performed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resulted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")
    no_show_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LabOrder(Base):
    """A booked lab test once the patient is checked in: the technician enters its results, which
    become LOINC+UCUM observations in the patient's record."""

    __tablename__ = "test_lab_orders"
    __table_args__ = (Index("ix_test_lab_orders_facility_state", "facility_id", "state"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("test_bookings.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    code: Mapped[str] = mapped_column(String(32))  # LOINC order code
    display: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12), default="ordered")  # ordered, resulted, cancelled
    basis: Mapped[str] = mapped_column(String(20))
    ordering_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the doctor, if any
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # who checked the patient in
    observation_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resulted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resulted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
