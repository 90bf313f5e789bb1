from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class ConsentStatus(StrEnum):
    granted = "granted"
    refused = "refused"
    revoked = "revoked"


class Purpose(StrEnum):
    """Why data is read, recorded with every access (ISO 14265 style purposes of use)."""

    treatment = "treatment"
    consultation = "consultation"
    referral = "referral"
    diagnosis = "diagnosis"
    emergency = "emergency"
    patient_self = "patient_self"
    administration = "administration"


class Consent(Base):
    """Rows are never updated: the newest row per patient is the consent in force."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_patient_time", "patient_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    status: Mapped[str] = mapped_column(String(20))
    scope_all: Mapped[bool] = mapped_column(Boolean, default=True)
    scope_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    note: Mapped[str] = mapped_column(String(500), default="")


class AccessGrant(Base):
    """Lets a user or a whole facility read a patient's record items for a purpose until expiry.

    Later features (consultations, referrals, diagnosis orders) create these, naming themselves in
    source_type/source_id; a facility admin can create one by hand."""

    __tablename__ = "access_grants"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    grantee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    grantee_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    scope_all: Mapped[bool] = mapped_column(Boolean, default=False)
    scope_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope_entry_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    source_type: Mapped[str] = mapped_column(String(40), default="manual")
    source_id: Mapped[int | None] = mapped_column(IdType)
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))


class BreakGlass(Base):
    __tablename__ = "break_glass"
    __table_args__ = (Index("ix_break_glass_user_patient", "user_id", "patient_id", "expires_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    reason: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
