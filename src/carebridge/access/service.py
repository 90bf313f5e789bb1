"""The core privacy promise. `access_patient` fetches *and* authorises *and* audits; no route reads
patient data any other way. Missing and forbidden are the same 404 so ids reveal nothing.

A clinician may read a patient when (a) the patient is registered at one of the clinician's
facilities, (b) consent to network sharing is in force and an active grant covers the clinician or
their facility, or (c) the clinician broke the glass for this patient within the last hours.
A patient reads their own record ("self"), and a family member reads and acts for a patient who
recorded their permission ("proxy": granted from the patient's portal account or on signed paper at
a facility where the patient is registered; `portal/accounts/family.py`). Administrators manage,
they do not read records.

Modes: READ; WRITE (clinical writes: registration or break-the-glass); ACT (what a patient does in
the internet hospital on their own behalf: book, order, pay, cancel), allowed to the patient, to a
caregiver whose permission covers every portal action, and to staff who could write.

Consent lives here too because it is part of the decision; grants and break-the-glass, which
*create* access, live in `grants.py` and `emergency.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import AccessGrant, BreakGlass, Consent, ConsentStatus, Purpose
from carebridge.audit import service as audit
from carebridge.auth.models import User
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.portal.accounts.models import CaregiverPermission, PermissionScope
from carebridge.records.models import EntryKind, Patient, PatientRegistration, RecordEntry

READ, WRITE, ACT = "read", "write", "act"
WRITE_BASES = frozenset({"registration", "break_glass"})
CAREGIVER_ROLE = "caregiver"  # how the audit trail names a family member acting for the patient
ENTRY_KINDS = frozenset(k.value for k in EntryKind)
NOTE_MAX = 500


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
    proxy_permission_id: int | None = None  # basis "proxy": the caregiver permission relied on
    proxy_scope: str = ""

    @property
    def may_act(self) -> bool:
        """Portal actions on the patient's behalf (mode ACT)."""
        if self.basis == "proxy":
            return self.proxy_scope == PermissionScope.all
        return self.basis == "self" or self.basis in WRITE_BASES

    def audit_detail(self) -> dict:
        detail: dict = {"basis": self.basis}
        if self.basis == "break_glass":
            detail["break_glass"] = True
        if self.basis == "proxy":
            detail.update(acting_for=self.patient.id, permission_id=self.proxy_permission_id, scope=self.proxy_scope)
        return detail

    def actor(self, principal: Principal):  # noqa: ANN201 - an audit Actor
        """Who the trail names: a caregiver is written down as acting for the patient."""
        return principal.actor(self.facility_id, role=CAREGIVER_ROLE if self.basis == "proxy" else None)

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
    decided = await _authorise(session, principal, patient_id, purpose=str(purpose), action=action,
                               mode=mode, resource_type=resource_type, resource_id=resource_id)
    await audit.append(session, audit.Entry(
        action=action, outcome="allowed", actor=decided.actor(principal),
        patient_id=decided.patient.id, resource_type=resource_type,
        resource_id=resource_id or decided.patient.id, purpose=decided.purpose, detail=decided.audit_detail()))
    return decided


async def _authorise(session: AsyncSession, principal: Principal, patient_id: int, *, purpose: str,
                     action: str, mode: str, resource_type: str,
                     resource_id: str | int | None = None) -> PatientAccess:
    """The decision without the 'allowed' row, for use cases that write a richer row themselves.
    A refusal is always written down, even though the request's transaction rolls back."""
    patient = await surviving_patient(session, patient_id)
    decided = await _decide(session, principal, patient, purpose) if patient else None
    if decided is None or (mode == WRITE and decided.basis not in WRITE_BASES):
        record_denial(session, principal, patient_id, action=action, resource_type=resource_type,
                      resource_id=resource_id, purpose=purpose)
        raise NotFound(N_("patient not found"))
    if mode == ACT and not decided.may_act:
        # The caregiver may already read this patient, so the refusal reveals nothing: say why.
        record_denial(session, principal, decided.patient.id, action=action, resource_type=resource_type,
                      resource_id=resource_id, purpose=purpose)
        raise Forbidden(N_("your family permission for this patient is read-only"), code="read_only_permission")
    return decided


PATIENT_SIDE = frozenset({"self", "proxy"})


async def access_patient_side(session: AsyncSession, principal: Principal, patient_id: int,
                              **kwargs: object) -> PatientAccess:
    """The patient, or family acting for them. Pages written for the patient (their reports, who
    viewed their record) are not a way round the rules clinicians read under: a clinician with a
    narrow grant or a registration elsewhere gets the same 404 as anyone else."""
    access = await access_patient(session, principal, patient_id, **kwargs)
    if access.basis not in PATIENT_SIDE:
        record_denial(session, principal, access.patient.id, action=str(kwargs.get("action", "read")),
                      resource_type=str(kwargs.get("resource_type", "Patient")),
                      resource_id=kwargs.get("resource_id"), purpose=str(kwargs.get("purpose", "")))
        raise NotFound(N_("patient not found"))
    return access


def record_denial(session: AsyncSession, principal: Principal, patient_id: int | None, *, action: str,
                  resource_type: str = "Patient", resource_id: str | int | None = None, purpose: str = "",
                  facility_id: int | None = None) -> None:
    audit.append_even_if_rolled_back(session, audit.Entry(
        action=action, outcome="denied", actor=principal.actor(facility_id), patient_id=patient_id,
        resource_type=resource_type, resource_id=resource_id or patient_id or "", purpose=purpose))


async def surviving_patient(session: AsyncSession, patient_id: int) -> Patient | None:
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
        return await _decide_by_proxy(session, principal, patient)
    home = await session.scalar(select(PatientRegistration.facility_id).where(
        PatientRegistration.patient_id == patient.id, PatientRegistration.facility_id.in_(clinical))
        .order_by(PatientRegistration.facility_id).limit(1))
    if home is not None:
        return PatientAccess(patient, "registration", purpose, home)
    glass = await active_break_glass(session, principal, patient.id)
    if glass is not None:
        return PatientAccess(patient, "break_glass", Purpose.emergency.value, glass.facility_id)
    return (await _decide_by_grants(session, principal, patient, purpose)
            or await _decide_by_proxy(session, principal, patient))


async def _decide_by_proxy(session: AsyncSession, principal: Principal, patient: Patient) -> PatientAccess | None:
    """A family member with the patient's recorded permission (revocation takes effect at once:
    this is read on every access, never cached in the session)."""
    permission = await session.scalar(
        select(CaregiverPermission).where(active_caregiver_permissions(principal.user_id),
                                          CaregiverPermission.patient_id.in_(_merged_into(patient.id)))
        .order_by(CaregiverPermission.scope == PermissionScope.read.value, CaregiverPermission.id).limit(1))
    if permission is None:
        return None
    return PatientAccess(patient, "proxy", Purpose.patient_self.value, proxy_permission_id=permission.id,
                         proxy_scope=permission.scope)


def active_caregiver_permissions(user_id: int):  # noqa: ANN201 - a SQLAlchemy boolean clause
    return and_(CaregiverPermission.caregiver_user_id == user_id, CaregiverPermission.revoked_at.is_(None))


def _merged_into(patient_id: int):  # noqa: ANN202 - a scalar subquery of ids
    """The patient and the duplicates merged into them: a permission given on a duplicate holds."""
    return select(Patient.id).where(or_(Patient.id == patient_id, Patient.merged_into_id == patient_id))


async def _decide_by_grants(
    session: AsyncSession, principal: Principal, patient: Patient, purpose: str
) -> PatientAccess | None:
    consent = await current_consent(session, patient.id)
    if consent is None or consent.status != ConsentStatus.granted:
        return None
    grants = (await session.scalars(active_grants_for(principal).where(AccessGrant.patient_id == patient.id)
                                    .order_by(AccessGrant.id))).all()
    if not grants:
        return None
    scope_all = any(g.scope_all for g in grants)
    kinds = frozenset(k for g in grants for k in g.scope_kinds)
    entry_ids = frozenset(i for g in grants for i in g.scope_entry_ids)
    if not consent.scope_all:  # the patient's consent narrows what any grant can open
        allowed = frozenset(consent.scope_kinds)
        kinds = allowed if scope_all else kinds & allowed
        scope_all = False
        entry_ids = await _entries_of_kinds(session, entry_ids, allowed)
    if not scope_all and not kinds and not entry_ids:
        return None
    facility = next((g.grantee_facility_id for g in grants if g.grantee_facility_id), None)
    return PatientAccess(patient, "grant", grants[0].purpose or purpose,
                         facility or min(principal.clinical_facility_ids), scope_all, kinds, entry_ids)


async def _entries_of_kinds(session: AsyncSession, entry_ids: frozenset[int], kinds: frozenset[str]) -> frozenset[int]:
    """A grant naming single entries must not open an entry whose kind the consent leaves out."""
    if not entry_ids:
        return entry_ids
    return frozenset((await session.scalars(select(RecordEntry.id).where(
        RecordEntry.id.in_(entry_ids), RecordEntry.kind.in_(kinds)))).all())


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
    family = exists().where(CaregiverPermission.patient_id == Patient.id,
                            active_caregiver_permissions(principal.user_id))
    if not principal.is_clinician:
        return or_(Patient.id == principal.patient_id, family) if principal.patient_id is not None else family
    clinical = principal.clinical_facility_ids
    now = utcnow()
    registered = exists().where(PatientRegistration.patient_id == Patient.id,
                                PatientRegistration.facility_id.in_(clinical))
    granted = exists(active_grants_for(principal, now).where(AccessGrant.patient_id == Patient.id)
                     .with_only_columns(AccessGrant.id))
    glass = exists().where(BreakGlass.patient_id == Patient.id, BreakGlass.user_id == principal.user_id,
                           BreakGlass.expires_at > now)
    return or_(registered, granted, glass, family)


# --- consent -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRecord:
    consent: Consent
    recorded_by: str
    facility: str
    facility_en: str


@dataclass(frozen=True)
class ConsentHistory:
    access: PatientAccess
    records: list[ConsentRecord]

    @property
    def current(self) -> Consent | None:
        return self.records[0].consent if self.records else None


def check_scope_kinds(kinds: Iterable[str]) -> list[str]:
    chosen = sorted({str(k) for k in kinds})
    unknown = [k for k in chosen if k not in ENTRY_KINDS]
    if unknown:
        raise InvalidInput(N_("unknown record kind"), details={"field": "scope_kinds", "unknown": unknown,
                                                                "allowed": sorted(ENTRY_KINDS)})
    return chosen


def _check_consent_input(status: str, scope_all: bool, scope_kinds: Iterable[str], note: str) -> tuple[str, list[str]]:
    if status not in {s.value for s in ConsentStatus}:
        raise InvalidInput(N_("consent status must be granted, refused or revoked"), details={"field": "status"})
    if len(note) > NOTE_MAX:
        raise InvalidInput(N_("note is too long"), details={"field": "note", "max": NOTE_MAX})
    kinds = check_scope_kinds(scope_kinds)
    if status == ConsentStatus.granted and not scope_all and not kinds:
        raise InvalidInput(N_("choose what may be shared: everything or at least one kind of record"),
                           details={"field": "scope_kinds"})
    return status, kinds


async def record_consent(session: AsyncSession, principal: Principal, patient_id: int, *, status: str,
                         scope_all: bool = True, scope_kinds: Iterable[str] = (), note: str = "") -> Consent:
    """A new row every time: the newest is in force and the history stays readable."""
    note = note.strip()
    status, kinds = _check_consent_input(str(status), scope_all, scope_kinds, note)
    patient, facility_id, basis = await _consent_author(session, principal, patient_id)
    current = await current_consent(session, patient.id)
    if status == ConsentStatus.revoked and (current is None or current.status != ConsentStatus.granted):
        raise Conflict(N_("there is no granted consent to revoke"))
    scope_all = scope_all or status != ConsentStatus.granted
    consent = Consent(patient_id=patient.id, status=status, scope_all=scope_all,
                      scope_kinds=[] if scope_all else kinds, recorded_by_id=principal.user_id,
                      facility_id=facility_id, note=note, recorded_at=utcnow())
    session.add(consent)
    await session.flush()
    await audit.append(session, audit.Entry(
        action="consent", outcome="success", actor=principal.actor(facility_id), patient_id=patient.id,
        resource_type="Consent", resource_id=consent.id,
        purpose=Purpose.patient_self.value if basis == "self" else Purpose.administration.value,
        detail={"basis": basis, "status": status, "scope_all": scope_all, "scope_kinds": consent.scope_kinds}))
    return consent


async def _consent_author(session: AsyncSession, principal: Principal,
                          patient_id: int) -> tuple[Patient, int | None, str]:
    """The patient themselves, or staff of a facility where they are registered: break-the-glass
    opens a record in an emergency, it does not let a stranger decide what the patient shares."""
    if principal.patient_id is not None:
        patient = await surviving_patient(session, patient_id)
        if patient is not None and patient.id == principal.patient_id:
            return patient, None, "self"
    decided = await _authorise(session, principal, patient_id, purpose=Purpose.administration.value,
                               action="consent", mode=WRITE, resource_type="Consent")
    if decided.basis != "registration":
        record_denial(session, principal, decided.patient.id, action="consent", resource_type="Consent",
                      facility_id=decided.facility_id)
        raise Forbidden(N_("consent is recorded by the patient or at a facility where they are registered"))
    return decided.patient, decided.facility_id, decided.basis


async def consent_history(session: AsyncSession, principal: Principal, patient_id: int) -> ConsentHistory:
    access = await access_patient(session, principal, patient_id, purpose=Purpose.administration,
                                  resource_type="Consent")
    rows = await session.execute(
        select(Consent, User.display_name, Facility.name, Facility.name_en)
        .join(User, User.id == Consent.recorded_by_id)
        .outerjoin(Facility, Facility.id == Consent.facility_id)
        .where(Consent.patient_id == access.patient.id)
        .order_by(Consent.recorded_at.desc(), Consent.id.desc()))
    return ConsentHistory(access, [ConsentRecord(c, who, fac or "", fac_en or "") for c, who, fac, fac_en in rows])
