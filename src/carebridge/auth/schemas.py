"""Pydantic models in and out of the auth and user API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from carebridge.auth.models import Role


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoleOut(BaseModel):
    role: str
    facility_id: int | None
    facility_name: str = ""


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    locale: str | None
    patient_id: int | None
    second_factor_enabled: bool
    second_factor_required: bool
    via: str
    roles: list[RoleOut]


class MeUpdate(In):
    display_name: str | None = Field(None, min_length=1, max_length=100)
    locale: str | None = Field(None, description="zh_CN, en, or '' to follow the browser")


class PasswordChange(In):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class PasswordChanged(BaseModel):
    sessions_ended: int


class SessionOut(BaseModel):
    id: int
    created_at: dt.datetime
    expires_at: dt.datetime
    ip: str
    current: bool


class SessionsEnded(BaseModel):
    sessions_ended: int


class TokenCreate(In):
    name: str = Field(min_length=1, max_length=100)
    expires_days: int | None = Field(None, ge=1, le=3650, description="none: the token does not expire")


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreated(TokenOut):
    secret: str = Field(description="shown once: send it as 'Authorization: Bearer <secret>'")


class TokenList(BaseModel):
    items: list[TokenOut]


class PasswordTokenRequest(In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp_code: str | None = Field(None, max_length=32, description="TOTP or recovery code, when required")
    token_name: str = Field(min_length=1, max_length=100)
    expires_days: int | None = Field(None, ge=1, le=3650)


class Enrolment(BaseModel):
    secret: str
    otpauth_uri: str


class CodeIn(In):
    code: str = Field(min_length=1, max_length=32)


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="shown once; each works once")


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    email: str
    phone: str
    is_active: bool
    second_factor_enabled: bool
    locked_until: dt.datetime | None
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    roles: list[RoleOut]


class UserCreated(UserOut):
    initial_password: str | None = Field(None, description="generated when none was given; shown once")


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class UserCreate(In):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    role: Role
    facility_id: int | None = None
    password: str | None = Field(None, max_length=256, description="none: one is generated and returned once")
    email: str = Field("", max_length=200)
    phone: str = Field("", max_length=40)


class RoleGrant(In):
    role: Role
    facility_id: int | None = None
