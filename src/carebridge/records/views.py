"""Turning rows into what callers see: summaries with masked identifiers, entries with provenance.
Names of facilities and authors are fetched once per page, not once per row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import User
from carebridge.kit import i18n
from carebridge.kit.clock import utcnow
from carebridge.network.models import Facility
from carebridge.records.identifiers import mask_phone
from carebridge.records.models import (
    Allergy,
    Condition,
    Document,
    Encounter,
    MedicationStatement,
    Observation,
    Patient,
    PatientRegistration,
    Procedure,
    RecordEntry,
)
from carebridge.records.schemas import EntryOut, PatientSummary, Provenance

# China Standard Time: the network's users share one zone (UTC+8, no DST); used for "today".
CST = dt.timezone(dt.timedelta(hours=8))


def age_on(birth_date: dt.date, today: dt.date | None = None) -> int:
    today = today or utcnow().astimezone(CST).date()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


async def facility_names(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(Facility.id, Facility.name, Facility.name_en).where(Facility.id.in_(wanted)))
    english = i18n.get_locale() == "en"
    return {fid: (name_en or name) if english else name for fid, name, name_en in rows}


async def user_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return dict(rows.all())


async def mrns_by_patient(session: AsyncSession, patient_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {pid: [] for pid in patient_ids}
    if patient_ids:
        rows = await session.execute(select(PatientRegistration.patient_id, PatientRegistration.mrn)
                                     .where(PatientRegistration.patient_id.in_(patient_ids))
                                     .order_by(PatientRegistration.id))
        for pid, mrn in rows:
            found[pid].append(mrn)
    return found


def patient_summary(patient: Patient, mrns: list[str] | None = None) -> PatientSummary:
    return PatientSummary(
        id=patient.id, name=patient.name, name_en=patient.name_en, sex=patient.sex,
        birth_date=patient.birth_date, age=age_on(patient.birth_date),
        national_id_masked=patient.national_id_masked, phone_masked=mask_phone(patient.phone or ""),
        mrns=mrns or [],
    )


async def patient_summaries(session: AsyncSession, patients: list[Patient]) -> list[PatientSummary]:
    mrns = await mrns_by_patient(session, [p.id for p in patients])
    return [patient_summary(p, mrns[p.id]) for p in patients]


def entry_details(entry: RecordEntry) -> dict[str, Any]:
    """The kind-specific fields, named as in the models (and the entry forms)."""
    if isinstance(entry, Observation):
        return {"value": entry.value_num, "value_text": entry.value_text, "unit": entry.unit,
                "ref_low": entry.ref_low, "ref_high": entry.ref_high,
                "interpretation": entry.interpretation, "category": entry.category}
    if isinstance(entry, Condition):
        return {"clinical_status": entry.clinical_status, "verification_status": entry.verification_status,
                "note": entry.note}
    if isinstance(entry, Encounter):
        return {"encounter_class": entry.encounter_class, "department_id": entry.department_id,
                "reason": entry.reason, "ended_at": entry.ended_at}
    if isinstance(entry, MedicationStatement):
        return {"dose": entry.dose, "route": entry.route, "frequency": entry.frequency, "status": entry.status}
    if isinstance(entry, Allergy):
        return {"category": entry.category, "criticality": entry.criticality, "reaction": entry.reaction}
    if isinstance(entry, Procedure):
        return {"body_site": entry.body_site, "outcome": entry.outcome}
    if isinstance(entry, Document):
        return {"title": entry.title, "media_type": entry.media_type, "size_bytes": entry.size_bytes,
                "filename": entry.filename, "content_url": f"/api/v1/documents/{entry.id}/content"}
    return {}


def entry_out(entry: RecordEntry, facilities: dict[int, str], authors: dict[int, str]) -> EntryOut:
    return EntryOut(
        id=entry.id, patient_id=entry.patient_id, kind=entry.kind, occurred_at=entry.occurred_at,
        code_system=entry.code_system, code=entry.code, display=entry.display,
        voided=entry.voided_at is not None, voided_at=entry.voided_at, void_reason=entry.void_reason,
        provenance=Provenance(
            facility_id=entry.facility_id, facility_name=facilities.get(entry.facility_id, ""),
            author_id=entry.author_id, author_name=authors.get(entry.author_id, "") if entry.author_id else "",
            recorded_at=entry.recorded_at),
        details=entry_details(entry),
    )


async def entries_out(session: AsyncSession, entries: list[RecordEntry]) -> list[EntryOut]:
    facilities = await facility_names(session, (e.facility_id for e in entries))
    authors = await user_names(session, (e.author_id for e in entries))
    return [entry_out(e, facilities, authors) for e in entries]
