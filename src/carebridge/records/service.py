"""Reading the shared record: patient search, the patient header, the timeline and observation
series. Writing lives in registration.py, merging.py, entries.py and documents.py; their public
functions are re-exported here so callers need one import.

Every function takes the caller's Principal and goes through `access_patient` (or the visibility
clause for search), which also writes the audit row. The `*_for(access, ...)` variants serve a page
that has already opened the patient once, so one page view is one audit row, not five."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, func, literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import with_polymorphic

from carebridge.access.models import Purpose
from carebridge.access.service import WRITE_BASES, PatientAccess, access_patient, visible_patients_clause
from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.db import UTCDateTime
from carebridge.errors import Forbidden, InvalidInput
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.records import codes
from carebridge.records.documents import add_document, open_document
from carebridge.records.entries import (
    add_allergy,
    add_condition,
    add_encounter,
    add_medication,
    add_observation,
    add_procedure,
    get_entry,
    void_entry,
)
from carebridge.records.identifiers import looks_like_national_id, normalise_phone
from carebridge.records.merging import mark_not_duplicate, merge_patients, possible_duplicates_of
from carebridge.records.models import (
    Allergy,
    EntryKind,
    Observation,
    Patient,
    PatientRegistration,
    RecordEntry,
)
from carebridge.records.registration import register_at_facility, register_patient, update_patient
from carebridge.records.schemas import EntryOut, PatientOut, PatientSummary, RegistrationOut
from carebridge.records.views import entries_out, facility_names, patient_summaries, patient_summary

__all__ = [
    "add_allergy", "add_condition", "add_document", "add_encounter", "add_medication", "add_observation",
    "add_procedure", "get_entry", "get_patient", "mark_not_duplicate", "merge_patients", "observation_series",
    "open_document", "possible_duplicates_of", "register_at_facility", "register_patient", "search_patients",
    "timeline", "update_patient", "void_entry",
]

MAX_QUERY_LENGTH = 100


# ---- search ---------------------------------------------------------------------------------

async def search_patients(
    session: AsyncSession, principal: Principal, query: str, *, limit: int = 20, cursor: str | None = None
) -> Page[PatientSummary]:
    """Patients the caller may see whose name starts with, or whose phone, national ID or record
    number equals, the query. Every predicate is an index range or an exact index lookup."""
    check_limit(limit)
    if not (principal.is_clinician or principal.patient_id is not None):
        raise Forbidden(N_("only clinical staff and patients can search for patients"))
    text = (query or "").strip()
    if not text or len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(N_("type a name, phone number, national ID or record number"),
                           details={"field": "q"})
    name_key = _name_key(session)
    kind, predicate = _search_predicate(text, name_key)
    stmt = (select(Patient)
            .where(predicate, Patient.merged_into_id.is_(None), visible_patients_clause(principal))
            .order_by(name_key, Patient.id).limit(limit + 1))
    after = decode_cursor(cursor)
    if after is not None:
        stmt = stmt.where(tuple_(name_key, Patient.id) > tuple_(literal(str(after[0])), literal(int(after[1]))))
    rows = list((await session.scalars(stmt)).all())
    page, more = rows[:limit], len(rows) > limit
    await audit.append(session, audit.Entry(
        action="search", outcome="success", actor=principal.actor(), resource_type="Patient",
        purpose=Purpose.treatment.value if principal.is_clinician else Purpose.patient_self.value,
        # The query itself is not kept: a national ID or a name in the trail is more personal data.
        detail={"query_kind": kind, "results": len(page), "page": "next" if cursor else "first"}))
    next_cursor = encode_cursor([page[-1].name, page[-1].id]) if more else None
    return Page(await patient_summaries(session, page), next_cursor)


def _name_key(session: AsyncSession) -> ColumnElement:
    # PostgreSQL: byte order, matching the COLLATE "C" index of migration 0002_records. SQLite's
    # default BINARY collation already compares UTF-8 bytes.
    if session.get_bind().dialect.name == "postgresql":
        return Patient.name.collate("C")
    return Patient.name


def _search_predicate(text: str, name_key: ColumnElement) -> tuple[str, ColumnElement]:
    if looks_like_national_id(text):
        return "national_id", Patient.national_id == text.upper()
    if any(ch.isdigit() for ch in text):
        by_mrn = select(PatientRegistration.patient_id).where(PatientRegistration.mrn == text)
        phone = normalise_phone(text)
        if phone.lstrip("+").isdigit():
            # One id list from two index lookups: PostgreSQL cannot turn `phone = x OR id IN (...)`
            # into a bitmap OR and would walk the whole name index instead.
            by_phone = select(Patient.id).where(Patient.phone == phone)
            return "phone_or_mrn", Patient.id.in_(union_all(by_phone, by_mrn))
        return "mrn", Patient.id.in_(by_mrn)
    return "name", and_(name_key >= text, name_key < _after_prefix(text))


def _after_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with prefix (code point order)."""
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates cannot be encoded; skip to the next real character
        last = 0xE000
    if last > 0x10FFFF:
        return prefix + "\U0010ffff"
    return prefix[:-1] + chr(last)


# ---- the patient header ---------------------------------------------------------------------

async def get_patient(session: AsyncSession, principal: Principal, patient_id: int) -> PatientOut:
    access = await access_patient(session, principal, patient_id, action="read", resource_type="Patient")
    return await patient_out_for(session, access)


async def patient_out_for(session: AsyncSession, access: PatientAccess) -> PatientOut:
    patient = access.patient
    registrations = (await session.scalars(select(PatientRegistration).where(
        PatientRegistration.patient_id == patient.id).order_by(PatientRegistration.id))).all()
    names = await facility_names(session, (r.facility_id for r in registrations))
    can_write = access.basis in WRITE_BASES
    summary = patient_summary(patient, [r.mrn for r in registrations])
    return PatientOut(
        **summary.model_dump(),
        national_id=patient.national_id if can_write else None,
        phone=patient.phone if access.basis in WRITE_BASES | {"self"} else None,
        address=patient.address if access.basis in WRITE_BASES | {"self"} else "",
        registrations=[RegistrationOut(facility_id=r.facility_id, facility_name=names.get(r.facility_id, ""),
                                       mrn=r.mrn, registered_at=r.registered_at) for r in registrations],
        allergies=await active_allergies_for(session, access),
        access_basis=access.basis, can_write=can_write,
    )


async def active_allergies_for(session: AsyncSession, access: PatientAccess) -> list[str]:
    rows = await session.scalars(
        select(Allergy).where(Allergy.patient_id == access.patient.id, Allergy.voided_at.is_(None),
                              access.entry_filter()).order_by(Allergy.occurred_at.desc()).limit(50))
    return [a.display + (f" ({a.reaction})" if a.reaction else "") for a in rows]


# ---- the timeline ---------------------------------------------------------------------------

async def timeline(
    session: AsyncSession, principal: Principal, patient_id: int, *, kinds: list[str] | None = None,
    facility_id: int | None = None, limit: int = 50, cursor: str | None = None,
) -> Page[EntryOut]:
    """Everything in the record, newest first, voided entries included and marked."""
    check_limit(limit)
    kinds = check_kinds(kinds)
    access = await access_patient(session, principal, patient_id, action="read", resource_type="Timeline")
    return await timeline_for(session, access, kinds=kinds, facility_id=facility_id, limit=limit, cursor=cursor)


def check_kinds(kinds: list[str] | None) -> list[str] | None:
    wanted = [k for k in (kinds or []) if k]
    unknown = sorted(set(wanted) - {k.value for k in EntryKind})
    if unknown:
        raise InvalidInput(N_("unknown entry kind"), details={"field": "kind", "unknown": unknown})
    return wanted or None


async def timeline_for(
    session: AsyncSession, access: PatientAccess, *, kinds: list[str] | None = None,
    facility_id: int | None = None, limit: int = 50, cursor: str | None = None,
) -> Page[EntryOut]:
    entry = with_polymorphic(RecordEntry, "*")
    # Keyset on (occurred_at, id) walks ix_record_entries_timeline backwards: no OFFSET, any depth.
    stmt = (select(entry).where(entry.patient_id == access.patient.id, access.entry_filter())
            .order_by(entry.occurred_at.desc(), entry.id.desc()).limit(limit + 1))
    if kinds:
        stmt = stmt.where(entry.kind.in_(kinds))
    if facility_id is not None:
        stmt = stmt.where(entry.facility_id == facility_id)
    after = _timeline_cursor(cursor)
    if after is not None:
        stmt = stmt.where(tuple_(entry.occurred_at, entry.id) < tuple_(literal(after[0], UTCDateTime()),
                                                                       literal(after[1])))
    rows = list((await session.scalars(stmt)).all())
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor([page[-1].occurred_at.isoformat(), page[-1].id]) if more else None
    return Page(await entries_out(session, page), next_cursor)


def _timeline_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        when, entry_id = dt.datetime.fromisoformat(values[0]), int(values[1])
    except (ValueError, TypeError, IndexError) as exc:
        raise InvalidInput("cursor is not valid", details={"cursor": cursor}) from exc
    if when.tzinfo is None:
        raise InvalidInput("cursor is not valid", details={"cursor": cursor})
    return when, entry_id


async def timeline_facilities_for(session: AsyncSession, access: PatientAccess) -> dict[int, str]:
    """Facilities that recorded something for this patient: the timeline's facility filter."""
    ids = (await session.scalars(select(RecordEntry.facility_id).where(
        RecordEntry.patient_id == access.patient.id, access.entry_filter()).distinct())).all()
    return await facility_names(session, ids)


# ---- observation series (trend charts) ------------------------------------------------------

async def observation_series(
    session: AsyncSession, principal: Principal, patient_id: int, loinc: str
) -> list[tuple[dt.datetime, float]]:
    if not codes.is_loinc(loinc):
        raise InvalidInput(N_("not a valid LOINC code"), details={"field": "code"})
    access = await access_patient(session, principal, patient_id, action="read",
                                  resource_type="ObservationSeries", resource_id=loinc)
    return await series_for(session, access, loinc)


async def series_for(session: AsyncSession, access: PatientAccess, loinc: str) -> list[tuple[dt.datetime, float]]:
    rows = await session.execute(
        select(Observation.occurred_at, Observation.value_num)
        .where(Observation.patient_id == access.patient.id, Observation.code == loinc,
               Observation.voided_at.is_(None), Observation.value_num.is_not(None), access.entry_filter())
        .order_by(Observation.occurred_at, Observation.id))
    return [(at, value) for at, value in rows]


async def repeated_observation_codes_for(session: AsyncSession, access: PatientAccess) -> list[str]:
    """Codes measured at least twice: the ones worth a trend chart."""
    rows = await session.execute(
        select(Observation.code, func.count())
        .where(Observation.patient_id == access.patient.id, Observation.voided_at.is_(None),
               Observation.value_num.is_not(None), access.entry_filter())
        .group_by(Observation.code).having(func.count() >= 2))
    return sorted(code for code, _ in rows)
