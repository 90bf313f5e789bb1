"""Diagnosis reports: the reader's draft, the signed versions, addenda, the hub's reading settings
and the double reads of quality assurance.

A report has one draft row per order (`diagnosis_reports`), written by the reader who holds the
order's claim. Signing copies the draft into a version row whose `content` is the canonical JSON
of everything the signature covers and whose `content_hash` is its SHA-256; version rows are only
ever inserted, so anyone can recompute the hash from the stored text and see whether it still says
what was signed. A preliminary version (two-step reading) is followed by the final one, which
names the preliminary's hash; addenda after signing are hashed over the previous link."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class ReadingHubSettings(Base):
    """Per reading hub: whether reports are read in two steps, and the share double-read for QA."""

    __tablename__ = "reading_hub_settings"
    __table_args__ = (CheckConstraint("double_read_percent BETWEEN 0 AND 100", name="double_read_percent_range"),)

    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), primary_key=True, autoincrement=False)
    two_step: Mapped[bool] = mapped_column(Boolean, default=False)
    double_read_percent: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DiagnosisReport(Base):
    """The working copy of an order's report plus the state that follows signing (critical
    acknowledgement, the filed record document)."""

    __tablename__ = "diagnosis_reports"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_orders.id"), unique=True)
    template_key: Mapped[str] = mapped_column(String(40))
    findings: Mapped[dict] = mapped_column(JSON, default=dict)  # field key -> text | number | choice value
    # Keys whose value is still the automatic pre-read's (the reader has not changed them).
    preread_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    impression: Mapped[str] = mapped_column(Text, default="")
    free_text: Mapped[str] = mapped_column(Text, default="")
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    critical_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A critical finding is signed (in a version or an addendum) at `critical_flagged_at`; it stays
    # unacknowledged until a clinician of the sending facility acknowledges after that time.
    critical_flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    critical_ack_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    critical_ack_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    critical_ack_note: Mapped[str] = mapped_column(String(500), default="")
    document_entry_id: Mapped[int | None] = mapped_column(ForeignKey("record_entries.id"))


class ReportVersion(Base):
    __tablename__ = "diagnosis_report_versions"
    __table_args__ = (UniqueConstraint("report_id", "kind", name="uq_diagnosis_report_versions_kind"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_reports.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # preliminary | final
    content: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly the hashed bytes (UTF-8)
    content_hash: Mapped[str] = mapped_column(String(64))
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ReportAddendum(Base):
    __tablename__ = "diagnosis_report_addenda"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_reports.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(String(4000))
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class DoubleRead(Base):
    """A final report picked at random for a second, blind reading by another attending at the hub.

    queued (waiting for its second reader) -> read (their own impression is in; now they may see
    the first) -> graded (agreement or a RADPEER-style discrepancy grade)."""

    __tablename__ = "diagnosis_double_reads"
    __table_args__ = (Index("ix_diagnosis_double_reads_hub", "hub_facility_id", "state"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_orders.id"), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_report_versions.id"))
    hub_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    first_reader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    second_reader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    selected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    second_impression: Mapped[str] = mapped_column(Text, default="")
    second_read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    grade: Mapped[str | None] = mapped_column(String(3))
    comment: Mapped[str] = mapped_column(String(2000), default="")
    graded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
