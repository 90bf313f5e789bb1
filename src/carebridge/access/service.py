"""The core privacy promise. `access_patient` fetches *and* authorises *and* audits; no route reads
patient data any other way. Missing and forbidden are the same 404 so ids reveal nothing.

A clinician may read a patient when (a) the patient is registered at one of the clinician's
facilities, (b) consent to network sharing is in force and an active grant covers the clinician or
their facility, or (c) the clinician broke the glass for this patient within the last hours.
A patient reads only their own record. Administrators manage, they do not read records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import AccessGrant, BreakGlass, Consent, ConsentStatus, Purpose
from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.errors import NotFound
from carebridge.kit.clock import utcnow
from carebridge.records.models import Patient, PatientRegistration, RecordEntry

READ, WRITE = "read", "write"
WRITE_BASES = frozenset({"registration", "break_glass"})


@dataclass(frozen=True)
class PatientAccess:
    """What the caller may see of one patient, and on what basis (recorded in the audit)."""

    patient: Patient
    basis: str
    purpose: str
    facility_id: int | None = None
    scope_all: bool = True
    kinds: frozenset[str] = field(default_factory=frozenset)
    entry_ids: frozenset[int] = field(default_factory=frozenset)

    def allows(self, entry: RecordEntry) -> bool:
        return self.scope_all or entry.kind in self.kinds or entry.id in self.entry_ids

    def entry_filter(self):  # noqa: ANN201 - a SQLAlchemy boolean clause
        """The same rule as `allows`, as SQL, so lists are filtered in the query, not after it."""
        if self.scope_all:
            return RecordEntry.id.is_not(None)
        return or_(RecordEntry.kind.in_(self.kinds), RecordEntry.id.in_(self.entry_ids))


async def access_patient(
    session: AsyncSession,
    principal: Principal,
    patient_id: int,
    *,
    purpose: Purpose | str = Purpose.treatment,
    action: str = "read",
    mode: str = READ,
    resource_type: str = "Patient",
    resource_id: str | int | None = None,
) -> PatientAccess:
    patient = await _current_patient(session, patient_id)
    decided = await _decide(session, principal, patient, str(purpose)) if patient else None
    if decided is None or (mode == WRITE and decided.basis not in WRITE_BASES):
        audit.append_even_if_rolled_back(session, audit.Entry(
            action=action, outcome="denied", actor=principal.actor(), patient_id=patient_id,
            resource_type=resource_type, resource_id=resource_id or patient_id, purpose=str(purpose)))
        raise NotFound("patient not found")
    await audit.append(session, audit.Entry(
        action=action, outcome="allowed", actor=principal.actor(decided.facility_id), patient_id=patient.id,
        resource_type=resource_type, resource_id=resource_id or patient.id, purpose=decided.purpose,
        detail={"basis": decided.basis, **({"break_glass": True} if decided.basis == "break_glass" else {})}))
    return decided


async def _current_patient(session: AsyncSession, patient_id: int) -> Patient | None:
    """Follows merges, so an old id still leads to the surviving record."""
    patient = await session.get(Patient, patient_id)
    for _ in range(10):
        if patient is None or patient.merged_into_id is None:
            return patient
        patient = await session.get(Patient, patient.merged_into_id)
    return None


async def _decide(session: AsyncSession, principal: Principal, patient: Patient, purpose: str) -> PatientAccess | None:
    if principal.patient_id is not None and principal.patient_id == patient.id:
        return PatientAccess(patient, "self", Purpose.patient_self.value)
    clinical = principal.clinical_facility_ids
    if not clinical:
        return None
    home = await session.scalar(select(PatientRegistration.facility_id).where(
        PatientRegistration.patient_id == patient.id, PatientRegistration.facility_id.in_(clinical)).limit(1))
    if home is not None:
        return PatientAccess(patient, "registration", purpose, home)
    glass = await active_break_glass(session, principal, patient.id)
    if glass is not None:
        return PatientAccess(patient, "break_glass", Purpose.emergency.value, glass.facility_id)
    return await _decide_by_grants(session, principal, patient, purpose)


async def _decide_by_grants(
    session: AsyncSession, principal: Principal, patient: Patient, purpose: str
) -> PatientAccess | None:
    consent = await current_consent(session, patient.id)
    if consent is None or consent.status != ConsentStatus.granted:
        return None
    grants = (await session.scalars(active_grants_for(principal).where(AccessGrant.patient_id == patient.id))).all()
    if not grants:
        return None
    scope_all = any(g.scope_all for g in grants)
    kinds = frozenset(k for g in grants for k in g.scope_kinds)
    entry_ids = frozenset(i for g in grants for i in g.scope_entry_ids)
    if not consent.scope_all:  # the patient's consent narrows what any grant can open
        allowed = frozenset(consent.scope_kinds)
        kinds = allowed if scope_all else kinds & allowed
        scope_all = False
    facility = next((g.grantee_facility_id for g in grants if g.grantee_facility_id), None)
    return PatientAccess(patient, "grant", grants[0].purpose or purpose,
                         facility or min(principal.clinical_facility_ids), scope_all, kinds, entry_ids)


def active_grants_for(principal: Principal, now: dt.datetime | None = None) -> Select[tuple[AccessGrant]]:
    now = now or utcnow()
    return select(AccessGrant).where(
        AccessGrant.revoked_at.is_(None), AccessGrant.expires_at > now,
        or_(AccessGrant.grantee_user_id == principal.user_id,
            AccessGrant.grantee_facility_id.in_(principal.clinical_facility_ids)),
    )


async def active_break_glass(session: AsyncSession, principal: Principal, patient_id: int) -> BreakGlass | None:
    return await session.scalar(select(BreakGlass).where(
        BreakGlass.user_id == principal.user_id, BreakGlass.patient_id == patient_id,
        BreakGlass.expires_at > utcnow()).order_by(BreakGlass.id.desc()).limit(1))


async def current_consent(session: AsyncSession, patient_id: int) -> Consent | None:
    return await session.scalar(select(Consent).where(Consent.patient_id == patient_id)
                                .order_by(Consent.recorded_at.desc(), Consent.id.desc()).limit(1))


def visible_patients_clause(principal: Principal):  # noqa: ANN201 - a SQLAlchemy boolean clause
    """Which patients a search may return for this caller: the same bases as `access_patient`.
    Grants only count under consent; that is checked again when a record is opened."""
    if principal.patient_id is not None and not principal.is_clinician:
        return Patient.id == principal.patient_id
    clinical = principal.clinical_facility_ids
    if not clinical:
        return Patient.id.is_(None)
    now = utcnow()
    registered = exists().where(PatientRegistration.patient_id == Patient.id,
                                PatientRegistration.facility_id.in_(clinical))
    granted = exists(active_grants_for(principal, now).where(AccessGrant.patient_id == Patient.id)
                     .with_only_columns(AccessGrant.id))
    glass = exists().where(BreakGlass.patient_id == Patient.id, BreakGlass.user_id == principal.user_id,
                           BreakGlass.expires_at > now)
    return or_(registered, granted, glass)
