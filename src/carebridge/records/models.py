"""Record entries use joined-table inheritance: one spine table (`record_entries`) orders the
timeline across kinds with one index; each kind keeps its typed columns in its own table."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class Sex(StrEnum):  # FHIR AdministrativeGender
    male = "male"
    female = "female"
    other = "other"
    unknown = "unknown"


class EntryKind(StrEnum):
    encounter = "encounter"
    condition = "condition"
    observation = "observation"
    medication = "medication"
    allergy = "allergy"
    procedure = "procedure"
    document = "document"


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_name_birth", "name", "birth_date"),
        # Name-prefix search pages through (name, id). On PostgreSQL migration 0002_records builds
        # it on `name COLLATE "C"` so a prefix is one contiguous range under any database collation.
        Index("ix_patients_name_id", "name", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    national_id: Mapped[str | None] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    sex: Mapped[str] = mapped_column(String(10))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(40), default="", index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Not a foreign key: users.patient_id already points here, and the audit trail names the creator.
    created_by_id: Mapped[int | None] = mapped_column(IdType)

    @property
    def national_id_masked(self) -> str:
        nid = self.national_id or ""
        if len(nid) < 8:
            return "*" * len(nid)
        return nid[:3] + "*" * (len(nid) - 7) + nid[-4:]


class PatientRegistration(Base):
    """A patient's medical record number at one facility (the MPI's cross-reference)."""

    __tablename__ = "patient_registrations"
    __table_args__ = (
        UniqueConstraint("facility_id", "mrn"),
        UniqueConstraint("patient_id", "facility_id"),
        # Search by record number without knowing the facility that issued it.
        Index("ix_patient_registrations_mrn", "mrn"),
        # "Patients registered at my facilities" (the visibility check of every search) as an
        # index-only scan instead of a heap visit per registration.
        Index("ix_patient_registrations_facility_patient", "facility_id", "patient_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    mrn: Mapped[str] = mapped_column(String(40))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PatientLink(Base):
    """Audited MPI decisions: 'not a duplicate' reviews and merges (source replaced by target)."""

    __tablename__ = "patient_links"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    other_patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500), default="")
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordEntry(Base):
    __tablename__ = "record_entries"
    __table_args__ = (
        Index("ix_record_entries_timeline", "patient_id", "occurred_at", "id"),
        Index("ix_record_entries_series", "patient_id", "kind", "code", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("record_entries.id"))
    code_system: Mapped[str] = mapped_column(String(40), default="")
    code: Mapped[str] = mapped_column(String(40), default="")
    display: Mapped[str] = mapped_column(String(300), default="")
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(String(500))

    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "entry"}


def _entry_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("record_entries.id"), primary_key=True)


class Encounter(RecordEntry):
    __tablename__ = "encounters"
    __mapper_args__ = {"polymorphic_identity": EntryKind.encounter.value}

    id: Mapped[int] = _entry_fk()
    encounter_class: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Condition(RecordEntry):
    """ICD-10 coded: code_system='ICD-10', code, display on the spine."""

    __tablename__ = "conditions"
    __mapper_args__ = {"polymorphic_identity": EntryKind.condition.value}

    id: Mapped[int] = _entry_fk()
    clinical_status: Mapped[str] = mapped_column(String(20), default="active")
    verification_status: Mapped[str] = mapped_column(String(20), default="confirmed")
    note: Mapped[str] = mapped_column(Text, default="")


class Observation(RecordEntry):
    """LOINC coded with a UCUM unit; interpretation follows HL7 v3 ObservationInterpretation."""

    __tablename__ = "observations"
    __mapper_args__ = {"polymorphic_identity": EntryKind.observation.value}

    id: Mapped[int] = _entry_fk()
    category: Mapped[str] = mapped_column(String(20), default="vital-signs")
    value_num: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(30), default="")
    ref_low: Mapped[float | None] = mapped_column(Float)
    ref_high: Mapped[float | None] = mapped_column(Float)
    interpretation: Mapped[str] = mapped_column(String(4), default="")


class MedicationStatement(RecordEntry):
    __tablename__ = "medication_statements"
    __mapper_args__ = {"polymorphic_identity": EntryKind.medication.value}

    id: Mapped[int] = _entry_fk()
    dose: Mapped[str] = mapped_column(String(100), default="")
    route: Mapped[str] = mapped_column(String(40), default="")
    frequency: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")


class Allergy(RecordEntry):
    __tablename__ = "allergies"
    __mapper_args__ = {"polymorphic_identity": EntryKind.allergy.value}

    id: Mapped[int] = _entry_fk()
    category: Mapped[str] = mapped_column(String(20), default="medication")
    criticality: Mapped[str] = mapped_column(String(20), default="low")
    reaction: Mapped[str] = mapped_column(String(200), default="")


class Procedure(RecordEntry):
    __tablename__ = "procedures"
    __mapper_args__ = {"polymorphic_identity": EntryKind.procedure.value}

    id: Mapped[int] = _entry_fk()
    body_site: Mapped[str] = mapped_column(String(100), default="")
    outcome: Mapped[str] = mapped_column(String(200), default="")


class Document(RecordEntry):
    """File in the content-addressed blob store; type sniffed from the bytes, not the label."""

    __tablename__ = "documents"
    __mapper_args__ = {"polymorphic_identity": EntryKind.document.value}

    id: Mapped[int] = _entry_fk()
    title: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    blob_digest: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200), default="")
