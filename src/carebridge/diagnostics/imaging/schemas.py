"""Pydantic models of the imaging ingest API: DICOM peers and upload results."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class PeerIn(BaseModel):
    ae_title: str = Field(min_length=1, max_length=16)
    description: str = Field("", max_length=200)
    host: str = Field("", max_length=255)
    port: int | None = Field(None, ge=1, le=65535)
    hub_facility_id: int | None = None
    active: bool = True


class PeerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    facility_id: int
    hub_facility_id: int | None
    ae_title: str
    description: str
    host: str
    port: int | None
    active: bool
    created_at: dt.datetime


class UploadResult(BaseModel):
    position: int
    status: str  # stored | duplicate | refused
    sop_instance_uid: str = ""
    study_uid: str = ""
    study_id: int | None = None
    order_id: int | None = None
    reason: str = ""
    message: str = ""


class UploadOut(BaseModel):
    stored: int
    duplicates: int
    refused: int
    results: list[UploadResult]
