"""Patient accounts of the internet hospital: the verified phone and real-name details of an
account, the one-time sign-in codes, the claims that link an account to a master record and wait
for staff, and the permissions that let a family member act for a patient."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class LinkStatus(StrEnum):
    profile = "profile"  # phone verified, real-name details not given yet
    linked = "linked"  # the account's user points at the master record
    pending = "pending"  # claims wait for staff at a facility where the patient is registered
    refused = "refused"  # staff said the record is not this person's; see a hospital in person


class ClaimStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    rejected = "rejected"
    superseded = "superseded"  # another claim of the same account was confirmed


class PermissionScope(StrEnum):
    all = "all"  # every portal action: book, order, pay, cancel, and read
    read = "read"  # read only


class PermissionBasis(StrEnum):
    patient = "patient"  # granted by the patient from their own account
    paper = "paper"  # a signed paper permission, recorded by staff where the patient is registered


class Relationship(StrEnum):
    """What the caregiver is to the patient, as the patient (or the paper form) says."""

    child = "child"
    spouse = "spouse"
    parent = "parent"
    sibling = "sibling"
    other = "other"


class PortalAccount(Base):
    __tablename__ = "portal_accounts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    # Verified by a one-time code: the phone is what the account signs in with and what invitations
    # from family members are addressed to.
    phone: Mapped[str] = mapped_column(String(40), unique=True)
    phone_verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    real_name: Mapped[str] = mapped_column(String(100), default="")
    national_id: Mapped[str | None] = mapped_column(String(18), index=True)
    sex: Mapped[str] = mapped_column(String(10), default="")
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    link_status: Mapped[str] = mapped_column(String(12), default=LinkStatus.profile.value)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhoneCode(Base):
    """A six-digit sign-in code. Only its keyed digest is stored; the newest code of a phone is
    the only one that works, and each allows a few attempts."""

    __tablename__ = "portal_phone_codes"
    __table_args__ = (
        Index("ix_portal_phone_codes_phone_created", "phone", "created_at"),
        Index("ix_portal_phone_codes_ip_created", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    phone: Mapped[str] = mapped_column(String(40))
    code_digest: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LinkClaim(Base):
    """'This master record may be mine': written at sign-up when the record cannot be linked
    automatically, decided by clinical staff of a facility where the patient is registered."""

    __tablename__ = "portal_link_claims"
    __table_args__ = (UniqueConstraint("account_id", "patient_id"),
                      Index("ix_portal_link_claims_patient_status", "patient_id", "status"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("portal_accounts.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    reason: Mapped[str] = mapped_column(String(30))  # same_national_id | same_name_and_birth_date | ...
    status: Mapped[str] = mapped_column(String(12), default=ClaimStatus.pending.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    note: Mapped[str] = mapped_column(String(500), default="")


class CaregiverPermission(Base):
    """A family member (the caregiver, known by phone until they have an account) may act for the
    patient. Revoked rows stay: the history of who could act is part of the record's story."""

    __tablename__ = "portal_caregiver_permissions"
    __table_args__ = (Index("ix_portal_caregiver_permissions_caregiver", "caregiver_user_id", "patient_id"),
                      Index("ix_portal_caregiver_permissions_phone", "caregiver_phone"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    caregiver_phone: Mapped[str] = mapped_column(String(40))
    caregiver_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    caregiver_name: Mapped[str] = mapped_column(String(100), default="")
    relationship: Mapped[str] = mapped_column(String(20), default="other")
    scope: Mapped[str] = mapped_column(String(8), default=PermissionScope.all.value)
    basis: Mapped[str] = mapped_column(String(8))
    paper_reference: Mapped[str] = mapped_column(String(200), default="")
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str] = mapped_column(String(500), default="")
