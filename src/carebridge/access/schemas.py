"""Pydantic models in and out of the access API (consent, grants, break-the-glass)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from carebridge.records.models import EntryKind

Kind = Literal[tuple(k.value for k in EntryKind)]  # type: ignore[valid-type]
GrantPurpose = Literal["treatment", "consultation", "referral", "diagnosis"]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ConsentIn(Input):
    status: Literal["granted", "refused", "revoked"]
    scope_all: bool = True
    scope_kinds: list[Kind] = Field(default_factory=list, max_length=len(EntryKind))
    note: Note = ""


class ConsentOut(Output):
    id: int
    patient_id: int
    status: str
    scope_all: bool
    scope_kinds: list[str]
    recorded_at: dt.datetime
    recorded_by_id: int
    recorded_by: str = ""
    facility_id: int | None
    facility: str = ""
    note: str


class ConsentHistoryOut(Output):
    patient_id: int
    current: ConsentOut | None
    items: list[ConsentOut]


class GrantIn(Input):
    grantee_user_id: int | None = None
    grantee_facility_id: int | None = None
    purpose: GrantPurpose
    scope_all: bool = False
    scope_kinds: list[Kind] = Field(default_factory=list, max_length=len(EntryKind))
    scope_entry_ids: list[int] = Field(default_factory=list, max_length=1000)
    expires_at: AwareDatetime


class RevokeIn(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class GrantOut(Output):
    id: int
    patient_id: int
    patient_name: str = ""
    mrn: str = ""
    grantee_user_id: int | None
    grantee_facility_id: int | None
    grantee: str = ""
    grantee_en: str = ""
    purpose: str
    scope_all: bool
    scope_kinds: list[str]
    scope_entry_ids: list[int]
    source_type: str
    source_id: int | None
    granted_by_id: int
    granted_by: str = ""
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    revoke_reason: str | None
    status: str = ""


class GrantList(Output):
    items: list[GrantOut]
    next_cursor: str | None = None


class LookupIn(Input):
    national_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=18, max_length=18)]


class MatchOut(Output):
    patient_id: int
    masked_name: str
    sex: str
    birth_year: int


class LookupOut(Output):
    matches: list[MatchOut]


class BreakGlassIn(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=500)]
    facility_id: int


class BreakGlassOut(Output):
    id: int
    patient_id: int
    facility_id: int
    reason: str
    started_at: dt.datetime
    expires_at: dt.datetime
    record_url: str = ""
