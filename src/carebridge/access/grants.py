"""Grants: a named user or a whole facility may read a patient's record items for a purpose until
expiry. `grant_access` is the plain service later features call (consultations, referrals,
diagnosis orders name themselves in source_type/source_id); facility admins create grants by hand
with `create_grant`. Grants only open anything while the patient's consent to sharing is in force.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from carebridge.access.models import AccessGrant, Purpose
from carebridge.access.service import (
    NOTE_MAX,
    check_scope_kinds,
    record_denial,
    surviving_patient,
)
from carebridge.audit import service as audit
from carebridge.auth.models import CLINICAL_ROLES, Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.network.models import Facility
from carebridge.records.models import Patient, PatientRegistration, RecordEntry

GRANT_PURPOSES = (Purpose.treatment.value, Purpose.consultation.value, Purpose.referral.value,
                  Purpose.diagnosis.value)
MIN_REASON = 3


@dataclass(frozen=True)
class GrantView:
    """A grant with the names a person needs to read it."""

    grant: AccessGrant
    patient_name: str
    mrn: str
    grantee: str
    granted_by: str
    grantee_en: str = ""

    @property
    def status(self) -> str:
        if self.grant.revoked_at is not None:
            return "revoked"
        return "active" if self.grant.expires_at > utcnow() else "expired"


def _check_grant_input(purpose: str, expires_at: dt.datetime, grantee_user_id: int | None,
                       grantee_facility_id: int | None, scope_all: bool, kinds: list[str],
                       entry_ids: list[int]) -> None:
    if (grantee_user_id is None) == (grantee_facility_id is None):
        raise InvalidInput(N_("name exactly one grantee: a user or a facility"), details={"field": "grantee"})
    if purpose not in GRANT_PURPOSES:
        raise InvalidInput(N_("purpose must be treatment, consultation, referral or diagnosis"),
                           details={"field": "purpose", "allowed": list(GRANT_PURPOSES)})
    if expires_at.tzinfo is None:
        raise InvalidInput(N_("expiry must include a time zone"), details={"field": "expires_at"})
    if expires_at <= utcnow():
        raise InvalidInput(N_("expiry must be in the future"), details={"field": "expires_at"})
    if not scope_all and not kinds and not entry_ids:
        raise InvalidInput(N_("a grant must cover the whole record, some kinds of record or some entries"),
                           details={"field": "scope"})


async def _check_grantee(session: AsyncSession, user_id: int | None, facility_id: int | None) -> None:
    if facility_id is not None:
        if not await session.scalar(select(Facility.id).where(Facility.id == facility_id, Facility.active)):
            raise InvalidInput(N_("grantee facility does not exist"), details={"field": "grantee_facility_id"})
        return
    clinical = await session.scalar(select(RoleAssignment.id).join(User, User.id == RoleAssignment.user_id).where(
        RoleAssignment.user_id == user_id, User.is_active, RoleAssignment.role.in_([str(r) for r in CLINICAL_ROLES]))
        .limit(1))
    if clinical is None:
        raise InvalidInput(N_("grantee must be an active member of clinical staff"),
                           details={"field": "grantee_user_id"})


async def _check_entries(session: AsyncSession, patient_id: int, entry_ids: list[int]) -> None:
    if not entry_ids:
        return
    found = set((await session.scalars(select(RecordEntry.id).where(
        RecordEntry.id.in_(entry_ids), RecordEntry.patient_id == patient_id))).all())
    if missing := sorted(set(entry_ids) - found):
        raise InvalidInput(N_("some entries are not in this patient's record"),
                           details={"field": "scope_entry_ids", "unknown": missing})


async def _actor_for(session: AsyncSession, granted_by: Principal | int, facility_id: int | None) -> audit.Actor:
    if isinstance(granted_by, Principal):
        return granted_by.actor(facility_id)
    user = await session.get(User, granted_by)
    if user is None:
        raise InvalidInput(N_("granting user does not exist"), details={"field": "granted_by"})
    return audit.Actor(user_id=user.id, name=user.display_name, facility_id=facility_id)


async def grant_access(
    session: AsyncSession,
    *,
    patient_id: int,
    purpose: Purpose | str,
    expires_at: dt.datetime,
    granted_by: Principal | int,
    grantee_user_id: int | None = None,
    grantee_facility_id: int | None = None,
    scope_all: bool = False,
    scope_kinds: Iterable[str] = (),
    scope_entry_ids: Iterable[int] = (),
    source_type: str = "manual",
    source_id: int | None = None,
    facility_id: int | None = None,
) -> AccessGrant:
    """Creates and audits a grant. The caller decides whether `granted_by` may; this checks the
    grant itself. `facility_id` is where the granting happened, for the audit trail."""
    kinds, entry_ids = check_scope_kinds(scope_kinds), sorted({int(i) for i in scope_entry_ids})
    _check_grant_input(str(purpose), expires_at, grantee_user_id, grantee_facility_id, scope_all, kinds, entry_ids)
    patient = await surviving_patient(session, patient_id)
    if patient is None:
        raise NotFound(N_("patient not found"))
    await _check_grantee(session, grantee_user_id, grantee_facility_id)
    await _check_entries(session, patient.id, entry_ids)
    actor = await _actor_for(session, granted_by, facility_id)
    grant = AccessGrant(patient_id=patient.id, grantee_user_id=grantee_user_id, grantee_facility_id=grantee_facility_id,
                        purpose=str(purpose), scope_all=scope_all, scope_kinds=[] if scope_all else kinds,
                        scope_entry_ids=[] if scope_all else entry_ids, source_type=source_type[:40],
                        source_id=source_id, granted_by_id=actor.user_id, expires_at=expires_at)
    session.add(grant)
    await session.flush()
    await audit.append(session, audit.Entry(
        action="grant", outcome="success", actor=actor, patient_id=patient.id, resource_type="AccessGrant",
        resource_id=grant.id, purpose=grant.purpose, detail={
            "grantee_user_id": grantee_user_id, "grantee_facility_id": grantee_facility_id,
            "scope_all": grant.scope_all, "scope_kinds": grant.scope_kinds,
            "scope_entry_ids": grant.scope_entry_ids, "expires_at": expires_at.astimezone(dt.UTC).isoformat(),
            "source_type": grant.source_type, "source_id": source_id}))
    return grant


async def _admin_facility_of(session: AsyncSession, principal: Principal, patient_id: int, *, action: str,
                            resource_type: str = "AccessGrant") -> tuple[Patient, int]:
    """The facility where this admin manages the patient (the patient is registered there).
    Anyone else, and an unknown patient, get the same 404, written down as denied."""
    admin_of = principal.facilities_with(Role.facility_admin)
    if not admin_of:
        record_denial(session, principal, patient_id, action=action, resource_type=resource_type)
        raise Forbidden(N_("only facility administrators can do this"))
    patient = await surviving_patient(session, patient_id)
    facility_id = None if patient is None else await session.scalar(
        select(PatientRegistration.facility_id).where(PatientRegistration.patient_id == patient.id,
                                                      PatientRegistration.facility_id.in_(admin_of))
        .order_by(PatientRegistration.facility_id).limit(1))
    if patient is None or facility_id is None:
        record_denial(session, principal, patient_id, action=action, resource_type=resource_type)
        raise NotFound(N_("patient not found"))
    return patient, facility_id


async def create_grant(session: AsyncSession, principal: Principal, patient_id: int, **grant: object) -> AccessGrant:
    """A facility admin grants access by hand to a patient registered at their facility."""
    patient, facility_id = await _admin_facility_of(session, principal, patient_id, action="grant")
    return await grant_access(session, patient_id=patient.id, granted_by=principal, facility_id=facility_id,
                              source_type="manual", source_id=None, **grant)


async def _may_revoke(session: AsyncSession, principal: Principal, grant: AccessGrant) -> bool:
    if grant.granted_by_id == principal.user_id or principal.patient_id == grant.patient_id:
        return True
    admin_of = principal.facilities_with(Role.facility_admin)
    return bool(admin_of) and await session.scalar(select(PatientRegistration.id).where(
        PatientRegistration.patient_id == grant.patient_id, PatientRegistration.facility_id.in_(admin_of))
        .limit(1)) is not None


async def revoke_grant(session: AsyncSession, principal: Principal, grant_id: int, reason: str) -> AccessGrant:
    """By whoever granted it, the patient, or an admin of a facility where the patient is registered."""
    reason = reason.strip()
    grant = await session.get(AccessGrant, grant_id)
    if grant is None or not await _may_revoke(session, principal, grant):
        record_denial(session, principal, grant.patient_id if grant else None, action="revoke",
                      resource_type="AccessGrant", resource_id=grant_id)
        raise NotFound(N_("grant not found"))
    if not MIN_REASON <= len(reason) <= NOTE_MAX:
        raise InvalidInput(N_("give a reason for revoking (3 to 500 characters)"), details={"field": "reason"})
    if grant.revoked_at is not None:
        raise Conflict(N_("this grant was already revoked"))
    grant.revoked_at, grant.revoked_by_id, grant.revoke_reason = utcnow(), principal.user_id, reason
    await session.flush()
    await audit.append(session, audit.Entry(
        action="revoke", outcome="success", actor=principal.actor(), patient_id=grant.patient_id,
        resource_type="AccessGrant", resource_id=grant.id, purpose=grant.purpose, detail={"reason": reason}))
    return grant


def _views_query():  # noqa: ANN202 - a Select over grants and the names that explain them
    grantee_user, granter = aliased(User), aliased(User)
    grantee_facility = aliased(Facility)
    return (select(AccessGrant, Patient.name, grantee_user.display_name, grantee_facility.name, granter.display_name,
                   grantee_facility.name_en)
            .join(Patient, Patient.id == AccessGrant.patient_id)
            .outerjoin(grantee_user, grantee_user.id == AccessGrant.grantee_user_id)
            .outerjoin(grantee_facility, grantee_facility.id == AccessGrant.grantee_facility_id)
            .join(granter, granter.id == AccessGrant.granted_by_id))


def _to_views(rows: Iterable, mrns: dict[int, str]) -> list[GrantView]:
    return [GrantView(grant, patient_name=patient, mrn=mrns.get(grant.patient_id, ""),
                      grantee=user or facility or "", granted_by=by, grantee_en=user or facility_en or facility or "")
            for grant, patient, user, facility, by, facility_en in rows]


async def list_patient_grants(session: AsyncSession, principal: Principal, patient_id: int) -> list[GrantView]:
    """Visible to the patient and to the admins of the patient's facilities."""
    if principal.patient_id is not None and principal.patient_id == patient_id:
        patient, facility_id, purpose = await surviving_patient(session, patient_id), None, Purpose.patient_self
    else:
        patient, facility_id = await _admin_facility_of(session, principal, patient_id, action="read")
        purpose = Purpose.administration
    await audit.append(session, audit.Entry(
        action="read", outcome="allowed", actor=principal.actor(facility_id), patient_id=patient.id,
        resource_type="AccessGrant", resource_id=patient.id, purpose=purpose.value))
    rows = await session.execute(_views_query().where(AccessGrant.patient_id == patient.id)
                                 .order_by(AccessGrant.id.desc()))
    mrn = "" if facility_id is None else await session.scalar(select(PatientRegistration.mrn).where(
        PatientRegistration.patient_id == patient.id, PatientRegistration.facility_id == facility_id))
    return _to_views(rows, {patient.id: mrn or ""})


async def list_facility_grants(session: AsyncSession, principal: Principal, facility_id: int, *,
                               active_only: bool = False, cursor: str | None = None,
                               limit: int = 50) -> Page[GrantView]:
    """Grants over the patients registered at this facility, newest first, for its admins."""
    if not principal.facilities_with(Role.facility_admin):
        raise Forbidden(N_("only facility administrators can do this"))
    if not principal.has_role(Role.facility_admin, facility_id):
        raise NotFound(N_("facility not found"))
    check_limit(limit)
    query = (_views_query().add_columns(PatientRegistration.mrn)
             .join(PatientRegistration, (PatientRegistration.patient_id == AccessGrant.patient_id)
                   & (PatientRegistration.facility_id == facility_id)))
    if active_only:
        query = query.where(AccessGrant.revoked_at.is_(None), AccessGrant.expires_at > utcnow())
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(AccessGrant.id < int(after[0]))
    rows = (await session.execute(query.order_by(AccessGrant.id.desc()).limit(limit + 1))).all()
    views = [GrantView(g, patient_name=patient, mrn=mrn, grantee=user or fac or "", granted_by=by,
                       grantee_en=user or fac_en or fac or "")
             for g, patient, user, fac, by, fac_en, mrn in rows[:limit]]
    await audit.append(session, audit.Entry(
        action="search", outcome="allowed", actor=principal.actor(facility_id), resource_type="AccessGrant",
        purpose=Purpose.administration.value, detail={"count": len(views)}))
    next_cursor = encode_cursor([views[-1].grant.id]) if len(rows) > limit else None
    return Page(views, next_cursor)


async def find_registered_patient(session: AsyncSession, principal: Principal, facility_id: int, mrn: str) -> int:
    """The patient with this record number at a facility the admin manages (for the grants form)."""
    if not principal.has_role(Role.facility_admin, facility_id):
        raise NotFound(N_("facility not found"))
    patient_id = await session.scalar(select(PatientRegistration.patient_id).where(
        PatientRegistration.facility_id == facility_id, func.upper(PatientRegistration.mrn) == mrn.strip().upper()))
    if patient_id is None:
        raise InvalidInput(N_("no patient has this record number at your facility"), details={"field": "mrn"})
    return patient_id


async def resolve_grantee(session: AsyncSession, kind: str, key: str) -> dict[str, int]:
    """Form input to ids: a facility by its code, or a user by sign-in name."""
    key = key.strip()
    if kind == "facility":
        found = await session.scalar(select(Facility.id).where(or_(Facility.code == key, Facility.code == key.upper())))
        field = "grantee_facility_id"
    else:
        found = await session.scalar(select(User.id).where(User.username == key.lower()))
        field = "grantee_user_id"
    if found is None:
        raise InvalidInput(N_("no such facility code or user name"), details={"field": "grantee"})
    return {field: found}
