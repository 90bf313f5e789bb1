"""Linking a patient account to the master patient index. Never commits.

Knowing someone's name and ID number must not open their record, so an account links by itself
only when the record's phone on file is the phone the account just proved (by code) and the name
and national ID match too. Otherwise:
- a record with that national ID exists: a claim waits for clinical staff of a facility where the
  patient is registered, who check the person (ID card, a call to the phone on file);
- no record has that ID but records of the same name and birth date (or name and phone) without an
  ID exist: the same kind of claim, one per candidate; when staff reject every candidate, a new
  record is made (and remembered as not a duplicate of those);
- nothing alike: a new master record, registered at the internet hospital's facility.
Every step is in the audit trail (action `portal_link`), on the patient it concerns."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import WRITE, access_patient, record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.accounts.models import ClaimStatus, LinkClaim, LinkStatus, PortalAccount
from carebridge.portal.accounts.phone_codes import serialise
from carebridge.records.identifiers import mask_phone, normalise_phone
from carebridge.records.models import Patient, PatientLink, PatientRegistration
from carebridge.records.registration import NOT_DUPLICATE, add_registration, find_possible_duplicates
from carebridge.records.views import facility_names

NOTE_MAX = 500
SAME_NATIONAL_ID = "same_national_id"


def _account_actor(account: PortalAccount, user: User) -> audit.Actor:
    return audit.Actor(user_id=user.id, name=account.real_name or user.display_name, role=Role.patient.value)


async def link_account(session: AsyncSession, principal: Principal, account: PortalAccount, user: User) -> None:
    """After the real-name step. Serialised per national ID, so two sign-ups with one ID (on
    PostgreSQL, where they could run side by side) cannot both make a new record."""
    await serialise(session, f"portal-national-id:{account.national_id}")
    actor = _account_actor(account, user)
    existing = await session.scalar(select(Patient).where(
        Patient.national_id == account.national_id, Patient.merged_into_id.is_(None)).order_by(Patient.id).limit(1))
    if existing is not None:
        if normalise_phone(existing.phone or "") == account.phone and existing.name == account.real_name:
            await _link(session, account, user, existing, actor, "phone_and_national_id")
        else:
            await _claim(session, account, [(existing, SAME_NATIONAL_ID)], actor)
        return
    # A different national ID on file means a different person; only records without one are doubtful.
    alike = [(p, reason) for p, reason in await find_possible_duplicates(
        session, account.real_name, account.birth_date, account.phone) if not p.national_id]
    if alike:
        await _claim(session, account, alike, actor)
        return
    patient = await _new_master_record(session, account, user, actor, not_duplicates=[], decided_by_id=None)
    await _link(session, account, user, patient, actor, "new_record")


async def _link(session: AsyncSession, account: PortalAccount, user: User, patient: Patient,
                actor: audit.Actor, method: str, facility_id: int | None = None) -> None:
    user.patient_id = patient.id
    account.link_status, account.updated_at = LinkStatus.linked.value, utcnow()
    await session.flush()
    await audit.append(session, audit.Entry(
        action="portal_link", outcome="linked", actor=actor, patient_id=patient.id, resource_type="PortalAccount",
        resource_id=account.id, purpose=Purpose.administration.value, facility_id=facility_id,
        detail={"method": method, "account_user_id": user.id, "phone": mask_phone(account.phone)}))


async def _claim(session: AsyncSession, account: PortalAccount, candidates: list[tuple[Patient, str]],
                 actor: audit.Actor) -> None:
    for patient, reason in candidates:
        claim = await session.scalar(select(LinkClaim).where(LinkClaim.account_id == account.id,
                                                             LinkClaim.patient_id == patient.id))
        if claim is None:
            session.add(LinkClaim(account_id=account.id, patient_id=patient.id, reason=reason))
        else:  # asked again (after a refusal, with the ID re-checked): staff look again
            claim.reason, claim.status, claim.decided_at, claim.decided_by_id, claim.note = (
                reason, ClaimStatus.pending.value, None, None, "")
        await audit.append(session, audit.Entry(
            action="portal_link", outcome="pending", actor=actor, patient_id=patient.id,
            resource_type="PortalAccount", resource_id=account.id, purpose=Purpose.administration.value,
            detail={"reason": reason, "account_user_id": account.user_id, "phone": mask_phone(account.phone)}))
    account.link_status, account.updated_at = LinkStatus.pending.value, utcnow()
    await session.flush()


async def _new_master_record(session: AsyncSession, account: PortalAccount, user: User, actor: audit.Actor, *,
                             not_duplicates: list[int], decided_by_id: int | None) -> Patient:
    patient = Patient(national_id=account.national_id, name=account.real_name, sex=account.sex,
                      birth_date=account.birth_date, phone=account.phone, created_by_id=user.id)
    session.add(patient)
    await session.flush()
    await add_registration(session, patient, account.facility_id, None)
    for other in not_duplicates:  # staff said these are different people: the duplicate check remembers
        session.add(PatientLink(patient_id=patient.id, other_patient_id=other, kind=NOT_DUPLICATE,
                                reason="checked at portal sign-up", decided_by_id=decided_by_id or user.id))
    await session.flush()
    await audit.append(session, audit.Entry(
        action="create", outcome="success", actor=actor, patient_id=patient.id, resource_type="Patient",
        resource_id=patient.id, purpose=Purpose.patient_self.value, facility_id=account.facility_id,
        detail={"source": "portal_signup", "account_user_id": user.id}))
    return patient


# ---- staff: the claims waiting at my facilities ----------------------------------------------

@dataclass(frozen=True)
class ClaimRow:
    claim: LinkClaim
    account: PortalAccount
    patient: Patient
    facility_name: str
    mrn: str


async def pending_claims(session: AsyncSession, principal: Principal) -> list[ClaimRow]:
    """Claims on patients registered at a facility where the caller is clinical staff. The list
    shows patients, so it is written down once per list, naming them."""
    facilities = principal.clinical_facility_ids
    if not facilities:
        return []
    rows = (await session.execute(
        select(LinkClaim, PortalAccount, Patient, PatientRegistration.facility_id, PatientRegistration.mrn)
        .join(PortalAccount, PortalAccount.id == LinkClaim.account_id)
        .join(Patient, Patient.id == LinkClaim.patient_id)
        .join(PatientRegistration, PatientRegistration.patient_id == LinkClaim.patient_id)
        .where(LinkClaim.status == ClaimStatus.pending.value, PatientRegistration.facility_id.in_(facilities))
        .order_by(LinkClaim.created_at, LinkClaim.id, PatientRegistration.facility_id))).all()
    seen, found = set(), []
    names = await facility_names(session, {r[3] for r in rows})
    for claim, account, patient, facility_id, mrn in rows:
        if claim.id not in seen:  # registered at two of my facilities: listed once
            seen.add(claim.id)
            found.append(ClaimRow(claim, account, patient, names.get(facility_id, ""), mrn))
    if found:
        await audit.append(session, audit.Entry(
            action="list", outcome="success", actor=principal.actor(), resource_type="PortalLinkClaim",
            purpose=Purpose.administration.value,
            detail={"claims": [r.claim.id for r in found], "patients": sorted({r.patient.id for r in found})}))
    return found


HANDING_OVER_ROLES = (Role.doctor, Role.nurse, Role.facility_admin)


def may_hand_over(principal: Principal, facility_id: int | None) -> bool:
    """Who at a patient's facility may give their record to an account or a caregiver: not every
    clinical role (a pharmacist or technician sees records for their own work only)."""
    return facility_id is not None and facility_id in principal.facilities_with(*HANDING_OVER_ROLES)


async def decide_claim(session: AsyncSession, principal: Principal, claim_id: int, *, confirm: bool,
                       note: str = "") -> LinkClaim:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(N_("note is too long"), details={"field": "note", "max": NOTE_MAX})
    claim = await session.get(LinkClaim, claim_id)
    if claim is None:
        raise NotFound(N_("no such request"))
    access = await access_patient(session, principal, claim.patient_id, purpose=Purpose.administration,
                                  action="portal_link", mode=WRITE, resource_type="PortalLinkClaim",
                                  resource_id=claim.id)
    claimant = await session.scalar(select(PortalAccount.user_id).where(PortalAccount.id == claim.account_id))
    # Emergency access opens a record; it does not hand it to someone. Handing over an account is for the
    # doctors, nurses and administrators who know the patient, and never for one's own account.
    if access.basis != "registration" or not may_hand_over(principal, access.facility_id) \
            or claimant == principal.user_id:
        record_denial(session, principal, access.patient.id, action="portal_link", resource_type="PortalLinkClaim",
                      resource_id=claim.id)
        raise NotFound(N_("no such request"))
    await serialise(session, f"portal-account:{claim.account_id}")
    status = ClaimStatus.confirmed if confirm else ClaimStatus.rejected
    decided = await session.execute(
        update(LinkClaim).where(LinkClaim.id == claim.id, LinkClaim.status == ClaimStatus.pending.value)
        .values(status=status.value, decided_at=utcnow(), decided_by_id=principal.user_id,
                facility_id=access.facility_id, note=note).execution_options(synchronize_session=False))
    if decided.rowcount != 1:
        raise Conflict(N_("this request has already been decided"), code="already_decided")
    await session.refresh(claim)
    account = await session.get(PortalAccount, claim.account_id)
    user = await session.get(User, account.user_id)
    actor = principal.actor(access.facility_id)
    await audit.append(session, audit.Entry(
        action="portal_link", outcome=status.value, actor=actor, patient_id=access.patient.id,
        resource_type="PortalLinkClaim", resource_id=claim.id, purpose=Purpose.administration.value,
        detail={"account_user_id": user.id, "reason": claim.reason, **({"note": note} if note else {})}))
    if confirm:
        await _confirmed(session, account, user, access.patient, actor, access.facility_id)
    else:
        await _after_rejection(session, account, user, principal)
    return claim


async def _confirmed(session: AsyncSession, account: PortalAccount, user: User, patient: Patient,
                     actor: audit.Actor, facility_id: int | None) -> None:
    await session.execute(update(LinkClaim).where(
        LinkClaim.account_id == account.id, LinkClaim.status == ClaimStatus.pending.value)
        .values(status=ClaimStatus.superseded.value, decided_at=utcnow()).execution_options(synchronize_session=False))
    if not patient.national_id and not await session.scalar(select(Patient.id).where(
            Patient.national_id == account.national_id, Patient.merged_into_id.is_(None))):
        patient.national_id = account.national_id  # staff checked the ID card in front of them
    await _link(session, account, user, patient, actor, "confirmed_by_staff", facility_id)


async def _after_rejection(session: AsyncSession, account: PortalAccount, user: User, principal: Principal) -> None:
    claims = (await session.scalars(select(LinkClaim).where(LinkClaim.account_id == account.id))).all()
    if any(c.status == ClaimStatus.pending for c in claims):
        return  # other candidates still wait
    if any(c.reason == SAME_NATIONAL_ID and c.status == ClaimStatus.rejected for c in claims):
        # The ID belongs to a record that is not this person's: only an in-person visit settles it.
        account.link_status, account.updated_at = LinkStatus.refused.value, utcnow()
        await session.flush()
        return
    # Every look-alike was someone else: this person is new to the network.
    rejected = [c.patient_id for c in claims if c.status == ClaimStatus.rejected]
    patient = await _new_master_record(session, account, user, principal.actor(), not_duplicates=rejected,
                                       decided_by_id=principal.user_id)
    await _link(session, account, user, patient, principal.actor(), "new_record_after_review")


async def claims_of_account(session: AsyncSession, account_id: int) -> list[LinkClaim]:
    return list((await session.scalars(select(LinkClaim).where(LinkClaim.account_id == account_id)
                                       .order_by(LinkClaim.id))).all())

