"""Diagnosis orders, their timeline, and the studies that arrive for them.

A study is whatever a sending site transmits for reading, of any modality: a DICOM study (its
instances are indexed by imaging/), an ECG recording (ecg/) or a slide (pathology/). A study
that arrives without an order it can be matched to has `order_id` NULL and waits in the hub's
reconciliation queue until a technician links it.

`version` on the order is bumped by every transition with a conditional UPDATE, so two readers
acting at once cannot both win."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.diagnostics.lifecycle import State
from carebridge.kit.clock import utcnow


class Modality(StrEnum):
    """DICOM modality codes; SM (slide microscopy) is pathology, ECG the resting 12-lead."""

    CT = "CT"
    MR = "MR"
    DX = "DX"
    CR = "CR"
    US = "US"
    MG = "MG"
    ECG = "ECG"
    SM = "SM"


class StudyKind(StrEnum):
    imaging = "imaging"
    ecg = "ecg"
    pathology = "pathology"


def kind_of(modality: str) -> StudyKind:
    if modality == Modality.ECG:
        return StudyKind.ecg
    if modality == Modality.SM:
        return StudyKind.pathology
    return StudyKind.imaging


class Urgency(StrEnum):
    stat = "stat"
    urgent = "urgent"
    routine = "routine"


class DiagnosisOrder(Base):
    __tablename__ = "diagnosis_orders"
    __table_args__ = (
        Index("ix_diagnosis_orders_hub_state", "hub_facility_id", "state", "due_at"),
        Index("ix_diagnosis_orders_sender", "requesting_facility_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    requesting_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    requesting_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    hub_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    modality: Mapped[str] = mapped_column(String(8))
    body_part: Mapped[str] = mapped_column(String(64), default="")
    clinical_question: Mapped[str] = mapped_column(String(2000))
    urgency: Mapped[str] = mapped_column(String(10))
    frozen_section: Mapped[bool] = mapped_column(Boolean, default=False)
    two_step: Mapped[bool] = mapped_column(Boolean, default=False)
    accession_number: Mapped[str] = mapped_column(String(16), unique=True)
    state: Mapped[str] = mapped_column(String(20), default=State.awaiting_study.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The turnaround clock: from study complete to final report signed.
    study_complete_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    read_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    preliminary_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Who reads it: the assigned reader (automatic or by hand), the current lock holder.
    assigned_reader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    preliminary_reader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    final_reader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class OrderEvent(Base):
    """One line of the order's timeline."""

    __tablename__ = "diagnosis_order_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_orders.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    party: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(2000), default="")


class DiagnosticStudy(Base):
    __tablename__ = "diagnostic_studies"
    __table_args__ = (
        Index("ix_diagnostic_studies_unmatched", "hub_facility_id", "order_id"),
        Index("ix_diagnostic_studies_receiving", "completed_at", "last_received_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("diagnosis_orders.id"), index=True)
    sending_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    # Where it was received: the hub whose listener or upload took it (the reconciliation queue's owner).
    hub_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    # As the sender's equipment labelled it, before matching.
    sent_patient_key: Mapped[str] = mapped_column(String(64), default="")
    sent_patient_name: Mapped[str] = mapped_column(String(200), default="")
    accession_number: Mapped[str] = mapped_column(String(16), default="", index=True)
    study_uid: Mapped[str] = mapped_column(String(64), unique=True)
    modality: Mapped[str] = mapped_column(String(8), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    acquired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    byte_count: Mapped[int] = mapped_column(BigInteger, default=0)
    reconciled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reconciled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
