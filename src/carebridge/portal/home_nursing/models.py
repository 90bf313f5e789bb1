"""Home nursing (上门护理): each facility's catalogue, its nurses' credentials, doctors' home-nursing
orders, and the patient's order with its assessment, offers to nurses, visit record, SOS alerts,
rating and complaints.

`nursing_orders.version` is bumped by every lifecycle move with a conditional UPDATE (WHERE id AND
version), so of two nurses accepting the same order at once exactly one wins."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class NursingService(Base):
    """One line of a facility's home-nursing catalogue. Prices are integer fen."""

    __tablename__ = "nursing_services"
    __table_args__ = (UniqueConstraint("facility_id", "code"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    price_fen: Mapped[int] = mapped_column(Integer)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    # '' = a valid nursing licence is enough; otherwise a code of credentials.CREDENTIALS.
    required_credential: Mapped[str] = mapped_column(String(40), default="")
    min_years: Mapped[int] = mapped_column(Integer, default=0)
    insured: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class NurseProfile(Base):
    """What home nursing needs to know about a nurse beyond the network's practitioner row (which
    holds the licence number): licence validity, years in practice, where the nurse starts from and
    where they were last seen."""

    __tablename__ = "nursing_nurse_profiles"

    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), primary_key=True)
    license_valid_until: Mapped[dt.date] = mapped_column(Date)
    practising_since: Mapped[dt.date] = mapped_column(Date)
    base_label: Mapped[str] = mapped_column(String(200), default="")
    base_latitude: Mapped[float | None] = mapped_column(Float)
    base_longitude: Mapped[float | None] = mapped_column(Float)
    current_latitude: Mapped[float | None] = mapped_column(Float)
    current_longitude: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class NurseCredential(Base):
    """A specialist nursing certificate (PICC care, stoma therapist, maternal-newborn ...)."""

    __tablename__ = "nursing_credentials"
    __table_args__ = (UniqueConstraint("practitioner_id", "credential"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    credential: Mapped[str] = mapped_column(String(40))
    certificate_no: Mapped[str] = mapped_column(String(60), default="")
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DoctorNursingOrder(Base):
    """A doctor's order for home nursing: one of the grounds that make a patient eligible."""

    __tablename__ = "nursing_doctor_orders"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    doctor_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(40), default="")  # '' = any home-nursing service
    reason: Mapped[str] = mapped_column(String(500))
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str] = mapped_column(String(500), default="")


class NursingOrder(Base):
    """A patient's request for a home visit. The service's price, duration and requirements are
    copied at booking: a later catalogue change does not alter what the patient agreed to."""

    __tablename__ = "nursing_orders"
    __table_args__ = (
        Index("ix_nursing_orders_facility_state", "facility_id", "state", "id"),
        Index("ix_nursing_orders_nurse", "nurse_user_id", "window_start"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("nursing_services.id"))
    service_code: Mapped[str] = mapped_column(String(40))
    service_name: Mapped[str] = mapped_column(String(100))
    service_name_en: Mapped[str] = mapped_column(String(100), default="")
    price_fen: Mapped[int] = mapped_column(Integer)
    insured: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    required_credential: Mapped[str] = mapped_column(String(40), default="")
    min_years: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str] = mapped_column(String(300))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(String(500), default="")
    eligibility: Mapped[list[dict]] = mapped_column(JSON, default=list)  # the grounds found at booking
    doctor_order_id: Mapped[int | None] = mapped_column(ForeignKey("nursing_doctor_orders.id"))
    state: Mapped[str] = mapped_column(String(20))
    state_reason: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    nurse_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    nurse_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The payment of the order (carebridge.payments); no foreign key so the two features stay apart.
    charge_id: Mapped[int | None] = mapped_column(IdType)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    refund_fen: Mapped[int | None] = mapped_column(Integer)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(String(500), default="")
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class NursingEvent(Base):
    """One line of the order's timeline; check-in and check-out carry where the nurse was."""

    __tablename__ = "nursing_order_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("nursing_orders.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(20), default="")
    to_state: Mapped[str] = mapped_column(String(20), default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    party: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class NursingAssessment(Base):
    """The mandatory pre-visit risk assessment by a nurse; one per order."""

    __tablename__ = "nursing_assessments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("nursing_orders.id"), unique=True)
    nurse_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    fall_risk: Mapped[str] = mapped_column(String(10))
    infection_risk: Mapped[str] = mapped_column(String(10))
    home_environment: Mapped[str] = mapped_column(String(20))
    home_notes: Mapped[str] = mapped_column(String(500), default="")
    allergies: Mapped[str] = mapped_column(String(500), default="")
    # Vital-sign limits the visiting nurse checks on arrival: {"systolic_max": 180, ...}
    thresholds: Mapped[dict] = mapped_column(JSON, default=dict)
    outcome: Mapped[str] = mapped_column(String(10))  # accept | refuse
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class NursingOffer(Base):
    """The order offered to one nurse. Several may be open at once; the first to accept wins."""

    __tablename__ = "nursing_offers"
    __table_args__ = (Index("ix_nursing_offers_nurse_state", "nurse_user_id", "state"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("nursing_orders.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    nurse_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    offered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    distance_m: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="open")  # open accepted declined expired withdrawn
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class NursingVisitRecord(Base):
    """What the nurse did at the visit; filed into the patient's record at check-out."""

    __tablename__ = "nursing_visit_records"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("nursing_orders.id"), unique=True)
    nurse_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    procedures: Mapped[list[str]] = mapped_column(JSON, default=list)
    vitals: Mapped[dict] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)  # vital signs beyond the assessment's limits
    filed_entry_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class NursingPhoto(Base):
    """A photo of the visit, stored as a Document in the patient's record."""

    __tablename__ = "nursing_photos"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("nursing_orders.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class NursingSos(Base):
    """A nurse's emergency alert: the facility's coordinators are told at once and must acknowledge."""

    __tablename__ = "nursing_sos_alerts"
    __table_args__ = (Index("ix_nursing_sos_facility_open", "facility_id", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    nurse_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("nursing_orders.id"))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), default="")
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ack_note: Mapped[str] = mapped_column(String(500), default="")


class NursingComplaint(Base):
    """A patient's complaint about an order; the facility answers it."""

    __tablename__ = "nursing_complaints"
    __table_args__ = (Index("ix_nursing_complaints_facility", "facility_id", "responded_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("nursing_orders.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    author_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    response: Mapped[str] = mapped_column(String(1000), default="")
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
