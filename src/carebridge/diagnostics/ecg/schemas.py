"""Pydantic models of ECG recordings and signal windows out of /api/v1."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PREREAD_LABEL = "automatic pre-read"


class EcgOut(BaseModel):
    """A recording's metadata and its automatic pre-read (machine-made: never a report)."""

    model_config = ConfigDict(from_attributes=True)

    order_id: int
    study_id: int
    lead_names: list[str]
    derived_leads: list[str]
    sample_rate: float
    sample_count: int
    duration_s: float
    source_format: str
    recorded_at: dt.datetime | None
    uploaded_at: dt.datetime
    original_name: str
    original_size: int
    preread: dict[str, Any] | None = Field(description="measurements, flags and signal quality; see "
                                                        "docs/architecture.md (ECG) for the shape")
    preread_at: dt.datetime | None
    preread_version: str
    preread_rank: int | None
    preread_label: str = PREREAD_LABEL


class SignalOut(BaseModel):
    """A window of the normalised signal: integers in microvolts, one list per lead."""

    leads: list[str]
    sample_rate: float
    start_s: float
    duration_s: float
    units: str = "uV"
    data: list[list[int]]
