"""Tables of the pharmacy: the drug catalogue, prescriptions with their versions and items, the
lifecycle events, and the patients' refill requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class Drug(Base):
    """One catalogue entry, filled from the bundled data file (catalogue.py keeps it in step)."""

    __tablename__ = "pharmacy_drugs"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    atc: Mapped[str] = mapped_column(String(10), index=True)
    generic_zh: Mapped[str] = mapped_column(String(100))
    generic_en: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    form: Mapped[str] = mapped_column(String(30))
    strength: Mapped[str] = mapped_column(String(80))
    dose_unit: Mapped[str] = mapped_column(String(10))
    unit_amount: Mapped[float] = mapped_column(Float)
    pack_count: Mapped[int] = mapped_column(Integer)
    pack_unit: Mapped[str] = mapped_column(String(20))
    routes: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_frequency: Mapped[str] = mapped_column(String(10))
    max_daily: Mapped[float | None] = mapped_column(Float)
    therapeutic_class: Mapped[str] = mapped_column(String(40))
    chronic: Mapped[bool] = mapped_column(Boolean, default=False)
    cold_chain: Mapped[bool] = mapped_column(Boolean, default=False)
    insured: Mapped[bool] = mapped_column(Boolean, default=False)
    price_fen: Mapped[int] = mapped_column(Integer)
    allergy_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    cross_allergy_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    age_cautions: Mapped[list[dict]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    catalogue_version: Mapped[str] = mapped_column(String(40))


class Prescription(Base):
    """An e-prescription. Its id stays the same through returns and resubmissions; the items live in
    versions. `lock_version` is bumped by every conditional UPDATE that moves it, so of two people
    acting at once exactly one wins."""

    __tablename__ = "prescriptions"
    __table_args__ = (
        Index("ix_prescriptions_queue", "dispensing_facility_id", "state", "submitted_at"),
        Index("ix_prescriptions_facility", "facility_id", "id"),
        Index("ix_prescriptions_patient", "patient_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))  # where it was written
    dispensing_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))  # whose pharmacists review
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    visit_id: Mapped[int | None] = mapped_column(IdType)  # a plain reference to the online visit, if any
    kind: Mapped[str] = mapped_column(String(10))  # chronic | acute
    diagnosis: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(20))
    state_reason: Mapped[str] = mapped_column(String(500), default="")
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    version_no: Mapped[int] = mapped_column(Integer, default=1)
    refills_allowed: Mapped[int] = mapped_column(Integer, default=0)
    refills_used: Mapped[int] = mapped_column(Integer, default=0)
    refill_of_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    valid_days: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dispensed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PrescriptionVersion(Base):
    """What the doctor submitted each time, the automatic checks run on it, and the pharmacist's
    decision on it. Versions are never changed after their review."""

    __tablename__ = "prescription_versions"
    __table_args__ = (UniqueConstraint("prescription_id", "number"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"))
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(500), default="")  # what the doctor changed
    checks: Mapped[list[dict]] = mapped_column(JSON, default=list)
    check_level: Mapped[str] = mapped_column(String(20), default="")  # the most severe finding, '' for none
    outcome: Mapped[str] = mapped_column(String(20), default="")  # approved | returned
    outcome_reason: Mapped[str] = mapped_column(String(500), default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PrescriptionItem(Base):
    """One line of a version. Label, price, insurance and cold chain are copied from the catalogue
    when written, so a later catalogue change does not rewrite what was prescribed."""

    __tablename__ = "prescription_items"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("prescription_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    drug_code: Mapped[str] = mapped_column(ForeignKey("pharmacy_drugs.code"))
    atc: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    dose: Mapped[float] = mapped_column(Float)
    dose_unit: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(20))
    frequency: Mapped[str] = mapped_column(String(10))
    duration_days: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)  # packs
    pack_unit: Mapped[str] = mapped_column(String(20))
    unit_fen: Mapped[int] = mapped_column(Integer)  # price of one pack
    insured: Mapped[bool] = mapped_column(Boolean, default=False)
    cold_chain: Mapped[bool] = mapped_column(Boolean, default=False)
    instructions: Mapped[str] = mapped_column(String(200), default="")
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("record_entries.id"))


class PrescriptionEvent(Base):
    """The lifecycle written down: who moved it, from which state to which, and why."""

    __tablename__ = "prescription_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(20), default="")
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")


class RefillRequest(Base):
    """A patient asking for more of a chronic prescription. `open_for` holds the prescription id
    while the request waits (NULL afterwards): a unique index, so a prescription has at most one
    waiting request however many taps arrive at once."""

    __tablename__ = "prescription_refill_requests"
    __table_args__ = (
        Index("ix_prescription_refill_requests_facility", "facility_id", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))  # the prescribing facility decides
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(20))
    open_for: Mapped[int | None] = mapped_column(IdType, unique=True)
    reason: Mapped[str] = mapped_column(String(500), default="")  # a decline's reason
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    new_prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
