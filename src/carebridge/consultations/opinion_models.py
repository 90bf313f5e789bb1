"""The consultation's structured opinion, its team sections and the addenda written after signing.

An opinion is a draft until the lead expert signs it; signing stores the SHA-256 of the canonical
JSON of the whole opinion (sections included), and from then on the content columns are never
written again, so anyone can recompute the hash from the stored rows and see whether they still say
what was signed. Corrections are addenda, each hashed over the previous link of the chain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class ConsultationOpinion(Base):
    __tablename__ = "consultation_opinions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consultation_cases.id"), unique=True)
    assessment: Mapped[str] = mapped_column(Text, default="")
    diagnoses: Mapped[list[dict]] = mapped_column(JSON, default=list)  # [{"code": ICD-10, "display": ...}]
    recommendations: Mapped[str] = mapped_column(Text, default="")
    treatment_plan: Mapped[str] = mapped_column(Text, default="")
    referral_advice: Mapped[str] = mapped_column(String(12), default="none")
    referral_note: Mapped[str] = mapped_column(String(2000), default="")
    follow_up_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    document_entry_id: Mapped[int | None] = mapped_column(ForeignKey("record_entries.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))

    # The outcome follow-up: due a set time after the requester acknowledges; reminded once.
    follow_up_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    follow_up_reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(2000), default="")
    outcome_recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class OpinionSection(Base):
    """One specialist's part of a team opinion: their specialty and what they write."""

    __tablename__ = "consultation_opinion_sections"
    __table_args__ = (UniqueConstraint("opinion_id", "author_id", name="uq_consultation_opinion_sections_author"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    opinion_id: Mapped[int] = mapped_column(ForeignKey("consultation_opinions.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpinionAddendum(Base):
    __tablename__ = "consultation_opinion_addenda"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    opinion_id: Mapped[int] = mapped_column(ForeignKey("consultation_opinions.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_part: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
