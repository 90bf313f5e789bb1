"""Pydantic models out of the audit API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AuditEventOut(Output):
    seq: int
    at: dt.datetime
    actor_user_id: int | None
    actor_name: str
    actor_role: str
    facility_id: int | None
    patient_id: int | None
    action: str
    resource_type: str
    resource_id: str
    purpose: str
    outcome: str
    ip: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(Output):
    items: list[AuditEventOut]
    next_cursor: str | None = None


class AccessLogItemOut(Output):
    seq: int
    at: dt.datetime
    text: str
    who: str
    role: str
    specialty: str
    facility: str
    action: str
    purpose: str
    outcome: str
    denied: bool
    emergency: bool
    reason: str


class AccessLogPage(Output):
    items: list[AccessLogItemOut]
    next_cursor: str | None = None
