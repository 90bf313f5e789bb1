"""The master patient index: registering patients (with duplicate detection), registering a known
patient at another facility, and correcting demographics.

One person, one record: a national ID already on file is a 409 that names the existing patient so
the user can register *them* here instead; a same-name-and-birth-date (or same-name-and-phone)
match is shown as possible duplicates the user must explicitly confirm are different people."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.service import WRITE, access_patient, surviving_patient
from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.records.identifiers import check_national_id, check_phone, mask_phone
from carebridge.records.models import Patient, PatientLink, PatientRegistration
from carebridge.records.schemas import DuplicateCandidate, PatientIn, PatientUpdate, RegistrationIn
from carebridge.records.views import CST, facility_names

MAX_CANDIDATES = 10
NOT_DUPLICATE, MERGED = "not_duplicate", "merged"


def registering_facility(principal: Principal, facility_id: int | None) -> int:
    """The facility a registration is made at: one where the caller is clinical staff."""
    mine = principal.clinical_facility_ids
    if not mine:
        raise Forbidden(N_("only clinical staff can register patients"))
    if facility_id is None:
        if len(mine) > 1:
            raise InvalidInput(N_("you work at several facilities: choose one"), details={"field": "facility_id"})
        return next(iter(mine))
    if facility_id not in mine:
        raise Forbidden(N_("you can only register patients at a facility where you work"))
    return facility_id


def check_birth_date(value: dt.date) -> dt.date:
    if value > utcnow().astimezone(CST).date():
        raise InvalidInput(N_("the birth date is in the future"), details={"field": "birth_date"})
    if value.year < 1890:
        raise InvalidInput(N_("the birth date is too far in the past"), details={"field": "birth_date"})
    return value


async def register_patient(session: AsyncSession, principal: Principal, data: PatientIn) -> Patient:
    facility_id = registering_facility(principal, data.facility_id)
    birth_date = check_birth_date(data.birth_date)
    national_id = check_national_id(data.national_id, birth_date=birth_date, sex=data.sex.value) \
        if data.national_id else None
    phone = check_phone(data.phone)
    if national_id:
        await _refuse_known_national_id(session, principal, national_id)
    candidates = await find_possible_duplicates(session, data.name, birth_date, phone)
    if candidates and not data.confirm_not_duplicate:
        await _refuse_possible_duplicates(session, principal, candidates)
    if data.mrn:
        await _check_mrn_free(session, facility_id, data.mrn)
    patient = Patient(national_id=national_id, name=data.name, name_en=data.name_en, sex=data.sex.value,
                      birth_date=birth_date, phone=phone, address=data.address, created_by_id=principal.user_id)
    session.add(patient)
    await session.flush()
    await add_registration(session, patient, facility_id, data.mrn)
    for other, _ in candidates:  # the user said these are different people: remember that
        session.add(PatientLink(patient_id=patient.id, other_patient_id=other.id, kind=NOT_DUPLICATE,
                                reason="confirmed at registration", decided_by_id=principal.user_id))
    await access_patient(session, principal, patient.id, action="create", mode=WRITE, resource_type="Patient")
    return patient


async def _refuse_known_national_id(session: AsyncSession, principal: Principal, national_id: str) -> None:
    existing = await session.scalar(select(Patient).where(
        Patient.national_id == national_id, Patient.merged_into_id.is_(None)).limit(1))
    if existing is None:
        return
    found = (await describe_candidates(session, [(existing, "same_national_id")]))[0]
    _audit_match(session, principal, existing.id, "national_id")
    raise Conflict(N_("a patient with this national ID is already registered"), code="duplicate_national_id",
                   details={"patient": found.model_dump(mode="json"),
                            "register_here": f"/api/v1/patients/{existing.id}/registrations"})


async def _refuse_possible_duplicates(session: AsyncSession, principal: Principal,
                                      candidates: list[tuple[Patient, str]]) -> None:
    described = await describe_candidates(session, candidates)
    for patient, reason in candidates:
        _audit_match(session, principal, patient.id, reason)
    raise Conflict(N_("possible duplicates found: check them, then confirm this is a different person"),
                   code="possible_duplicates",
                   details={"candidates": [c.model_dump(mode="json") for c in described],
                            "confirm_with": {"confirm_not_duplicate": True}})


def _audit_match(session: AsyncSession, principal: Principal, patient_id: int, reason: str) -> None:
    # Showing a match reveals that the person is on file; the request rolls back, the trail must not.
    audit.append_even_if_rolled_back(session, audit.Entry(
        action="search", outcome="duplicate_shown", actor=principal.actor(), patient_id=patient_id,
        resource_type="Patient", resource_id=patient_id, purpose="administration",
        detail={"query_kind": reason}))


async def find_possible_duplicates(session: AsyncSession, name: str, birth_date: dt.date, phone: str,
                                   exclude_id: int | None = None) -> list[tuple[Patient, str]]:
    same_birth = and_(Patient.name == name, Patient.birth_date == birth_date)
    same_phone = and_(Patient.phone == phone, Patient.name == name) if phone else None
    clause = or_(same_birth, same_phone) if same_phone is not None else same_birth
    stmt = select(Patient).where(clause, Patient.merged_into_id.is_(None)).order_by(Patient.id).limit(MAX_CANDIDATES)
    if exclude_id is not None:
        stmt = stmt.where(Patient.id != exclude_id)
    found = (await session.scalars(stmt)).all()
    return [(p, "same_name_and_birth_date" if p.birth_date == birth_date else "same_name_and_phone")
            for p in found]


async def describe_candidates(session: AsyncSession, candidates: list[tuple[Patient, str]]) -> list[DuplicateCandidate]:
    ids = [p.id for p, _ in candidates]
    rows = (await session.execute(select(PatientRegistration.patient_id, PatientRegistration.facility_id)
                                  .where(PatientRegistration.patient_id.in_(ids)))).all()
    names = await facility_names(session, {fid for _, fid in rows})
    return [DuplicateCandidate(
        id=p.id, name=p.name, sex=p.sex, birth_date=p.birth_date, national_id_masked=p.national_id_masked,
        phone_masked=mask_phone(p.phone or ""), reason=reason,
        facilities=sorted(names.get(fid, "") for pid, fid in rows if pid == p.id),
    ) for p, reason in candidates]


# ---- record numbers -------------------------------------------------------------------------

async def _check_mrn_free(session: AsyncSession, facility_id: int, mrn: str) -> None:
    taken = await session.scalar(select(PatientRegistration.id).where(
        PatientRegistration.facility_id == facility_id, PatientRegistration.mrn == mrn))
    if taken is not None:
        raise Conflict(N_("this record number is already used at this facility"), code="duplicate_mrn",
                       details={"field": "mrn"})


async def add_registration(session: AsyncSession, patient: Patient, facility_id: int,
                           mrn: str | None) -> PatientRegistration:
    mrn = (mrn or "").strip() or await _generate_mrn(session, facility_id, patient.id)
    registration = PatientRegistration(patient_id=patient.id, facility_id=facility_id, mrn=mrn)
    try:
        async with session.begin_nested():  # a concurrent twin loses on the unique key, cleanly
            session.add(registration)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(N_("this record number is already used at this facility"), code="duplicate_mrn",
                       details={"field": "mrn"}) from exc
    return registration


async def _generate_mrn(session: AsyncSession, facility_id: int, patient_id: int) -> str:
    # Patient ids are unique, so this only collides with a hand-typed number; then add a suffix.
    base = f"P{patient_id:08d}"
    for n in range(1, 100):
        candidate = base if n == 1 else f"{base}-{n}"
        taken = await session.scalar(select(PatientRegistration.id).where(
            PatientRegistration.facility_id == facility_id, PatientRegistration.mrn == candidate))
        if taken is None:
            return candidate
    raise Conflict(N_("could not generate a free record number"))


async def register_at_facility(session: AsyncSession, principal: Principal, patient_id: int,
                               data: RegistrationIn) -> PatientRegistration:
    """Registers a patient already in the index at one of the caller's facilities.

    A caller who cannot open the record yet proves the patient is in front of them with the full
    national ID (or, for a patient without one, exact name and birth date); a wrong proof is the
    same audited 404 as a missing patient."""
    facility_id = registering_facility(principal, data.facility_id)
    patient = await surviving_patient(session, patient_id)
    if patient is None or not _proof_matches(patient, data):
        # No (or a wrong) proof: only a caller who may already write the record goes on.
        access = await access_patient(session, principal, patient_id, action="register", mode=WRITE,
                                      resource_type="PatientRegistration")
        patient = access.patient
    already = await session.scalar(select(PatientRegistration.id).where(
        PatientRegistration.patient_id == patient.id, PatientRegistration.facility_id == facility_id))
    if already is not None:
        raise Conflict(N_("the patient is already registered at this facility"), code="already_registered")
    if data.mrn:
        await _check_mrn_free(session, facility_id, data.mrn)
    registration = await add_registration(session, patient, facility_id, data.mrn)
    await access_patient(session, principal, patient.id, action="register", mode=WRITE,
                         resource_type="PatientRegistration", resource_id=registration.id)
    return registration


def _proof_matches(patient: Patient, data: RegistrationIn) -> bool:
    if data.national_id:
        return bool(patient.national_id) and patient.national_id == data.national_id.strip().upper()
    if data.name and data.birth_date and not patient.national_id:
        return patient.name == data.name.strip() and patient.birth_date == data.birth_date
    return False


# ---- corrections ----------------------------------------------------------------------------

async def update_patient(session: AsyncSession, principal: Principal, patient_id: int,
                         data: PatientUpdate) -> Patient:
    access = await access_patient(session, principal, patient_id, action="update", mode=WRITE,
                                  resource_type="Patient")
    patient = access.patient
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "sex", "birth_date"):
        if field in changes and changes[field] is None:
            raise InvalidInput(N_("this field cannot be emptied"), details={"field": field})
    birth_date = check_birth_date(changes.get("birth_date", patient.birth_date))
    sex = str(changes.get("sex", patient.sex))
    national_id = changes.get("national_id", patient.national_id) or None
    if national_id:
        national_id = check_national_id(national_id, birth_date=birth_date, sex=sex)
        await _refuse_national_id_of_other(session, national_id, patient.id)
    patient.national_id, patient.birth_date, patient.sex = national_id, birth_date, sex
    if "phone" in changes:
        patient.phone = check_phone(changes["phone"] or "")
    for field in ("name", "name_en", "address"):
        if field in changes:
            setattr(patient, field, changes[field] or "")
    await session.flush()
    return patient


async def _refuse_national_id_of_other(session: AsyncSession, national_id: str, patient_id: int) -> None:
    other = await session.scalar(select(Patient.id).where(
        Patient.national_id == national_id, Patient.id != patient_id, Patient.merged_into_id.is_(None)).limit(1))
    if other is not None:
        raise Conflict(N_("another patient already has this national ID; merge the records instead"),
                       code="duplicate_national_id", details={"patient_id": other})
