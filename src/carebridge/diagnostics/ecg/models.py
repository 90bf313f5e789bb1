"""One ECG recording per ECG order (uploaded, or sent as a DICOM waveform): where its original file
and normalised signal are, and the automatic pre-read computed when it arrived.

The original upload (DICOM, aECG XML, the WFDB files zipped, CSV) is kept byte for byte in the
blob store; the normalised signal (float32 mV, standard lead order, see tracing.py) next to it, so
the viewer never parses a device format again. `preread` is JSON (preread.py describes it) and
`preread_rank` copies its worklist priority so the worklist can sort by it in SQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class EcgRecording(Base):
    __tablename__ = "ecg_recordings"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_studies.id"), unique=True)
    # NULL while its study waits in the reconciliation queue (a DICOM ECG that matched no order).
    order_id: Mapped[int | None] = mapped_column(ForeignKey("diagnosis_orders.id"), unique=True)
    lead_names: Mapped[list[str]] = mapped_column(JSON)
    derived_leads: Mapped[list[str]] = mapped_column(JSON, default=list)
    sample_rate: Mapped[float] = mapped_column(Float)
    sample_count: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    source_format: Mapped[str] = mapped_column(String(8))
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    original_digest: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(200), default="")
    original_size: Mapped[int] = mapped_column(BigInteger)
    signal_digest: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # NULL: sent by a DICOM peer
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    preread: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))  # no pre-read is SQL NULL, not JSON null
    preread_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    preread_version: Mapped[str] = mapped_column(String(8), default="")
    # 0 = read first ... 3 = nothing abnormal found (hints.py); NULL until the pre-read ran.
    preread_rank: Mapped[int | None] = mapped_column(SmallInteger)
