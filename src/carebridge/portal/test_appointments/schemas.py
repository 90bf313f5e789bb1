"""JSON in and out of /api/v1/test-appointments. Money is integer fen; times are UTC ISO 8601."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class HoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekdays: str = Field(pattern=r"^[1-7]{1,7}$", description="ISO weekdays, e.g. 12345 for Monday to Friday")
    opens: str = Field(pattern=HHMM, description="local time HH:MM")
    closes: str = Field(pattern=HHMM, description="local time HH:MM")
    block_minutes: int = Field(30, ge=5, le=240)
    capacity: int = Field(ge=1, le=200, description="patients per block")


class HoursOut(HoursIn):
    pass


class CatalogueTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=32, description="lab: the LOINC order code; imaging/ECG: MODALITY or "
                      "MODALITY-BODYPART, e.g. US-ABDOMEN (DICOM modality codes: US, DX, CR, MG, CT, MR, ECG)")
    name: str = Field(min_length=1, max_length=100)
    name_en: str = Field("", max_length=100)
    category: str = Field(description="lab, ultrasound, x_ray, ct, mri, ecg")
    modality: str = Field("", max_length=8)
    body_part: str = Field("", max_length=64)
    result_codes: list[str] = Field(default_factory=list, max_length=30,
                                    description="lab: LOINC codes of the results (default: the order code)")
    prep: str = Field("", max_length=1000)
    prep_en: str = Field("", max_length=1000)
    duration_minutes: int = Field(15, ge=1, le=480)
    list_price_fen: int = Field(ge=0, le=10_000_000)
    insured: bool = False
    self_bookable: bool = True
    active: bool = True


class CatalogueTestUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    result_codes: list[str] | None = Field(None, max_length=30)
    prep: str | None = Field(None, max_length=1000)
    prep_en: str | None = Field(None, max_length=1000)
    duration_minutes: int | None = Field(None, ge=1, le=480)
    list_price_fen: int | None = Field(None, ge=0, le=10_000_000)
    insured: bool | None = None
    self_bookable: bool | None = None
    active: bool | None = None


class CatalogueTestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    facility_id: int
    code: str
    name: str
    name_en: str
    category: str
    modality: str
    body_part: str
    result_codes: list[str]
    prep: str
    prep_en: str
    duration_minutes: int
    list_price_fen: int
    insured: bool
    self_bookable: bool
    active: bool
    hours: list[HoursOut] = []


class SlotOut(BaseModel):
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    free: int


class PriceOut(BaseModel):
    list_fen: int
    discount_fen: int
    insurance_fen: int
    self_pay_fen: int
    rules: list[str]


class OfferOut(BaseModel):
    test_id: int
    facility_id: int
    facility_name: str
    facility_name_en: str
    facility_tier: str
    address: str
    distance_km: float | None
    price: PriceOut
    saving_fen: int | None = Field(description="self-pay saved against the nearest hospital offering the test")
    compared_with_facility_id: int | None
    self_bookable: bool
    prep: str
    duration_minutes: int


class CodeOut(BaseModel):
    code: str
    name: str
    name_en: str
    category: str
    self_bookable: bool
    facilities: int


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: int
    test_id: int
    starts_at: dt.datetime
    doctor_order_id: int | None = None
    note: str = Field("", max_length=500, description="what the patient wants the staff to know")
    consent_remote_reading: bool = Field(
        False, description="imaging/ECG: the patient agrees that a partner hospital reads the study "
        "(records their consent to sharing when none is in force)")


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=500)


class ResultValueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=10, description="a LOINC code of the test's result components")
    value: float | None = None
    value_text: str = Field("", max_length=200)
    unit: str = Field("", max_length=30, description="UCUM; only for a component the catalogue has no unit for")


class ResultsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    results: list[ResultValueIn] = Field(min_length=1, max_length=30)


class ResultOut(BaseModel):
    code: str
    display: str
    value: float | None
    value_text: str
    unit: str
    interpretation: str
    entry_id: int


class BookingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    facility_id: int
    test_id: int
    code: str
    name: str
    name_en: str
    category: str
    prep: str
    prep_en: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    state: str
    basis: str
    request_id: int | None
    note: str
    list_price_fen: int
    discount_fen: int
    insurance_fen: int
    self_pay_fen: int
    pricing_rules: list[str]
    charge_id: int | None
    diagnosis_order_id: int | None
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    checked_in_at: dt.datetime | None
    performed_at: dt.datetime | None
    resulted_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str
    no_show_at: dt.datetime | None
    cancel_until: dt.datetime | None = None
    allowed_actions: list[str] = []
    lab_order_id: int | None = None
    results: list[ResultOut] = []
    report_document_id: int | None = None


class StaffBookingOut(BookingOut):
    patient_name: str = ""


class DoctorOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: int
    code: str = Field(max_length=32)
    reason: str = Field(min_length=3, max_length=500)


class DoctorOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    code: str
    requesting_facility_id: int
    requested_by_id: int
    reason: str
    state: str
    expires_at: dt.datetime
    created_at: dt.datetime
