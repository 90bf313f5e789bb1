"""Diagnosis order use cases: order, read, cancel, and the lifecycle move every feature shares.

Who plays which part (lifecycle.Party):
- sender: a doctor, nurse or technician of the requesting facility;
- reader: a doctor at the reading hub.
Technicians at the hub see the order too (they link studies that arrived without one) but move
nothing. Everyone else gets the same 404 as for a missing order, and the refusal is audited.

Ordering grants the hub read access to the relevant part of the patient's record (history,
results, procedures, documents) for the order's life; when the order ends the grant runs on for
`GRANT_DAYS_AFTER_END` days so an addendum can still be written against the record.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.grants import grant_access
from carebridge.access.models import AccessGrant, ConsentStatus, Purpose
from carebridge.access.service import WRITE, access_patient, current_consent, record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.diagnostics import reading_settings
from carebridge.diagnostics.lifecycle import OPEN, Action, Party, State, next_state
from carebridge.diagnostics.models import DiagnosisOrder, Modality, OrderEvent, StudyKind, Urgency, kind_of
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import ServiceKind
from carebridge.network.offerings import find_service_providers

GRANT_SOURCE = "diagnosis_order"
OPEN_GRANT_DAYS = 3650
GRANT_DAYS_AFTER_END = 30
# Not documents: they include signed diagnosis reports, which a blinded second reader at the hub must
# not read before giving their own (quality.py); the order's own report reaches its parties directly.
RELEVANT_KINDS = ("condition", "observation", "procedure", "medication", "allergy")
SENDER_ROLES = (Role.doctor, Role.nurse, Role.technician)
ACCESSION_MAX = 16  # DICOM SH
NOTE_MAX = 2000
READING_SERVICE = {StudyKind.imaging: ServiceKind.imaging_reading, StudyKind.ecg: ServiceKind.ecg_reading,
                   StudyKind.pathology: ServiceKind.pathology_reading}


@dataclass(frozen=True)
class OrderRequest:
    patient_id: int
    modality: str
    clinical_question: str
    urgency: str = Urgency.routine.value
    body_part: str = ""
    accession_number: str = ""
    hub_facility_id: int | None = None
    frozen_section: bool = False


def turnaround_target(order: DiagnosisOrder) -> dt.timedelta:
    settings = get_settings()
    if order.frozen_section or order.urgency == Urgency.stat:
        return dt.timedelta(minutes=settings.diagnosis_stat_minutes)
    if order.urgency == Urgency.urgent:
        return dt.timedelta(minutes=settings.diagnosis_urgent_minutes)
    return dt.timedelta(minutes=settings.diagnosis_routine_minutes)


def _check_request(data: OrderRequest) -> None:
    if data.modality not in Modality.__members__.values():
        raise InvalidInput(N_("unknown modality"), details={"field": "modality"})
    if data.urgency not in Urgency.__members__.values():
        raise InvalidInput(N_("unknown urgency"), details={"field": "urgency"})
    if not 3 <= len(data.clinical_question.strip()) <= NOTE_MAX:
        raise InvalidInput(N_("state the clinical question (3 to 2000 characters)"),
                           details={"field": "clinical_question"})
    if len(data.body_part) > 64:
        raise InvalidInput(N_("body part is too long"), details={"field": "body_part"})
    accession = data.accession_number.strip()
    if accession and (len(accession) > ACCESSION_MAX or not accession.isprintable() or "\\" in accession):
        raise InvalidInput(N_("an accession number has at most 16 printable characters"),
                           details={"field": "accession_number"})
    if data.frozen_section and data.modality != Modality.SM:
        raise InvalidInput(N_("only a pathology order can be a frozen section"), details={"field": "frozen_section"})


def new_accession_number() -> str:
    """Short enough for DICOM (SH, 16), unguessable enough not to collide across 500,000 a year."""
    return f"CB{utcnow():%y%m%d}" + secrets.token_hex(4).upper()


async def _route(session: AsyncSession, data: OrderRequest, facility_id: int) -> int:
    service = READING_SERVICE[kind_of(data.modality)]
    matches = await find_service_providers(session, kind=service, for_facility_id=facility_id, limit=50)
    if data.hub_facility_id is not None:
        if not any(m.facility.id == data.hub_facility_id for m in matches):
            raise InvalidInput(N_("that facility does not offer this reading service to yours"),
                               details={"field": "hub_facility_id"})
        return data.hub_facility_id
    if not matches:
        raise Conflict(N_("no facility in the network offers this reading service to yours"), code="no_provider")
    return matches[0].facility.id


async def order_diagnosis(session: AsyncSession, principal: Principal, data: OrderRequest) -> DiagnosisOrder:
    """An order from a facility where the patient is registered; routed to the hub and shared with it."""
    _check_request(data)
    if not principal.facilities_with(*SENDER_ROLES):
        raise Forbidden(N_("only clinicians and technicians can order a remote diagnosis"))
    access = await access_patient(session, principal, data.patient_id, purpose=Purpose.diagnosis,
                                  action="diagnosis_order", mode=WRITE)
    if not any(principal.has_role(r, access.facility_id) for r in SENDER_ROLES):
        raise Forbidden(N_("only clinicians and technicians can order a remote diagnosis"))
    consent = await current_consent(session, access.patient.id)
    if consent is None or consent.status != ConsentStatus.granted:  # the study and record leave the facility
        raise Conflict(N_("the patient has not agreed to share their record with other facilities; "
                          "record their consent first"), code="no_consent")
    accession = data.accession_number.strip() or new_accession_number()
    if await session.scalar(select(DiagnosisOrder.id).where(DiagnosisOrder.accession_number == accession)):
        raise Conflict(N_("an order with this accession number already exists"), code="duplicate_accession")
    hub = await _route(session, data, access.facility_id)
    order = DiagnosisOrder(
        patient_id=access.patient.id, requesting_facility_id=access.facility_id,
        requesting_user_id=principal.user_id, hub_facility_id=hub,
        two_step=(await reading_settings.settings_for(session, hub)).two_step,  # the hub's rule when ordered
        modality=data.modality, body_part=data.body_part.strip(), clinical_question=data.clinical_question.strip(),
        urgency=data.urgency, frozen_section=data.frozen_section, accession_number=accession,
        state=State.awaiting_study.value, version=1)
    session.add(order)
    await session.flush()
    await grant_access(session, patient_id=order.patient_id, purpose=Purpose.diagnosis,
                       expires_at=utcnow() + dt.timedelta(days=OPEN_GRANT_DAYS), granted_by=principal,
                       grantee_facility_id=order.hub_facility_id, scope_kinds=RELEVANT_KINDS,
                       source_type=GRANT_SOURCE, source_id=order.id, facility_id=order.requesting_facility_id)
    await record_event(session, principal.user_id, order, Party.sender, "order", "", from_state="")
    await audit_order(session, principal.actor(order.requesting_facility_id), order, "order")
    from carebridge.diagnostics import studies  # studies build on orders; a waiting study joins its order now
    await studies.match_waiting_studies(session, order)
    return order


def parties_of(principal: Principal, order: DiagnosisOrder) -> frozenset[Party]:
    parties: set[Party] = set()
    if any(principal.has_role(r, order.requesting_facility_id) for r in SENDER_ROLES):
        parties.add(Party.sender)
    if principal.has_role(Role.doctor, order.hub_facility_id):
        parties.add(Party.reader)
    return frozenset(parties)


def is_hub_staff(principal: Principal, facility_id: int | None) -> bool:
    return facility_id is not None and facility_id in principal.facilities_with(Role.doctor, Role.technician)


async def load_order(session: AsyncSession, principal: Principal, order_id: int) -> tuple[DiagnosisOrder, frozenset]:
    """The order for one of its parties (or hub technicians); anyone else gets 404, audited."""
    order = await session.get(DiagnosisOrder, order_id)
    parties = parties_of(principal, order) if order else frozenset()
    if order is None or not (parties or is_hub_staff(principal, order.hub_facility_id)):
        record_denial(session, principal, order.patient_id if order else None, action="read",
                      resource_type="DiagnosisOrder", resource_id=order_id, purpose=Purpose.diagnosis.value)
        raise NotFound(N_("diagnosis order not found"))
    return order, parties


async def read_order(session: AsyncSession, principal: Principal, order_id: int,
                     action: str = "diagnosis_read") -> tuple[DiagnosisOrder, frozenset]:
    """`load_order` plus the audit row that says this person looked at this patient's order (and its
    images, tracing, slides, report: every patient-data read of an order goes through here)."""
    order, parties = await load_order(session, principal, order_id)
    facility = order.requesting_facility_id if Party.sender in parties else order.hub_facility_id
    await audit_order(session, principal.actor(facility), order, action.removeprefix("diagnosis_"), outcome="allowed")
    return order, parties


async def move(session: AsyncSession, order: DiagnosisOrder, action: Action, party: Party, *,
               actor_user_id: int | None, note: str = "", changes: dict | None = None) -> DiagnosisOrder:
    """One lifecycle move under the order's version: of two people acting at once exactly one wins."""
    from_state, read_version = order.state, order.version
    to = next_state(from_state, action, [party])
    values = {"state": to.value, "updated_at": utcnow()} | (changes or {})
    if to == State.cancelled:
        values["cancelled_at"] = utcnow()
    done = await session.execute(
        update(DiagnosisOrder).where(DiagnosisOrder.id == order.id, DiagnosisOrder.version == read_version)
        .values(version=DiagnosisOrder.version + 1, **values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(N_("someone else changed this order first; reload it and try again"), code="stale_order")
    await session.refresh(order)
    await record_event(session, actor_user_id, order, party, action.value, note, from_state=from_state)
    if to not in OPEN:
        await end_grant(session, order)
    return order


async def cancel_order(session: AsyncSession, principal: Principal, order_id: int, reason: str) -> DiagnosisOrder:
    order, parties = await load_order(session, principal, order_id)
    if Party.sender not in parties:
        raise Forbidden(N_("only the sending facility can cancel an order"))
    reason = reason.strip()
    if not 3 <= len(reason) <= NOTE_MAX:
        raise InvalidInput(N_("give a reason (3 to 2000 characters)"), details={"field": "reason"})
    await move(session, order, Action.cancel, Party.sender, actor_user_id=principal.user_id, note=reason)
    await audit_order(session, principal.actor(order.requesting_facility_id), order, "cancel")
    return order


async def end_grant(session: AsyncSession, order: DiagnosisOrder) -> None:
    ends = utcnow() + dt.timedelta(days=GRANT_DAYS_AFTER_END)
    grants = (await session.scalars(select(AccessGrant).where(
        AccessGrant.source_type == GRANT_SOURCE, AccessGrant.source_id == order.id,
        AccessGrant.revoked_at.is_(None)))).all()
    for grant in grants:
        grant.expires_at = min(grant.expires_at, ends)
    await session.flush()


async def record_event(session: AsyncSession, actor_user_id: int | None, order: DiagnosisOrder, party: Party,
                       action: str, note: str, *, from_state: str | None = None) -> None:
    """A line on the order's timeline; also for steps that move nothing (claim, assign, addendum)."""
    session.add(OrderEvent(order_id=order.id, actor_user_id=actor_user_id, party=party.value, action=action,
                           from_state=order.state if from_state is None else from_state, to_state=order.state,
                           note=note[:NOTE_MAX]))
    await session.flush()


async def audit_order(session: AsyncSession, actor: audit.Actor, order: DiagnosisOrder, action: str,
                 outcome: str = "success", detail: dict | None = None) -> None:
    await audit.append(session, audit.Entry(
        action=f"diagnosis_{action}", outcome=outcome, actor=actor, patient_id=order.patient_id,
        resource_type="DiagnosisOrder", resource_id=order.id, purpose=Purpose.diagnosis.value,
        facility_id=actor.facility_id, detail={"state": order.state, **(detail or {})}))


