"""Pydantic models of pathology slides out of /api/v1."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, computed_field


class SlideOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    study_id: int
    label: str
    stain: str
    block: str
    kind: str
    format: str
    original_name: str
    width: int
    height: int
    level_count: int
    mpp_x: float | None
    mpp_y: float | None
    objective_power: float | None
    associated: list[str]
    blob_digest: str
    size_bytes: int
    uploaded_by_id: int
    uploaded_at: dt.datetime

    @computed_field
    @property
    def dzi_url(self) -> str:
        return f"/api/v1/diagnosis/orders/{self.order_id}/slides/{self.id}.dzi"

    @computed_field
    @property
    def thumbnail_url(self) -> str:
        return f"/api/v1/diagnosis/orders/{self.order_id}/slides/{self.id}/thumbnail.jpeg"
