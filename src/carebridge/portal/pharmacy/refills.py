"""Refills of chronic prescriptions: the patient (or their family) asks; a doctor of the prescribing
facility approves as it stands, edits then approves, or declines with a reason. Approving writes a
new prescription (a refill of the original order) that goes to pharmacist review like any other.

Refills are counted on the original order. A request is refused with its reason when the order is
not active, has expired, cannot be refilled or has no refills left, when the last refill is still
being prepared, or when a request already waits. Exactly once: the decision is a conditional UPDATE
on the request's state, the refill count a conditional UPDATE on `refills_used < refills_allowed`,
and `new_prescription_id` is unique, so two doctors approving at once make one prescription."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exc, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import ACT, WRITE, access_patient, record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.pharmacy import notices, service
from carebridge.portal.pharmacy.lifecycle import REFILLS, Party, RefillAction, RefillState, State
from carebridge.portal.pharmacy.models import Prescription, RefillRequest

UNDER_WAY = (State.pending_review.value, State.returned.value, State.approved.value)


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str  # msgid


REFUSALS = {
    "cancelled": Refusal("prescription_cancelled", N_("this prescription was cancelled")),
    "not_approved": Refusal("not_approved", N_("this prescription has not been approved yet")),
    "expired": Refusal("prescription_expired", N_("this prescription has expired; ask your doctor for a new one")),
    "not_refillable": Refusal("not_refillable", N_("this prescription cannot be refilled; ask your doctor for a "
                                                   "new one")),
    "no_refills_left": Refusal("no_refills_left", N_("no refills are left on this prescription; ask your doctor "
                                                     "for a new one")),
    "in_progress": Refusal("refill_in_progress", N_("your last refill is still being prepared")),
    "waiting": Refusal("refill_waiting", N_("a refill request for this prescription is already waiting for the "
                                            "doctor")),
}


def order_of(prescription: Prescription) -> int:
    """Refills are asked for, and counted on, the original order."""
    return prescription.refill_of_id or prescription.id


async def refusal(session: AsyncSession, order: Prescription, now: dt.datetime | None = None) -> Refusal | None:
    """Why a refill of this order cannot be asked for now, or None."""
    now = now or utcnow()
    if order.state == State.cancelled:
        return REFUSALS["cancelled"]
    if order.state == State.expired or order.valid_until <= now:
        return REFUSALS["expired"]
    if order.state not in (State.approved, State.dispensed):
        return REFUSALS["not_approved"]
    if order.kind != "chronic" or order.refills_allowed == 0:
        return REFUSALS["not_refillable"]
    if order.refills_used >= order.refills_allowed:
        return REFUSALS["no_refills_left"]
    if await session.scalar(select(Prescription.id).where(Prescription.refill_of_id == order.id,
                                                          Prescription.state.in_(UNDER_WAY)).limit(1)):
        return REFUSALS["in_progress"]
    if await session.scalar(select(RefillRequest.id).where(RefillRequest.open_for == order.id)):
        return REFUSALS["waiting"]
    return None


def _refuse(found: Refusal) -> Conflict:
    return Conflict(found.message, code=found.code)


async def request_refill(session: AsyncSession, principal: Principal, prescription_id: int,
                         note: str = "") -> RefillRequest:
    prescription, parties = await service.access_prescription(session, principal, prescription_id,
                                                              action="refill_request", for_patient=True,
                                                              mode=ACT)
    if Party.patient not in parties:
        raise Forbidden(N_("only the patient or their family can ask for a refill"))
    order = await session.get(Prescription, order_of(prescription))
    await service.expire_if_due(session, order)
    found = await refusal(session, order)
    if found is not None:
        raise _refuse(found)
    request = RefillRequest(prescription_id=order.id, patient_id=order.patient_id, facility_id=order.facility_id,
                            requested_by_id=principal.user_id, note=service.check_reason(note, False),
                            state=RefillState.requested.value, open_for=order.id)
    try:
        async with session.begin_nested():  # a second tap at the same moment meets the unique open_for
            session.add(request)
            await session.flush()
    except exc.IntegrityError:
        raise _refuse(REFUSALS["waiting"]) from None
    await _audit(session, principal, request, "request", None)
    await notices.refill_requested(session, request, order)
    return request


async def _audit(session: AsyncSession, principal: Principal, request: RefillRequest, action: str,
                 facility_id: int | None, **detail: object) -> None:
    await audit.append(session, audit.Entry(
        action=f"refill_{action}"[:32], outcome="success", actor=principal.actor(facility_id),
        patient_id=request.patient_id, resource_type="RefillRequest", resource_id=request.id,
        purpose=Purpose.treatment.value,
        detail={"state": request.state, "prescription_id": request.prescription_id, **detail}))


async def access_request(session: AsyncSession, principal: Principal, request_id: int, *,
                         action: str = "read") -> tuple[RefillRequest, set[Party]]:
    """Doctors of the prescribing facility see a request as deciders; the patient's side through
    `access_patient`. Anyone else gets the 404 of a missing request."""
    request = await session.get(RefillRequest, request_id)
    if request is None:
        record_denial(session, principal, None, action=f"refill_{action}", resource_type="RefillRequest",
                      resource_id=request_id, purpose=Purpose.treatment.value)
        raise NotFound(N_("refill request not found"))
    if principal.has_role(Role.doctor, request.facility_id):
        await _audit(session, principal, request, action, request.facility_id)
        return request, {Party.doctor}
    access = await access_patient(session, principal, request.patient_id, purpose=Purpose.treatment,
                                  action=f"refill_{action}", resource_type="RefillRequest", resource_id=request.id)
    if access.basis not in service.PATIENT_BASES:
        raise NotFound(N_("refill request not found"))
    # A read-only family permission sees it but takes no step.
    return request, {Party.patient} if access.may_act else set()


async def _claim(session: AsyncSession, request: RefillRequest, to: RefillState, principal: Principal,
                 reason: str = "") -> None:
    """The decision itself: only one UPDATE can find the request still waiting."""
    now = utcnow()
    done = await session.execute(
        update(RefillRequest).where(RefillRequest.id == request.id, RefillRequest.state == RefillState.requested.value)
        .values(state=to.value, open_for=None, reason=reason, decided_by_id=principal.user_id, decided_at=now,
                updated_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(N_("this refill request has already been decided"), code="refill_decided")
    await session.refresh(request)


async def decide(session: AsyncSession, principal: Principal, request_id: int, action: str, *, reason: str = "",
                 items: tuple[service.ItemInput, ...] | None = None, note: str = "") -> RefillRequest:
    """approve (optionally with edited `items`), decline (reason) by a doctor; cancel by the patient."""
    try:
        act = RefillAction(action)
    except ValueError:
        raise NotFound(N_("no such action"), details={"action": action}) from None
    request, parties = await access_request(session, principal, request_id, action=act.value)
    if request.state != RefillState.requested and parties:
        raise Conflict(N_("this refill request has already been decided"), code="refill_decided",
                       details={"state": request.state})
    to = REFILLS.next_state(request.state, act, parties)
    if act is RefillAction.approve:
        await _approve(session, principal, request, items, note)
    else:
        reason = service.check_reason(reason, act is RefillAction.decline)
        await _claim(session, request, to, principal, reason)
        await _audit(session, principal, request, act.value,
                     request.facility_id if Party.doctor in parties else None, reason=reason)
    if act is not RefillAction.cancel:
        await notices.refill_decided(session, request)
    return request


async def _approve(session: AsyncSession, principal: Principal, request: RefillRequest,
                   items: tuple[service.ItemInput, ...] | None, note: str) -> None:
    order = await session.get(Prescription, request.prescription_id)
    await service.expire_if_due(session, order)
    if order.state == State.expired or order.valid_until <= utcnow():
        raise _refuse(REFUSALS["expired"])
    await _claim(session, request, RefillState.approved, principal)
    counted = await session.execute(
        update(Prescription)
        .where(Prescription.id == order.id, Prescription.refills_used < Prescription.refills_allowed)
        .values(refills_used=Prescription.refills_used + 1).execution_options(synchronize_session=False))
    if counted.rowcount != 1:
        raise _refuse(REFUSALS["no_refills_left"])
    await session.refresh(order)
    access = await access_patient(session, principal, order.patient_id, purpose=Purpose.treatment,
                                  action="prescribe", mode=WRITE, resource_type="Prescription")
    data = service.PrescriptionInput(
        patient_id=order.patient_id, items=items or await _items_as_written(session, order), kind="chronic",
        diagnosis=order.diagnosis, visit_id=order.visit_id, refills_allowed=0, valid_days=order.valid_days,
        note=note)
    created = await service.create_prescription(
        session, principal, access, data,
        service.Origin(order.facility_id, refill_of=order, dispensing_facility_id=order.dispensing_facility_id))
    await session.execute(update(RefillRequest).where(RefillRequest.id == request.id)
                          .values(new_prescription_id=created.id).execution_options(synchronize_session=False))
    await session.refresh(request)
    await _audit(session, principal, request, "approve", order.facility_id, new_prescription_id=created.id,
                 edited=items is not None)


async def _items_as_written(session: AsyncSession, order: Prescription) -> tuple[service.ItemInput, ...]:
    version = await service.current_version(session, order)
    return tuple(service.ItemInput(drug_code=i.drug_code, dose=i.dose, frequency=i.frequency,
                                   duration_days=i.duration_days, route=i.route, quantity=i.quantity,
                                   instructions=i.instructions) for i in await service.items_of(session, version.id))


async def inbox(session: AsyncSession, principal: Principal, *, state: str = RefillState.requested.value,
                limit: int = 100) -> list[RefillRequest]:
    """Refill requests to the caller's facilities, oldest waiting first."""
    mine = principal.facilities_with(Role.doctor)
    if not mine:
        raise Forbidden(N_("only doctors decide refill requests"))
    query = select(RefillRequest).where(RefillRequest.facility_id.in_(mine))
    if state:
        if state not in {s.value for s in RefillState}:
            raise InvalidInput(N_("unknown state"), details={"field": "state",
                                                              "allowed": [s.value for s in RefillState]})
        query = query.where(RefillRequest.state == state)
    return list((await session.scalars(query.order_by(RefillRequest.created_at, RefillRequest.id).limit(limit))).all())


async def patient_requests(session: AsyncSession, patient_id: int) -> list[RefillRequest]:
    """A patient's requests, newest first; the caller has authorised the patient."""
    return list((await session.scalars(select(RefillRequest).where(RefillRequest.patient_id == patient_id)
                                       .order_by(RefillRequest.id.desc()))).all())
