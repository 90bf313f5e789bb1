"""The patient's side: book a home visit, cancel it, list one's orders.

Booking at a facility registers the patient there (if they were not yet): the facility's nurses
must read the record for the risk assessment and file the visit into it, exactly as for a patient
who walks in. The booking page says so."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import ACT, READ, PatientAccess, access_patient, record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Facility
from carebridge.portal.home_nursing import billing, notices
from carebridge.portal.home_nursing.catalogue import get_service
from carebridge.portal.home_nursing.eligibility import ADVICE, REFUSAL, check_eligibility
from carebridge.portal.home_nursing.geo import WINDOWS, window_bounds
from carebridge.portal.home_nursing.lifecycle import TERMINAL, Action, Party, State
from carebridge.portal.home_nursing.models import NursingOffer, NursingOrder
from carebridge.portal.home_nursing.nurses import check_position
from carebridge.portal.home_nursing.service import (
    PATIENT_BASES,
    access_order,
    acting_party,
    add_event,
    audit_order,
    move,
)
from carebridge.records.models import PatientRegistration
from carebridge.records.registration import add_registration


@dataclass(frozen=True)
class BookingInput:
    patient_id: int
    service_id: int
    address: str
    latitude: float
    longitude: float
    day: dt.date
    window: str
    contact_phone: str = ""
    notes: str = ""


async def access_as_patient(session: AsyncSession, principal: Principal, patient_id: int,
                            action: str = "nursing_read", mode: str = READ) -> PatientAccess:
    """The patient themself or a family proxy; staff book through other routes (none yet)."""
    if principal.patient_id is None and not principal.has_role(Role.patient):
        record_denial(session, principal, patient_id, action=action, resource_type="NursingOrder")
        raise NotFound(N_("patient not found"))
    access = await access_patient(session, principal, patient_id, purpose=Purpose.patient_self, action=action,
                                  resource_type="NursingOrder", mode=mode)
    if access.basis not in PATIENT_BASES:
        record_denial(session, principal, patient_id, action=action, resource_type="NursingOrder")
        raise NotFound(N_("patient not found"))
    return access


def _check_input(data: BookingInput) -> tuple[dt.datetime, dt.datetime]:
    if not 3 <= len(data.address.strip()) <= 300:
        raise InvalidInput(N_("give the address where the nurse should come (3 to 300 characters)"),
                           details={"field": "address"})
    check_position(data.latitude, data.longitude)
    if len(data.contact_phone) > 40 or len(data.notes) > 500:
        raise InvalidInput(N_("the text is too long"), details={"field": "notes"})
    if data.window not in WINDOWS:
        raise InvalidInput(N_("choose a time window"), details={"field": "window", "allowed": list(WINDOWS)})
    settings = get_settings()
    start, end = window_bounds(data.day, data.window)
    now = utcnow()
    if start < now + dt.timedelta(minutes=settings.nursing_booking_lead_minutes):
        raise InvalidInput(N_("this time window has started or starts too soon; choose a later one"),
                           details={"field": "window"})
    if start > now + dt.timedelta(days=settings.nursing_booking_days):
        days = settings.nursing_booking_days
        raise InvalidInput(_("visits can be booked up to %(days)s days ahead") % {"days": days},
                           details={"field": "day"})
    return start, end


async def _register_at(session: AsyncSession, principal: Principal, access: PatientAccess, facility_id: int) -> None:
    known = await session.scalar(select(PatientRegistration.id).where(
        PatientRegistration.patient_id == access.patient.id, PatientRegistration.facility_id == facility_id))
    if known is not None:
        return
    registration = await add_registration(session, access.patient, facility_id, None)
    await audit.append(session, audit.Entry(
        action="register", outcome="success", actor=principal.actor(facility_id), patient_id=access.patient.id,
        resource_type="PatientRegistration", resource_id=registration.id, purpose=Purpose.patient_self.value,
        detail={"mrn": registration.mrn, "reason": "home_nursing_booking"}))


async def book(session: AsyncSession, principal: Principal, data: BookingInput) -> NursingOrder:
    access = await access_as_patient(session, principal, data.patient_id, "nursing_book", mode=ACT)
    service = await get_service(session, data.service_id)
    facility = await session.get(Facility, service.facility_id)
    if not service.active or facility is None or not facility.active:
        raise InvalidInput(N_("this service is not offered"), details={"field": "service_id"})
    start, end = _check_input(data)
    eligibility = await check_eligibility(session, access, service.code)
    if not eligibility.eligible:
        settings = get_settings()
        raise InvalidInput(_(REFUSAL) % {"min": settings.nursing_min_age, "days": settings.nursing_discharge_days},
                           code="not_eligible", details={"grounds": [g.stored() for g in eligibility.grounds],
                                                         "advice": ADVICE})
    await _refuse_twin(session, access.patient.id, service.id, start)
    order = NursingOrder(
        patient_id=access.patient.id, facility_id=service.facility_id, service_id=service.id,
        service_code=service.code, service_name=service.name, service_name_en=service.name_en,
        price_fen=service.price_fen, insured=service.insured, duration_minutes=service.duration_minutes,
        required_credential=service.required_credential, min_years=service.min_years,
        address=data.address.strip(), latitude=data.latitude, longitude=data.longitude,
        contact_phone=data.contact_phone.strip(), window_start=start, window_end=end, notes=data.notes.strip(),
        eligibility=[g.stored() for g in eligibility.met], doctor_order_id=eligibility.doctor_order_id,
        state=State.requested.value, booked_by_id=principal.user_id)
    session.add(order)
    await session.flush()
    await _register_at(session, principal, access, order.facility_id)
    await add_event(session, principal, order, "book", Party.patient)
    await audit_order(session, principal, order, "book", grounds=[g.code for g in eligibility.met])
    await _tell_facility(session, order)
    return order


async def _refuse_twin(session: AsyncSession, patient_id: int, service_id: int, start: dt.datetime) -> None:
    twin = await session.scalar(select(NursingOrder.id).where(
        NursingOrder.patient_id == patient_id, NursingOrder.service_id == service_id,
        NursingOrder.window_start == start, NursingOrder.state.not_in([s.value for s in TERMINAL])))
    if twin is not None:
        raise Conflict(N_("this service is already booked for this time window"), code="already_booked",
                       details={"order_id": twin})


async def _tell_facility(session: AsyncSession, order: NursingOrder) -> None:
    from carebridge.portal.home_nursing.assessment import assessors_of  # assessment builds on booking

    users = {*await notices.coordinators(session, order.facility_id), *await assessors_of(session, order.facility_id)}
    await notices.tell(session, users, title=N_("New home-nursing request: %(service)s"),
                       body=N_("Order %(order)s waits for the pre-visit risk assessment."),
                       link=notices.staff_link(order.id), order=order)


async def cancel(session: AsyncSession, principal: Principal, order_id: int, reason: str) -> NursingOrder:
    seen = await access_order(session, principal, order_id, action="cancel", for_update=True)
    order = seen.order
    party = acting_party(Action.cancel, order.state, seen.parties)
    was, nurse, percent = order.state, order.nurse_user_id, billing.refund_percent(order.state, party)
    await move(session, principal, order, Action.cancel, seen.parties, note=reason)
    offered = await withdraw_offers(session, order, "cancelled")
    refunded = await billing.refund(session, principal, order, percent, reason=order.state_reason)
    order.refund_fen = refunded
    await session.flush()
    await audit_order(session, principal, order, "refund", refund_percent=percent, refund_fen=refunded, was=was)
    staff = {*offered, nurse, *await notices.coordinators(session, order.facility_id)}
    if party == Party.coordinator:
        await notices.tell(session, await notices.patient_users(session, order), order=order,
                           title=N_("Your home visit was cancelled: %(service)s"), body=N_("Reason: %(reason)s"),
                           params={"reason": order.state_reason}, link=notices.patient_link(order.id))
    await notices.tell(session, staff - {principal.user_id}, order=order,
                       title=N_("Home visit cancelled: %(service)s"), body=N_("Reason: %(reason)s"),
                       params={"reason": order.state_reason}, link=notices.staff_link(order.id))
    return order


async def withdraw_offers(session: AsyncSession, order: NursingOrder, reason: str) -> list[int]:
    """Ends the order's open offers; returns the nurses who held them."""
    offers = (await session.scalars(select(NursingOffer).where(
        NursingOffer.order_id == order.id, NursingOffer.state == "open"))).all()
    now = utcnow()
    for offer in offers:
        offer.state, offer.reason, offer.decided_at = "withdrawn", reason, now
    await session.flush()
    return [o.nurse_user_id for o in offers]


async def orders_of_patient(session: AsyncSession, principal: Principal, patient_id: int,
                            limit: int = 50) -> tuple[PatientAccess, list[NursingOrder]]:
    access = await access_as_patient(session, principal, patient_id, "nursing_list")
    orders = (await session.scalars(select(NursingOrder).where(NursingOrder.patient_id == access.patient.id)
                                    .order_by(NursingOrder.window_start.desc(), NursingOrder.id.desc())
                                    .limit(limit))).all()
    return access, list(orders)
