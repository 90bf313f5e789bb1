"""The DICOM index: what QIDO-RS and C-FIND answer from without opening a file, and where each
instance's bytes are (its Part 10 file, byte for byte as received, in the blob store by sha256).

The study level is the core `diagnostic_studies` row (UID, accession, sender's patient ID and name,
modality, description, acquisition time, matching); `dicom_studies` adds the few study attributes
QIDO and C-FIND return that the core row does not keep. Patient attributes beyond the sender's ID
and name come from the matched order's patient.

Values are kept as the sender wrote them (DICOM strings), trimmed to the column width; UIDs are at
most 64 characters by the standard (PS3.5 9.1)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class DicomStudy(Base):
    """Study attributes for QIDO-RS / C-FIND that the core study row does not hold, as first received."""

    __tablename__ = "dicom_studies"

    study_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_studies.id"), primary_key=True)
    study_date: Mapped[str] = mapped_column(String(8), default="")  # DA, YYYYMMDD
    study_time: Mapped[str] = mapped_column(String(16), default="")  # TM
    dicom_study_id: Mapped[str] = mapped_column(String(16), default="")  # (0020,0010) Study ID, SH
    referring_physician: Mapped[str] = mapped_column(String(200), default="")
    patient_birth_date: Mapped[str] = mapped_column(String(8), default="")
    patient_sex: Mapped[str] = mapped_column(String(16), default="")
    series_count: Mapped[int] = mapped_column(Integer, default=0)
    instance_count: Mapped[int] = mapped_column(Integer, default=0)


class DicomSeries(Base):
    __tablename__ = "dicom_series"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_studies.id"), index=True)
    series_uid: Mapped[str] = mapped_column(String(64), unique=True)
    modality: Mapped[str] = mapped_column(String(16), default="")
    series_number: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200), default="")
    body_part: Mapped[str] = mapped_column(String(64), default="")
    instance_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DicomInstance(Base):
    __tablename__ = "dicom_instances"
    __table_args__ = (
        Index("ix_dicom_instances_series_number", "series_id", "instance_number"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    series_id: Mapped[int] = mapped_column(ForeignKey("dicom_series.id"))
    study_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_studies.id"), index=True)
    instance_number: Mapped[int | None] = mapped_column(Integer)
    transfer_syntax_uid: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[int | None] = mapped_column(Integer)
    number_of_frames: Mapped[int] = mapped_column(Integer, default=1)
    bits_allocated: Mapped[int | None] = mapped_column(Integer)
    photometric: Mapped[str] = mapped_column(String(16), default="")
    # Display defaults for the viewer and rendered WADO: first values of multi-valued attributes.
    pixel_spacing: Mapped[str] = mapped_column(String(64), default="")  # "row\col" in mm, as sent
    slice_location: Mapped[float | None] = mapped_column(Float)
    window_center: Mapped[float | None] = mapped_column(Float)
    window_width: Mapped[float | None] = mapped_column(Float)
    rescale_slope: Mapped[float | None] = mapped_column(Float)
    rescale_intercept: Mapped[float | None] = mapped_column(Float)
    blob_digest: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    calling_ae: Mapped[str] = mapped_column(String(16), default="")
    source: Mapped[str] = mapped_column(String(8), default="")  # dimse | stow | upload


class DicomPeer(Base):
    """A modality or PACS allowed to talk to the listener, registered by its facility's admin.

    `facility_id` is the sending facility of everything this AE stores. `hub_facility_id` is the
    reading hub whose reconciliation queue takes its studies that match no order (a matched study
    goes to its order's hub). C-MOVE sends to `host`:`port` when this AE is the destination."""

    __tablename__ = "dicom_peers"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    hub_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    ae_title: Mapped[str] = mapped_column(String(16), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    host: Mapped[str] = mapped_column(String(255), default="")
    port: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
