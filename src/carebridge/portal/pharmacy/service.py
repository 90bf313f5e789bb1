"""Prescription use cases: write (and submit), revise a returned one, cancel, the pharmacist's
review, reading with object-level checks, and the lists.

Who acts: doctors of the prescribing facility write, revise and cancel; pharmacists of the
dispensing facility review. The dispensing facility is the prescribing facility when it has a
pharmacist, else the nearest hub above it that has one (a township centre's prescriptions are
reviewed at its county hospital). Every move is a conditional UPDATE on `lock_version`, so of two
pharmacists approving at once exactly one wins and the other gets a 409."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import READ, WRITE, PatientAccess, access_patient, record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility, FacilityLink
from carebridge.portal.pharmacy import catalogue, checks, notices, record
from carebridge.portal.pharmacy.lifecycle import NEEDS_REASON, OPEN, Action, Party, State, next_state
from carebridge.portal.pharmacy.models import (
    Prescription,
    PrescriptionEvent,
    PrescriptionItem,
    PrescriptionVersion,
)
from carebridge.records.schemas import MedicationStatus

KINDS = ("chronic", "acute")
MAX_ITEMS = 5  # 处方管理办法 第六条: at most five drugs on one prescription
REASON_MIN, REASON_MAX = 3, 500
HUB_DEPTH = 3
PATIENT_BASES = frozenset({"self", "proxy"})


@dataclass(frozen=True)
class ItemInput:
    drug_code: str
    dose: float
    frequency: str
    duration_days: int
    route: str = ""
    quantity: int | None = None  # packs; empty: the suggestion from dose × frequency × duration
    instructions: str = ""


@dataclass(frozen=True)
class PrescriptionInput:
    patient_id: int
    items: tuple[ItemInput, ...]
    kind: str = "chronic"
    diagnosis: str = ""
    visit_id: int | None = None
    refills_allowed: int = 0
    valid_days: int | None = None
    dispensing_facility_id: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Origin:
    """Where a new prescription comes from: written by hand, or a doctor approving a refill."""

    facility_id: int
    refill_of: Prescription | None = None
    dispensing_facility_id: int | None = None
    extra_excluded: tuple[int, ...] = field(default_factory=tuple)


# ---- input checks -------------------------------------------------------------------------------

def _check_header(data: PrescriptionInput) -> tuple[int, int]:
    settings = get_settings()
    if data.kind not in KINDS:
        raise InvalidInput(N_("the prescription is chronic or acute"), details={"field": "kind"})
    if not 1 <= len(data.items) <= MAX_ITEMS:
        raise InvalidInput(N_("a prescription has one to five drugs"), details={"field": "items"})
    if len(data.diagnosis) > 300 or len(data.note) > REASON_MAX:
        raise InvalidInput(N_("the text is too long"), details={"field": "diagnosis"})
    refills = data.refills_allowed
    if refills and data.kind != "chronic":
        raise InvalidInput(N_("only a chronic prescription can allow refills"), details={"field": "refills_allowed"})
    if not 0 <= refills <= settings.pharmacy_max_refills:
        raise InvalidInput(N_("too many refills"), details={"field": "refills_allowed",
                                                             "max": settings.pharmacy_max_refills})
    default = settings.pharmacy_valid_days_chronic if data.kind == "chronic" else settings.pharmacy_valid_days_acute
    longest = settings.pharmacy_valid_days_max if data.kind == "chronic" else settings.pharmacy_valid_days_acute
    valid_days = data.valid_days or default
    if not 1 <= valid_days <= longest:
        raise InvalidInput(N_("the validity is too long for this kind of prescription"),
                           details={"field": "valid_days", "max": longest})
    return refills, valid_days


def _check_line(item: ItemInput, drug: catalogue.Drug | None, kind: str, position: int) -> checks.Line:
    settings = get_settings()
    where = {"field": "items", "line": position + 1}
    if drug is None or not drug.active:
        raise InvalidInput(N_("this drug is not in the catalogue"), details={**where, "drug_code": item.drug_code})
    if kind == "chronic" and not drug.chronic:
        raise InvalidInput(N_("this drug cannot be on a long-term prescription"), details=where)
    if item.frequency not in catalogue.FREQUENCIES:
        raise InvalidInput(N_("unknown frequency"), details={**where, "allowed": list(catalogue.FREQUENCIES)})
    if item.route and item.route not in drug.routes:
        raise InvalidInput(N_("this drug is not given that way"), details={**where, "allowed": drug.routes})
    if not 0 < item.dose <= 100_000:
        raise InvalidInput(N_("the dose must be a positive number"), details=where)
    longest = settings.pharmacy_supply_days_chronic if kind == "chronic" else settings.pharmacy_supply_days_acute
    if not 1 <= item.duration_days <= longest:
        raise InvalidInput(N_("the duration is too long for this kind of prescription"),
                           details={**where, "max": longest})
    quantity = item.quantity or catalogue.suggest_quantity(drug, item.dose, item.frequency, item.duration_days)
    if not 1 <= quantity <= 999:
        raise InvalidInput(N_("the quantity must be between 1 and 999"), details=where)
    return checks.Line(drug, item.dose, item.frequency, item.duration_days, quantity)


async def _check_items(session: AsyncSession, items: tuple[ItemInput, ...], kind: str) -> list[checks.Line]:
    drugs = await catalogue.drugs_by_code(session, {i.drug_code for i in items})
    return [_check_line(item, drugs.get(item.drug_code), kind, n) for n, item in enumerate(items)]


def check_reason(text: str, required: bool) -> str:
    text = (text or "").strip()
    if required and not REASON_MIN <= len(text) <= REASON_MAX:
        raise InvalidInput(N_("give a reason (3 to 500 characters)"), details={"field": "reason"})
    return text[:REASON_MAX]


# ---- where it is reviewed -----------------------------------------------------------------------

async def has_pharmacist(session: AsyncSession, facility_id: int) -> bool:
    return await session.scalar(select(RoleAssignment.id).join(User, User.id == RoleAssignment.user_id).where(
        RoleAssignment.facility_id == facility_id, RoleAssignment.role == Role.pharmacist.value,
        User.is_active).limit(1)) is not None


async def _reviewing_candidates(session: AsyncSession, facility_id: int) -> list[int]:
    """The facility, then its hubs one tier up, then theirs: nearest first."""
    found, layer = [facility_id], [facility_id]
    for _ in range(HUB_DEPTH):
        hubs = (select(FacilityLink.hub_id).join(Facility, Facility.id == FacilityLink.hub_id)
                .where(FacilityLink.facility_id.in_(layer), Facility.active).order_by(FacilityLink.hub_id))
        layer = list((await session.scalars(hubs)).all())
        layer = [f for f in dict.fromkeys(layer) if f not in found]
        found += layer
    return found


async def dispensing_facility(session: AsyncSession, facility_id: int, chosen: int | None = None) -> int:
    candidates = await _reviewing_candidates(session, facility_id)
    if chosen is not None:
        if chosen in candidates and await has_pharmacist(session, chosen):
            return chosen
        raise InvalidInput(N_("that pharmacy does not review prescriptions from this facility"),
                           details={"field": "dispensing_facility_id"})
    for candidate in candidates:
        if await has_pharmacist(session, candidate):
            return candidate
    raise InvalidInput(N_("no pharmacist reviews prescriptions from this facility yet"),
                       details={"field": "dispensing_facility_id"})


# ---- writing ------------------------------------------------------------------------------------

async def write_prescription(session: AsyncSession, principal: Principal, data: PrescriptionInput) -> Prescription:
    """A doctor writes and submits; the automatic checks run and the pharmacists are told."""
    access = await access_patient(session, principal, data.patient_id, purpose=Purpose.treatment,
                                  action="prescribe", mode=WRITE, resource_type="Prescription")
    if not principal.has_role(Role.doctor, access.facility_id):
        raise Forbidden(N_("only a doctor can write a prescription"))
    origin = Origin(access.facility_id, dispensing_facility_id=data.dispensing_facility_id)
    return await create_prescription(session, principal, access, data, origin)


async def create_prescription(session: AsyncSession, principal: Principal, access: PatientAccess,
                              data: PrescriptionInput, origin: Origin) -> Prescription:
    refills, valid_days = _check_header(data)
    lines = await _check_items(session, data.items, data.kind)
    dispensing = await dispensing_facility(session, origin.facility_id, origin.dispensing_facility_id)
    now = utcnow()
    prescription = Prescription(
        patient_id=access.patient.id, facility_id=origin.facility_id, dispensing_facility_id=dispensing,
        prescriber_id=principal.user_id, visit_id=data.visit_id, kind=data.kind, diagnosis=data.diagnosis.strip(),
        state=State.pending_review.value, refills_allowed=refills, valid_days=valid_days,
        valid_until=now + dt.timedelta(days=valid_days), refill_of_id=origin.refill_of.id if origin.refill_of else None,
        created_at=now, submitted_at=now, updated_at=now, lock_version=1, version_no=1)
    session.add(prescription)
    await session.flush()
    excluded = await record.statement_ids(session, await record.chain_ids(session, prescription))
    await _add_version(session, principal, access, prescription, lines, data, excluded, now)
    session.add(PrescriptionEvent(prescription_id=prescription.id, at=now, actor_id=principal.user_id,
                                  action="submit", to_state=prescription.state, note=data.note.strip()))
    await _audit(session, principal, prescription, "submit", origin.facility_id)
    await notices.to_review(session, prescription)
    return prescription


async def _add_version(session: AsyncSession, principal: Principal, access: PatientAccess, prescription: Prescription,
                       lines: list[checks.Line], data: PrescriptionInput, excluded: list[int],
                       now: dt.datetime) -> PrescriptionVersion:
    facts = await checks.patient_facts(session, access.patient, now=now, exclude_entry_ids=excluded)
    found = checks.run_checks(lines, facts)
    version = PrescriptionVersion(prescription_id=prescription.id, number=prescription.version_no,
                                  author_id=principal.user_id, created_at=now, note=data.note.strip(),
                                  checks=found, check_level=checks.level(found))
    session.add(version)
    await session.flush()
    items = [_item(version.id, n, line, data.items[n]) for n, line in enumerate(lines)]
    session.add_all(items)
    await session.flush()
    await record.write_statements(session, principal, prescription.patient_id, items)
    return version


def _item(version_id: int, position: int, line: checks.Line, given: ItemInput) -> PrescriptionItem:
    drug = line.drug
    return PrescriptionItem(
        version_id=version_id, position=position, drug_code=drug.code, atc=drug.atc,
        label=catalogue.drug_label(drug, en=False), label_en=catalogue.drug_label(drug, en=True),
        dose=line.dose, dose_unit=drug.dose_unit, route=given.route or drug.routes[0], frequency=line.frequency,
        duration_days=line.duration_days, quantity=line.quantity, pack_unit=drug.pack_unit,
        unit_fen=drug.price_fen, insured=drug.insured, cold_chain=drug.cold_chain,
        instructions=given.instructions.strip()[:200])


async def _audit(session: AsyncSession, principal: Principal | None, prescription: Prescription, action: str,
                 facility_id: int | None, **detail: object) -> None:
    actor = principal.actor(facility_id) if principal else audit.Actor(name="carebridge")
    await audit.append(session, audit.Entry(
        action=f"prescription_{action}"[:32], outcome="success", actor=actor, patient_id=prescription.patient_id,
        resource_type="Prescription", resource_id=prescription.id, purpose=Purpose.treatment.value,
        detail={"state": prescription.state, "version": prescription.version_no, **detail}))


# ---- reading ------------------------------------------------------------------------------------

def parties_of(principal: Principal, prescription: Prescription) -> set[Party]:
    parties = set()
    if principal.has_role(Role.doctor, prescription.facility_id):
        parties.add(Party.doctor)
    if principal.has_role(Role.pharmacist, prescription.dispensing_facility_id):
        parties.add(Party.pharmacist)
    return parties


async def access_prescription(session: AsyncSession, principal: Principal, prescription_id: int, *,
                              action: str = "read", for_patient: bool = False,
                              mode: str = READ) -> tuple[Prescription, set[Party]]:
    """The prescription and the parts the caller plays. Doctors of the prescribing facility and
    pharmacists of the dispensing one see it as staff; anyone else only through `access_patient`
    (the patient, their family, a clinician who may read the medication record), read-only unless
    they are the patient's side. Missing and forbidden are the same 404."""
    prescription = await session.get(Prescription, prescription_id)
    if prescription is None:
        record_denial(session, principal, None, action=f"prescription_{action}", resource_type="Prescription",
                      resource_id=prescription_id, purpose=Purpose.treatment.value)
        raise NotFound(N_("prescription not found"))
    await expire_if_due(session, prescription)
    parties = set() if for_patient else parties_of(principal, prescription)
    if parties:
        here = prescription.facility_id if Party.doctor in parties else prescription.dispensing_facility_id
        await _audit(session, principal, prescription, action, here)
        return prescription, parties
    access = await access_patient(session, principal, prescription.patient_id, purpose=Purpose.treatment,
                                  action=f"prescription_{action}", resource_type="Prescription",
                                  resource_id=prescription.id, mode=mode)
    if not (access.scope_all or "medication" in access.kinds):
        raise NotFound(N_("prescription not found"))
    return prescription, ({Party.patient} if access.basis in PATIENT_BASES else set())


async def current_version(session: AsyncSession, prescription: Prescription) -> PrescriptionVersion:
    return await session.scalar(select(PrescriptionVersion).where(
        PrescriptionVersion.prescription_id == prescription.id,
        PrescriptionVersion.number == prescription.version_no))


async def items_of(session: AsyncSession, version_id: int) -> list[PrescriptionItem]:
    return list((await session.scalars(select(PrescriptionItem).where(PrescriptionItem.version_id == version_id)
                                       .order_by(PrescriptionItem.position))).all())


# ---- moving -------------------------------------------------------------------------------------

async def move(session: AsyncSession, prescription: Prescription, action: Action, party: Party, *,
               actor_id: int | None, note: str = "", values: dict | None = None,
               stale: str = N_("someone else changed this prescription first; reload it and try again"),
               stale_code: str = "stale_prescription") -> None:
    """One lifecycle move under the prescription's lock_version."""
    from_state, read = prescription.state, prescription.lock_version
    to = next_state(from_state, action, [party])
    now = utcnow()
    changes = {"state": to.value, "updated_at": now, "lock_version": read + 1} | (values or {})
    if to not in OPEN:
        changes.setdefault("ended_at", now)
    done = await session.execute(update(Prescription).where(Prescription.id == prescription.id,
                                                             Prescription.lock_version == read)
                                 .values(**changes).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        await session.refresh(prescription)  # what the other side made of it
        raise Conflict(stale, code=stale_code, details={"state": prescription.state})
    await session.refresh(prescription)
    session.add(PrescriptionEvent(prescription_id=prescription.id, at=now, actor_id=actor_id, action=action.value,
                                  from_state=from_state, to_state=to.value, note=note))
    await session.flush()


async def expire_if_due(session: AsyncSession, prescription: Prescription, now: dt.datetime | None = None) -> bool:
    """Lazily, wherever a prescription is read: one past its validity and never dispensed expires."""
    now = now or utcnow()
    if State(prescription.state) not in OPEN or prescription.valid_until > now:
        return False
    try:
        await move(session, prescription, Action.expire, Party.system, actor_id=None)
    except Conflict:
        await session.refresh(prescription)  # someone moved or expired it meanwhile
        return False
    await record.set_status(session, await record.statement_ids(session, [prescription.id]), MedicationStatus.stopped)
    return True


async def review(session: AsyncSession, principal: Principal, prescription_id: int, action: str,
                 reason: str = "") -> Prescription:
    """A pharmacist of the dispensing facility approves, or returns to the doctor with a reason."""
    if action not in (Action.approve.value, Action.return_.value):
        raise NotFound(N_("no such action"), details={"action": action})
    act = Action(action)
    prescription, parties = await access_prescription(session, principal, prescription_id, action="review")
    if Party.pharmacist not in parties:
        raise Forbidden(N_("only a pharmacist of the dispensing pharmacy can review this prescription"))
    if prescription.state != State.pending_review:
        raise Conflict(N_("this prescription has already been reviewed"), code="already_reviewed",
                       details={"state": prescription.state})
    reason = check_reason(reason, act in NEEDS_REASON)
    version = await current_version(session, prescription)
    now = utcnow()
    await move(session, prescription, act, Party.pharmacist, actor_id=principal.user_id, note=reason,
               values={"reviewed_by_id": principal.user_id, "reviewed_at": now, "state_reason": reason},
               stale=N_("this prescription has already been reviewed"), stale_code="already_reviewed")
    version.outcome, version.outcome_reason = ("approved" if act is Action.approve else "returned"), reason
    version.reviewed_by_id, version.reviewed_at = principal.user_id, now
    await session.flush()
    await _audit(session, principal, prescription, act.value, prescription.dispensing_facility_id, reason=reason)
    if act is Action.approve:
        await _take_effect(session, prescription)
        await notices.approved(session, prescription)
    else:
        await notices.returned(session, prescription)
    return prescription


async def _take_effect(session: AsyncSession, prescription: Prescription) -> None:
    """Approved: its statements become active; a refill takes over from the order's earlier ones."""
    own = await record.statement_ids(session, [prescription.id])
    await record.set_status(session, own, MedicationStatus.active)
    if prescription.refill_of_id is not None:
        earlier = [i for i in await record.chain_ids(session, prescription) if i != prescription.id]
        await record.set_status(session, await record.statement_ids(session, earlier), MedicationStatus.completed,
                                only_from=("active",))


async def resubmit(session: AsyncSession, principal: Principal, prescription_id: int,
                   data: PrescriptionInput) -> Prescription:
    """The doctor revises a returned prescription: a new version, checked again, back to review."""
    prescription, parties = await access_prescription(session, principal, prescription_id, action="resubmit")
    if Party.doctor not in parties:
        raise Forbidden(N_("only a doctor of the prescribing facility can revise this prescription"))
    next_state(prescription.state, Action.resubmit, parties)
    data = PrescriptionInput(**{**vars(data), "patient_id": prescription.patient_id, "kind": prescription.kind,
                                "refills_allowed": prescription.refills_allowed,
                                "valid_days": prescription.valid_days})
    _check_header(data)
    lines = await _check_items(session, data.items, data.kind)
    access = await access_patient(session, principal, prescription.patient_id, purpose=Purpose.treatment,
                                  action="prescribe", mode=WRITE, resource_type="Prescription",
                                  resource_id=prescription.id)
    now = utcnow()
    old = await record.statement_ids(session, [prescription.id])
    await move(session, prescription, Action.resubmit, Party.doctor, actor_id=principal.user_id, note=data.note,
               values={"version_no": prescription.version_no + 1, "submitted_at": now, "state_reason": "",
                       "diagnosis": data.diagnosis.strip() or prescription.diagnosis})
    await record.void_statements(session, principal, old, f"replaced by version {prescription.version_no} "
                                                          f"of prescription {prescription.id}")
    excluded = await record.statement_ids(session, await record.chain_ids(session, prescription))
    await _add_version(session, principal, access, prescription, lines, data, excluded, now)
    await _audit(session, principal, prescription, "resubmit", prescription.facility_id)
    await notices.to_review(session, prescription)
    return prescription


async def cancel(session: AsyncSession, principal: Principal, prescription_id: int, reason: str) -> Prescription:
    prescription, parties = await access_prescription(session, principal, prescription_id, action="cancel")
    next_state(prescription.state, Action.cancel, parties)
    reason = check_reason(reason, True)
    await move(session, prescription, Action.cancel, Party.doctor, actor_id=principal.user_id, note=reason,
               values={"state_reason": reason})
    await record.set_status(session, await record.statement_ids(session, [prescription.id]), MedicationStatus.stopped)
    await _audit(session, principal, prescription, "cancel", prescription.facility_id, reason=reason)
    await notices.cancelled(session, prescription)
    return prescription


# ---- lists --------------------------------------------------------------------------------------

async def _expire_listed(session: AsyncSession, rows: list[Prescription]) -> None:
    now = utcnow()
    for row in rows:
        await expire_if_due(session, row, now)


async def review_queue(session: AsyncSession, principal: Principal, *, limit: int = 100) -> list[Prescription]:
    """Pending prescriptions of the caller's pharmacies, oldest first."""
    mine = principal.facilities_with(Role.pharmacist)
    if not mine:
        raise Forbidden(N_("only pharmacists have a review queue"))
    query = (select(Prescription).where(Prescription.dispensing_facility_id.in_(mine),
                                        Prescription.state == State.pending_review.value)
             .order_by(Prescription.submitted_at, Prescription.id).limit(limit))
    rows = list((await session.scalars(query)).all())
    await _expire_listed(session, rows)
    rows = [r for r in rows if r.state == State.pending_review]
    await audit.append(session, audit.Entry(
        action="prescription_queue", outcome="success", actor=principal.actor(min(mine)),
        resource_type="Prescription", resource_id="queue", purpose=Purpose.treatment.value,
        detail={"prescriptions": [r.id for r in rows]}))
    return rows


async def facility_prescriptions(session: AsyncSession, principal: Principal, *, state: str = "",
                                 limit: int = 100) -> list[Prescription]:
    """Prescriptions written at the caller's facilities (doctors), newest first."""
    mine = principal.facilities_with(Role.doctor)
    if not mine:
        raise Forbidden(N_("only doctors have a prescription list"))
    query = select(Prescription).where(Prescription.facility_id.in_(mine))
    if state:
        if state not in {s.value for s in State}:
            raise InvalidInput(N_("unknown state"), details={"field": "state", "allowed": [s.value for s in State]})
        query = query.where(Prescription.state == state)
    rows = list((await session.scalars(query.order_by(Prescription.id.desc()).limit(limit))).all())
    await _expire_listed(session, rows)
    return rows


async def patient_prescriptions(session: AsyncSession, principal: Principal, patient_id: int) -> list[Prescription]:
    """One patient's prescriptions, newest first, for the patient (or their family) or a clinician."""
    access = await access_patient(session, principal, patient_id, purpose=Purpose.treatment,
                                  action="prescription_list", resource_type="Prescription")
    if not (access.scope_all or "medication" in access.kinds):
        raise NotFound(N_("patient not found"))
    rows = list((await session.scalars(select(Prescription).where(Prescription.patient_id == access.patient.id)
                                       .order_by(Prescription.id.desc()))).all())
    await _expire_listed(session, rows)
    return rows
