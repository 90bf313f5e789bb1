"""Resolving duplicates in the master patient index: merge one record into another, or record that
two look-alike records are different people. Both are audited decisions kept as PatientLinks.

A merge keeps the source row (merged_into_id points at the survivor, so old ids and links still
resolve) and moves its registrations, entries and patient sign-in to the target. Grants and consent
are *not* moved: a grant for one record must not open the other's history."""

from __future__ import annotations

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.service import WRITE, PatientAccess, access_patient, visible_patients_clause
from carebridge.auth.models import User
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, InvalidInput
from carebridge.kit.i18n import N_
from carebridge.records.models import Patient, PatientLink, PatientRegistration, RecordEntry
from carebridge.records.registration import MERGED, NOT_DUPLICATE, describe_candidates, find_possible_duplicates
from carebridge.records.schemas import DuplicateCandidate, MergeIn, NotDuplicateIn


async def _open_pair(session: AsyncSession, principal: Principal, patient_id: int, other_id: int,
                     action: str) -> tuple[PatientAccess, PatientAccess]:
    if patient_id == other_id:
        raise InvalidInput(N_("choose two different patients"), details={"field": "other_patient_id"})
    first = await access_patient(session, principal, patient_id, action=action, mode=WRITE, resource_type="Patient")
    second = await access_patient(session, principal, other_id, action=action, mode=WRITE, resource_type="Patient")
    if first.patient.id == second.patient.id:
        raise Conflict(N_("these records are already merged"), code="already_merged")
    return first, second


async def merge_patients(session: AsyncSession, principal: Principal, target_id: int, data: MergeIn) -> Patient:
    target_access, source_access = await _open_pair(session, principal, target_id, data.source_patient_id,
                                                    "merge")
    target, source = target_access.patient, source_access.patient
    if source.id != data.source_patient_id or target.id != target_id:
        raise Conflict(N_("one of these records was already merged into another"), code="already_merged")
    if source.national_id and target.national_id and source.national_id != target.national_id:
        raise Conflict(N_("the records have different national IDs: they are different people"),
                       code="different_people")
    for field in ("national_id", "name_en", "phone", "address"):
        if not getattr(target, field) and getattr(source, field):
            setattr(target, field, getattr(source, field))
    await _move_registrations(session, source.id, target.id)
    await session.execute(update(RecordEntry.__table__).where(RecordEntry.__table__.c.patient_id == source.id)
                          .values(patient_id=target.id))
    await session.execute(update(User).where(User.patient_id == source.id).values(patient_id=target.id)
                          .execution_options(synchronize_session=False))
    source.merged_into_id = target.id
    session.add(PatientLink(patient_id=source.id, other_patient_id=target.id, kind=MERGED,
                            reason=data.reason.strip(), decided_by_id=principal.user_id))
    await session.flush()
    return target


async def _move_registrations(session: AsyncSession, source_id: int, target_id: int) -> None:
    # Where both were registered at one facility the source's number stays on the (merged) source
    # row, so the old number still leads to the surviving record through merged_into_id.
    target_facilities = select(PatientRegistration.facility_id).where(PatientRegistration.patient_id == target_id)
    await session.execute(
        update(PatientRegistration)
        .where(PatientRegistration.patient_id == source_id, PatientRegistration.facility_id.not_in(target_facilities))
        .values(patient_id=target_id).execution_options(synchronize_session=False))


async def mark_not_duplicate(session: AsyncSession, principal: Principal, patient_id: int,
                             data: NotDuplicateIn) -> PatientLink:
    first, second = await _open_pair(session, principal, patient_id, data.other_patient_id, "link")
    existing = await session.scalar(select(PatientLink).where(_pair_clause(first.patient.id, second.patient.id),
                                                              PatientLink.kind == NOT_DUPLICATE))
    if existing is not None:
        return existing
    link = PatientLink(patient_id=first.patient.id, other_patient_id=second.patient.id, kind=NOT_DUPLICATE,
                       reason=data.reason.strip(), decided_by_id=principal.user_id)
    session.add(link)
    await session.flush()
    return link


def _pair_clause(a: int, b: int):  # noqa: ANN202 - a SQLAlchemy boolean clause
    return or_(and_(PatientLink.patient_id == a, PatientLink.other_patient_id == b),
               and_(PatientLink.patient_id == b, PatientLink.other_patient_id == a))


async def possible_duplicates_of(session: AsyncSession, principal: Principal,
                                 access: PatientAccess) -> list[DuplicateCandidate]:
    """Look-alike records the caller could also open and that nobody has ruled out yet."""
    patient = access.patient
    found = await find_possible_duplicates(session, patient.name, patient.birth_date, patient.phone,
                                           exclude_id=patient.id)
    if not found:
        return []
    ruled_out = set((await session.scalars(select(PatientLink.other_patient_id).where(
        PatientLink.patient_id == patient.id, PatientLink.kind == NOT_DUPLICATE))).all())
    ruled_out |= set((await session.scalars(select(PatientLink.patient_id).where(
        PatientLink.other_patient_id == patient.id, PatientLink.kind == NOT_DUPLICATE))).all())
    visible = set((await session.scalars(select(Patient.id).where(
        Patient.id.in_([p.id for p, _ in found]), visible_patients_clause(principal)))).all())
    return await describe_candidates(session, [(p, r) for p, r in found if p.id in visible and p.id not in ruled_out])
