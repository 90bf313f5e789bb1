"""Pydantic models in and out of the records API (the pages build the same input models).

Inputs forbid unknown fields so a misspelt field is a 422, not silently dropped. Checks that need
the code lists or the database (ICD-10, LOINC, duplicates) live in the services."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from carebridge.records.models import Sex


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---- patients -------------------------------------------------------------------------------

class PatientIn(_In):
    name: str = Field(min_length=1, max_length=100)
    name_en: str = Field("", max_length=100)
    sex: Sex
    birth_date: dt.date
    national_id: str | None = Field(None, max_length=18)
    phone: str = Field("", max_length=40)
    address: str = Field("", max_length=300)
    facility_id: int | None = Field(None, description="registering facility; needed if you work at several")
    mrn: str | None = Field(None, max_length=40, description="record number at the facility; generated if empty")
    confirm_not_duplicate: bool = Field(False, description="register although possible duplicates were shown")


class PatientUpdate(_In):
    name: str | None = Field(None, min_length=1, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    sex: Sex | None = None
    birth_date: dt.date | None = None
    national_id: str | None = Field(None, max_length=18)
    phone: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=300)


class RegistrationIn(_In):
    facility_id: int | None = None
    mrn: str | None = Field(None, max_length=40)
    national_id: str | None = Field(None, max_length=18, description="proof for a patient you cannot open yet")
    name: str | None = Field(None, max_length=100, description="with birth_date: proof when there is no ID")
    birth_date: dt.date | None = None


class MergeIn(_In):
    source_patient_id: int = Field(description="the duplicate record, replaced by this one")
    reason: str = Field(min_length=3, max_length=500)


class NotDuplicateIn(_In):
    other_patient_id: int
    reason: str = Field("", max_length=500)


class RegistrationOut(BaseModel):
    facility_id: int
    facility_name: str
    mrn: str
    registered_at: dt.datetime


class PatientSummary(BaseModel):
    id: int
    name: str
    name_en: str
    sex: str
    birth_date: dt.date
    age: int
    national_id_masked: str
    phone_masked: str
    mrns: list[str] = []


class PatientOut(PatientSummary):
    national_id: str | None = Field(None, description="full value only for callers who may edit the record")
    phone: str | None = None
    address: str = ""
    registrations: list[RegistrationOut] = []
    allergies: list[str] = []
    access_basis: str = ""
    can_write: bool = False


class PatientPage(BaseModel):
    items: list[PatientSummary]
    next_cursor: str | None


class DuplicateCandidate(BaseModel):
    id: int
    name: str
    sex: str
    birth_date: dt.date
    national_id_masked: str
    phone_masked: str
    facilities: list[str]
    reason: str


# ---- entries --------------------------------------------------------------------------------

class EncounterClass(StrEnum):
    outpatient = "outpatient"
    inpatient = "inpatient"
    emergency = "emergency"
    teleconsultation = "teleconsultation"


class ClinicalStatus(StrEnum):
    active = "active"
    recurrence = "recurrence"
    relapse = "relapse"
    inactive = "inactive"
    remission = "remission"
    resolved = "resolved"


class VerificationStatus(StrEnum):
    unconfirmed = "unconfirmed"
    provisional = "provisional"
    differential = "differential"
    confirmed = "confirmed"
    refuted = "refuted"


class MedicationStatus(StrEnum):
    active = "active"
    completed = "completed"
    stopped = "stopped"
    on_hold = "on-hold"
    intended = "intended"


class AllergyCategory(StrEnum):
    food = "food"
    medication = "medication"
    environment = "environment"
    biologic = "biologic"


class Criticality(StrEnum):
    low = "low"
    high = "high"
    unable_to_assess = "unable-to-assess"


class _EntryIn(_In):
    occurred_at: AwareDatetime | None = Field(None, description="when it happened (with time zone); now if empty")
    encounter_id: int | None = Field(None, description="the encounter this belongs to")


class ObservationIn(_EntryIn):
    code: str = Field(max_length=10, description="LOINC code, e.g. 8480-6")
    display: str = Field("", max_length=300)
    value: float | None = None
    value_text: str = Field("", max_length=200)
    unit: str = Field("", max_length=30, description="UCUM unit, e.g. mm[Hg]")
    ref_low: float | None = None
    ref_high: float | None = None
    category: str | None = Field(None, pattern=r"^(vital-signs|laboratory)$")


class ConditionIn(_EntryIn):
    code: str = Field(max_length=10, description="ICD-10 code, e.g. I10")
    display: str = Field("", max_length=300)
    clinical_status: ClinicalStatus = ClinicalStatus.active
    verification_status: VerificationStatus = VerificationStatus.confirmed
    note: str = Field("", max_length=4000)


class EncounterIn(_EntryIn):
    encounter_class: EncounterClass
    department_id: int | None = None
    reason: str = Field("", max_length=500)
    ended_at: AwareDatetime | None = None


class MedicationIn(_EntryIn):
    display: str = Field(min_length=1, max_length=300, description="medicine name")
    code: str = Field("", max_length=40)
    code_system: str = Field("", max_length=40)
    dose: str = Field("", max_length=100)
    route: str = Field("", max_length=40)
    frequency: str = Field("", max_length=40)
    status: MedicationStatus = MedicationStatus.active


class AllergyIn(_EntryIn):
    display: str = Field(min_length=1, max_length=300, description="substance")
    category: AllergyCategory = AllergyCategory.medication
    criticality: Criticality = Criticality.low
    reaction: str = Field("", max_length=200)


class ProcedureIn(_EntryIn):
    display: str = Field(min_length=1, max_length=300)
    code: str = Field("", max_length=40)
    code_system: str = Field("", max_length=40)
    body_site: str = Field("", max_length=100)
    outcome: str = Field("", max_length=200)


class VoidIn(_In):
    reason: str = Field(min_length=3, max_length=500)


class Provenance(BaseModel):
    facility_id: int
    facility_name: str
    author_id: int | None
    author_name: str
    recorded_at: dt.datetime


class EntryOut(BaseModel):
    id: int
    patient_id: int
    kind: str
    occurred_at: dt.datetime
    code_system: str
    code: str
    display: str
    voided: bool
    voided_at: dt.datetime | None = None
    void_reason: str | None = None
    provenance: Provenance
    details: dict[str, Any]


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None


class SeriesPoint(BaseModel):
    at: dt.datetime
    value: float


class Series(BaseModel):
    code: str
    display: str
    unit: str
    ref_low: float | None
    ref_high: float | None
    points: list[SeriesPoint]
