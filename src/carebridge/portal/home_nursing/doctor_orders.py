"""A doctor's home-nursing order: one of the grounds of eligibility. The doctor must be able to write
the patient's record (registered at the doctor's facility, or break-the-glass); the patient reads
their own orders. Orders are voided with a reason, never deleted."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import WRITE, access_patient
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.home_nursing.catalogue import STARTER
from carebridge.portal.home_nursing.models import DoctorNursingOrder

REASON_MIN, REASON_MAX = 3, 500
SERVICE_CODES = frozenset(s.code for s in STARTER)


async def create_doctor_order(session: AsyncSession, principal: Principal, patient_id: int, *, reason: str,
                              service_code: str = "", valid_days: int | None = None) -> DoctorNursingOrder:
    if not principal.has_role(Role.doctor):
        raise Forbidden(N_("only doctors can order home nursing"))
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InvalidInput(N_("give a reason (3 to 500 characters)"), details={"field": "reason"})
    if service_code and service_code not in SERVICE_CODES:
        raise InvalidInput(N_("unknown home-nursing service"), details={"field": "service_code"})
    days = valid_days or get_settings().nursing_doctor_order_days
    if not 1 <= days <= 365:
        raise InvalidInput(N_("an order is valid for 1 to 365 days"), details={"field": "valid_days"})
    access = await access_patient(session, principal, patient_id, purpose=Purpose.treatment, mode=WRITE,
                                  action="nursing_doctor_order", resource_type="NursingDoctorOrder")
    if not principal.has_role(Role.doctor, access.facility_id):
        raise Forbidden(N_("only doctors can order home nursing"))
    order = DoctorNursingOrder(patient_id=access.patient.id, facility_id=access.facility_id,
                               doctor_user_id=principal.user_id, service_code=service_code, reason=reason,
                               valid_until=utcnow() + dt.timedelta(days=days))
    session.add(order)
    await session.flush()
    await audit.append(session, audit.Entry(
        action="nursing_doctor_order", outcome="success", actor=principal.actor(access.facility_id),
        patient_id=order.patient_id, resource_type="NursingDoctorOrder", resource_id=order.id,
        purpose=Purpose.treatment.value, detail={"service_code": service_code, "days": days}))
    return order


async def list_doctor_orders(session: AsyncSession, principal: Principal, patient_id: int) -> list[DoctorNursingOrder]:
    access = await access_patient(session, principal, patient_id, action="nursing_doctor_orders",
                                  resource_type="NursingDoctorOrder")
    return list((await session.scalars(select(DoctorNursingOrder).where(
        DoctorNursingOrder.patient_id == access.patient.id).order_by(DoctorNursingOrder.id.desc()))).all())


async def orders_by_doctor(session: AsyncSession, principal: Principal, limit: int = 50) -> list[DoctorNursingOrder]:
    """The caller's own orders (what they wrote; each patient is opened again to read more)."""
    return list((await session.scalars(select(DoctorNursingOrder).where(
        DoctorNursingOrder.doctor_user_id == principal.user_id).order_by(DoctorNursingOrder.id.desc())
        .limit(limit))).all())


async def void_doctor_order(session: AsyncSession, principal: Principal, order_id: int,
                            reason: str) -> DoctorNursingOrder:
    order = await session.get(DoctorNursingOrder, order_id)
    if order is None or not principal.has_role(Role.doctor, order.facility_id):
        raise NotFound(N_("home-nursing order not found"))
    await access_patient(session, principal, order.patient_id, mode=WRITE, action="nursing_doctor_order_void",
                         resource_type="NursingDoctorOrder", resource_id=order.id)
    if order.voided_at is not None:
        raise Conflict(N_("this order is already voided"))
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InvalidInput(N_("give a reason (3 to 500 characters)"), details={"field": "reason"})
    order.voided_at, order.void_reason = utcnow(), reason
    await session.flush()
    return order
