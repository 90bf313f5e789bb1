"""Pydantic models in and out of the home-nursing API. Money is integer fen."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceIn(_In):
    code: str = Field(max_length=40, description="lower-case letters, digits, underscores")
    name: str = Field(max_length=100)
    name_en: str = Field("", max_length=100)
    description: str = Field("", max_length=500)
    price_fen: int = Field(description="price in fen (1 yuan = 100 fen)")
    duration_minutes: int
    required_credential: str = Field("", description="'' (licence only) or a credential code")
    min_years: int = 0
    insured: bool = False
    active: bool = True


class ServiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    facility_id: int
    code: str
    name: str
    name_en: str
    description: str
    price_fen: int
    duration_minutes: int
    required_credential: str
    min_years: int
    insured: bool
    active: bool


class FacilityOut(BaseModel):
    id: int
    name: str
    name_en: str


class ProfileIn(_In):
    license_valid_until: dt.date
    practising_since: dt.date
    base_label: str = Field("", max_length=200)
    base_latitude: float | None = None
    base_longitude: float | None = None
    active: bool = True


class CredentialIn(_In):
    certificate_no: str = Field("", max_length=60)
    valid_until: dt.date | None = None


class CredentialOut(BaseModel):
    credential: str
    certificate_no: str
    valid_until: dt.date | None


class NurseOut(BaseModel):
    practitioner_id: int
    user_id: int
    name: str
    license_no: str
    license_valid_until: dt.date | None
    practising_since: dt.date | None
    years: int
    base_label: str
    base_latitude: float | None
    base_longitude: float | None
    active: bool
    credentials: list[CredentialOut]


class PositionIn(_In):
    latitude: float
    longitude: float
    accuracy_m: float | None = Field(None, ge=0)


class GroundOut(BaseModel):
    code: str
    met: bool
    text: str


class EligibilityOut(BaseModel):
    eligible: bool
    grounds: list[GroundOut]


class BookingIn(_In):
    patient_id: int
    service_id: int
    address: str = Field(max_length=300)
    latitude: float
    longitude: float
    day: dt.date = Field(description="local date of the visit")
    window: str = Field(description="morning (8-12), afternoon (14-18) or evening (18-21), local time")
    contact_phone: str = Field("", max_length=40)
    notes: str = Field("", max_length=500)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    from_state: str
    to_state: str
    party: str
    note: str
    latitude: float | None
    longitude: float | None
    distance_m: int | None
    at: dt.datetime


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    facility_id: int
    service_id: int
    service_code: str
    service_name: str
    service_name_en: str
    price_fen: int
    insured: bool
    duration_minutes: int
    required_credential: str
    address: str
    latitude: float | None
    longitude: float | None
    contact_phone: str
    window_start: dt.datetime
    window_end: dt.datetime
    notes: str
    eligibility: list[dict]
    state: str
    state_reason: str
    nurse_user_id: int | None
    charge_id: int | None
    paid_at: dt.datetime | None
    refund_fen: int | None
    checked_in_at: dt.datetime | None
    checked_out_at: dt.datetime | None
    rating: int | None
    rating_comment: str
    created_at: dt.datetime
    updated_at: dt.datetime
    allowed_actions: list[str] = []
    events: list[EventOut] | None = None


class OrderList(BaseModel):
    items: list[OrderOut]


class ReasonIn(_In):
    reason: str = Field("", max_length=500)


class AssessmentIn(_In):
    fall_risk: str = Field(description="low, medium, high")
    infection_risk: str = Field(description="low, medium, high")
    home_environment: str = Field(description="suitable, needs_changes, unsuitable")
    outcome: str = Field(description="accept or refuse")
    home_notes: str = Field("", max_length=500)
    allergies: str = Field("", max_length=500)
    limits: dict[str, float | None] = Field(default_factory=dict, description="systolic_max, spo2_min, ...")
    reason: str = Field("", max_length=500, description="required to refuse")


class CandidateOut(BaseModel):
    practitioner_id: int
    user_id: int
    name: str
    qualified: bool
    available: bool
    distance_m: int | None
    position: str
    free_minutes: int
    problems: list[str]
    busy: str | None
    offer_state: str


class DispatchIn(_In):
    practitioner_ids: list[int] = Field(default_factory=list, description="empty: the best nurse")


class CheckInIn(PositionIn):
    reason: str = Field("", max_length=500, description="needed when checking in far from the address")


class RecordIn(_In):
    procedures: list[str] = Field(default_factory=list, max_length=20)
    vitals: dict[str, float | None] = Field(default_factory=dict, description="systolic, diastolic, heart_rate, "
                                            "temperature, spo2, resp_rate")
    notes: str = Field("", max_length=4000)


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    procedures: list[str]
    vitals: dict
    notes: str
    flags: list[str]
    filed_entry_ids: list[int]


class PhotoOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    document_id: int
    uploaded_at: dt.datetime


class RatingIn(_In):
    stars: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=500)


class ComplaintIn(_In):
    text: str = Field(max_length=1000)


class ComplaintOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    facility_id: int
    text: str
    created_at: dt.datetime
    response: str
    responded_at: dt.datetime | None


class SosIn(_In):
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = Field(None, ge=0)
    note: str = Field("", max_length=500)
    order_id: int | None = None


class SosOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    facility_id: int
    nurse_user_id: int
    order_id: int | None
    latitude: float | None
    longitude: float | None
    accuracy_m: int | None
    note: str
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by_id: int | None
    ack_note: str


class AckIn(_In):
    note: str = Field("", max_length=500)


class DoctorOrderIn(_In):
    patient_id: int
    reason: str = Field(max_length=500)
    service_code: str = Field("", max_length=40, description="'' = any home-nursing service")
    valid_days: int | None = Field(None, ge=1, le=365)


class DoctorOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    facility_id: int
    doctor_user_id: int
    service_code: str
    reason: str
    valid_until: dt.datetime
    created_at: dt.datetime
    voided_at: dt.datetime | None


class NurseBoardOut(BaseModel):
    offers: list[OrderOut]
    visits: list[OrderOut]
    done: list[OrderOut]
    to_assess: list[OrderOut]
