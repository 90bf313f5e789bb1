"""Family members: a caregiver acts for a patient (an elderly parent, say) only with the patient's
recorded permission. Never commits.

The permission is given either by the patient from their own account (inviting the caregiver's
phone) or, for a patient without a smartphone, on signed paper that clinical staff record at a
facility where the patient is registered. It covers every portal action or reading only. The
patient (or the staff, for a withdrawn paper form, or the caregiver, stepping back) revokes it at
any time; `access.service.access_patient` reads it on every access (basis "proxy"), so a revocation
holds from the next request. An invitation to a phone without an account waits for that phone to
sign in (the phone is proven by a code, so nobody else can pick it up)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import WRITE, PatientAccess, access_patient, record_denial, surviving_patient
from carebridge.audit import service as audit
from carebridge.auth.models import User
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.notifications.service import notify
from carebridge.portal.accounts.linking import may_hand_over
from carebridge.portal.accounts.models import (
    CaregiverPermission,
    PermissionBasis,
    PermissionScope,
    PortalAccount,
    Relationship,
)
from carebridge.portal.accounts.phone_codes import check_sign_in_phone
from carebridge.records.identifiers import mask_phone

NAME_MAX, REFERENCE_MAX, REASON_MAX = 100, 200, 500
MANAGERS = frozenset({"self", "registration"})  # who may list and revoke a patient's permissions


@dataclass(frozen=True)
class CaregiverInput:
    phone: str
    name: str = ""
    relationship: str = Relationship.other.value
    scope: str = PermissionScope.all.value


@dataclass(frozen=True)
class ActingChoice:
    """Someone the signed-in user may act for: themselves, or a family member who permitted it."""

    patient_id: int
    name: str
    is_self: bool
    relationship: str = ""
    scope: str = PermissionScope.all.value
    permission_id: int | None = None


def _check(data: CaregiverInput) -> CaregiverInput:
    phone = check_sign_in_phone(data.phone)
    name = " ".join((data.name or "").split())
    if len(name) > NAME_MAX:
        raise InvalidInput(N_("the name is too long"), details={"field": "name", "max": NAME_MAX})
    if data.relationship not in {r.value for r in Relationship}:
        raise InvalidInput(N_("choose how you are related"), details={"field": "relationship"})
    if data.scope not in {s.value for s in PermissionScope}:
        raise InvalidInput(N_("choose what the family member may do"), details={"field": "scope"})
    return CaregiverInput(phone, name, data.relationship, data.scope)


async def _account_user(session: AsyncSession, phone: str) -> int | None:
    return await session.scalar(select(PortalAccount.user_id).where(PortalAccount.phone == phone))


async def _give(session: AsyncSession, principal: Principal, access: PatientAccess, data: CaregiverInput, *,
                basis: PermissionBasis, reference: str = "") -> CaregiverPermission:
    """One active permission per patient and phone: giving again changes what it allows."""
    patient = access.patient
    permission = await session.scalar(select(CaregiverPermission).where(
        CaregiverPermission.patient_id == patient.id, CaregiverPermission.caregiver_phone == data.phone,
        CaregiverPermission.revoked_at.is_(None)).order_by(CaregiverPermission.id).limit(1))
    changed = permission is not None
    if permission is None:
        permission = CaregiverPermission(patient_id=patient.id, caregiver_phone=data.phone,
                                         caregiver_user_id=await _account_user(session, data.phone),
                                         granted_by_id=principal.user_id, basis=basis.value)
        session.add(permission)
    permission.caregiver_name, permission.relationship, permission.scope = data.name, data.relationship, data.scope
    permission.basis, permission.paper_reference, permission.facility_id = basis.value, reference, access.facility_id
    await session.flush()
    await audit.append(session, audit.Entry(
        action="grant", outcome="success", actor=access.actor(principal), patient_id=patient.id,
        resource_type="CaregiverPermission", resource_id=permission.id,
        purpose=Purpose.patient_self.value if access.basis == "self" else Purpose.administration.value,
        detail={"grantee_user_id": permission.caregiver_user_id, "caregiver_phone": mask_phone(data.phone),
                "scope": data.scope, "relationship": data.relationship, "basis": basis.value,
                **({"changed": True} if changed else {}), **({"paper_reference": reference} if reference else {})}))
    if permission.caregiver_user_id is not None:
        await notify(session, [permission.caregiver_user_id], kind="portal_family",
                     title=_("You may now act for %(name)s") % {"name": patient.name}, link="/portal/family")
    return permission


async def grant_by_patient(session: AsyncSession, principal: Principal, patient_id: int,
                           data: CaregiverInput) -> CaregiverPermission:
    """The patient, signed in to their own account, invites a family member's phone."""
    data = _check(data)
    access = await access_patient(session, principal, patient_id, purpose=Purpose.patient_self,
                                  action="family_grant", resource_type="CaregiverPermission")
    if access.basis != "self":
        raise Forbidden(N_("only the patient can give a family member permission from their account"),
                        code="not_the_patient")
    user = await session.get(User, principal.user_id)
    own = await session.scalar(select(PortalAccount.phone).where(PortalAccount.user_id == principal.user_id))
    if data.phone in {own, user.phone, access.patient.phone}:
        raise InvalidInput(N_("that is your own phone number"), details={"field": "phone"})
    return await _give(session, principal, access, data, basis=PermissionBasis.patient)


async def record_paper_permission(session: AsyncSession, principal: Principal, patient_id: int,
                                  data: CaregiverInput, reference: str) -> CaregiverPermission:
    """Clinical staff where the patient is registered record the patient's signed paper form."""
    data = _check(data)
    reference = (reference or "").strip()
    if not 1 <= len(reference) <= REFERENCE_MAX:
        raise InvalidInput(N_("name the signed form (its number, or where the scan is filed)"),
                           details={"field": "reference"})
    access = await access_patient(session, principal, patient_id, purpose=Purpose.administration,
                                  action="family_grant", mode=WRITE, resource_type="CaregiverPermission")
    if access.basis != "registration" or not may_hand_over(principal, access.facility_id):
        record_denial(session, principal, access.patient.id, action="family_grant",
                      resource_type="CaregiverPermission")
        raise NotFound(N_("patient not found"))
    staff_phones = {await session.scalar(select(User.phone).where(User.id == principal.user_id)),
                    await session.scalar(select(PortalAccount.phone).where(PortalAccount.user_id == principal.user_id))}
    if data.phone in staff_phones - {None, ""}:
        raise InvalidInput(N_("staff cannot record a family permission for their own phone"),
                           details={"field": "phone"})
    permission = await _give(session, principal, access, data, basis=PermissionBasis.paper, reference=reference)
    patient_users = (await session.scalars(select(User.id).where(User.patient_id == access.patient.id))).all()
    if patient_users:
        await notify(session, patient_users, kind="portal_family", link="/portal/family",
                     title=_("A family member may now act for you: %(phone)s")
                     % {"phone": mask_phone(data.phone)})
    return permission


async def revoke(session: AsyncSession, principal: Principal, permission_id: int,
                 reason: str = "") -> CaregiverPermission:
    """The patient, the staff where the patient is registered, or the caregiver stepping back."""
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise InvalidInput(N_("the reason is too long"), details={"field": "reason", "max": REASON_MAX})
    permission = await session.get(CaregiverPermission, permission_id)
    if permission is None:
        raise NotFound(N_("no such family permission"))
    access = await access_patient(session, principal, permission.patient_id, purpose=Purpose.patient_self,
                                  action="family_revoke", resource_type="CaregiverPermission",
                                  resource_id=permission.id)
    stepping_back = permission.caregiver_user_id == principal.user_id
    if access.basis not in MANAGERS and not stepping_back:
        record_denial(session, principal, access.patient.id, action="family_revoke",
                      resource_type="CaregiverPermission", resource_id=permission.id)
        raise NotFound(N_("no such family permission"))
    done = await session.execute(
        update(CaregiverPermission).where(CaregiverPermission.id == permission.id,
                                          CaregiverPermission.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_by_id=principal.user_id, revoke_reason=reason)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(N_("this permission was already withdrawn"), code="already_revoked")
    await session.refresh(permission)
    by = "caregiver" if stepping_back else "patient" if access.basis == "self" else "staff"
    await audit.append(session, audit.Entry(
        action="revoke", outcome="success", actor=access.actor(principal), patient_id=access.patient.id,
        resource_type="CaregiverPermission", resource_id=permission.id,
        purpose=Purpose.administration.value if by == "staff" else Purpose.patient_self.value,
        detail={"grantee_user_id": permission.caregiver_user_id, "by": by, "scope": permission.scope,
                **({"reason": reason} if reason else {})}))
    if permission.caregiver_user_id is not None and not stepping_back:
        await notify(session, [permission.caregiver_user_id], kind="portal_family", link="/portal",
                     title=_("You can no longer act for %(name)s") % {"name": access.patient.name})
    return permission


async def caregivers_of(session: AsyncSession, principal: Principal, patient_id: int) -> tuple[PatientAccess,
                                                                                               list[CaregiverPermission]]:
    """Everyone who may (or could) act for the patient, for the patient or their facility's staff."""
    access = await access_patient(session, principal, patient_id, purpose=Purpose.patient_self,
                                  action="read", resource_type="CaregiverPermission")
    if access.basis not in MANAGERS:
        raise Forbidden(N_("only the patient manages who may act for them"), code="not_the_patient")
    rows = (await session.scalars(select(CaregiverPermission).where(CaregiverPermission.patient_id == access.patient.id)
                                  .order_by(CaregiverPermission.revoked_at.is_not(None),
                                            CaregiverPermission.id.desc()).limit(50))).all()
    return access, list(rows)


async def acting_choices(session: AsyncSession, principal: Principal) -> list[ActingChoice]:
    """Self first (when linked), then the family members who permitted this user. Read fresh on
    every request: a revoked permission disappears from the switcher at once."""
    choices = []
    if principal.patient_id is not None and (me := await surviving_patient(session, principal.patient_id)):
        choices.append(ActingChoice(me.id, me.name, True))
    permissions = (await session.scalars(select(CaregiverPermission).where(
        CaregiverPermission.caregiver_user_id == principal.user_id, CaregiverPermission.revoked_at.is_(None))
        .order_by(CaregiverPermission.id))).all()
    seen = {c.patient_id for c in choices}
    for permission in permissions:
        patient = await surviving_patient(session, permission.patient_id)
        if patient is not None and patient.id not in seen:
            seen.add(patient.id)
            choices.append(ActingChoice(patient.id, patient.name, False, permission.relationship, permission.scope,
                                        permission.id))
    return choices


async def claim_invitations(session: AsyncSession, user_id: int, phone: str) -> int:
    """Binds permissions addressed to this (just proven) phone to the account; returns how many."""
    waiting = (await session.scalars(select(CaregiverPermission).where(
        CaregiverPermission.caregiver_phone == phone, CaregiverPermission.caregiver_user_id.is_(None),
        CaregiverPermission.revoked_at.is_(None)))).all()
    for permission in waiting:
        permission.caregiver_user_id = user_id
        await audit.append(session, audit.Entry(
            action="family_invitation", outcome="claimed", actor=audit.Actor(user_id=user_id, role="caregiver"),
            patient_id=permission.patient_id, resource_type="CaregiverPermission", resource_id=permission.id,
            purpose=Purpose.patient_self.value, detail={"caregiver_phone": mask_phone(phone)}))
    await session.flush()
    return len(waiting)

