"""Slides of a pathology order: one row per whole-slide image (a pyramidal TIFF/SVS file, or a
DICOM WSI series of several files) or plain micrograph.

`blob_digest` is the slide's identity: the file's SHA-256, or for a DICOM series the SHA-256 of
its members' sorted digests. Its files are in the blob store; `files` names each member and its
digest so the working copy that OpenSlide reads (it needs real paths) can be rebuilt from there."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class SlideKind(StrEnum):
    wsi = "wsi"  # a single-file format OpenSlide reads (Aperio SVS, pyramidal TIFF, NDPI ...)
    dicom = "dicom"  # a DICOM VL Whole Slide Microscopy series (one file per level)
    micrograph = "micrograph"  # a plain JPEG/PNG/TIFF picture from a microscope camera


class PathologySlide(Base):
    __tablename__ = "pathology_slides"
    __table_args__ = (UniqueConstraint("order_id", "blob_digest"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_orders.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_studies.id"))
    label: Mapped[str] = mapped_column(String(64), default="")
    stain: Mapped[str] = mapped_column(String(64), default="")
    block: Mapped[str] = mapped_column(String(32), default="")
    kind: Mapped[str] = mapped_column(String(12))
    # OpenSlide's vendor name ("aperio", "generic-tiff", "dicom" ...) or the picture's format ("jpeg").
    format: Mapped[str] = mapped_column(String(32))
    original_name: Mapped[str] = mapped_column(String(200), default="")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    level_count: Mapped[int] = mapped_column(Integer)
    mpp_x: Mapped[float | None] = mapped_column(Float)
    mpp_y: Mapped[float | None] = mapped_column(Float)
    objective_power: Mapped[float | None] = mapped_column(Float)
    # Names of the images stored beside the slide ("label", "macro") that may be shown.
    associated: Mapped[list[str]] = mapped_column(JSON, default=list)
    blob_digest: Mapped[str] = mapped_column(String(64))
    # [{"name": file name in the working copy, "digest": sha256, "size": bytes}]; OpenSlide opens the first.
    files: Mapped[list[dict]] = mapped_column(JSON, default=list)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
