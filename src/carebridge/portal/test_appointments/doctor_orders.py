"""Who orders a booked test.

As on China's internet hospitals (便民开单 / 自助开单), a patient may book alone only the tests on a
list the network configures (`CAREBRIDGE_TEST_APPOINTMENTS_SELF_BOOKABLE_CATEGORIES`: lab work,
routine ultrasound, plain X-ray and ECG by default) and the facility has not restricted. For
those, the performing facility orders the test under its self-service protocol: the staff member
who checks the patient in places the lab or diagnosis order, and results go to the patient and
to that facility. CT, MRI and anything else need a doctor's order written here first (a doctor
with write access to the patient's record); the patient books against it once, at any facility
offering the test, and results are also sent to that doctor."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import WRITE, access_patient
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.test_appointments import notices
from carebridge.portal.test_appointments.models import CatalogueTest, DoctorOrder

OPEN, BOOKED, CANCELLED = "open", "booked", "cancelled"


async def order_test(session: AsyncSession, principal: Principal, *, patient_id: int, code: str,
                     reason: str) -> DoctorOrder:
    if not principal.has_role(Role.doctor):
        raise Forbidden(N_("only doctors order tests"))
    access = await access_patient(session, principal, patient_id, purpose=Purpose.treatment, action="test_order",
                                  mode=WRITE, resource_type="TestRequest")
    if not principal.has_role(Role.doctor, access.facility_id):
        raise Forbidden(N_("only doctors order tests"))
    reason = reason.strip()
    if not 3 <= len(reason) <= 500:
        raise InvalidInput(N_("give the reason for the test (3 to 500 characters)"), details={"field": "reason"})
    name = await session.scalar(select(CatalogueTest.name).where(CatalogueTest.code == code,
                                                                 CatalogueTest.active.is_(True)).limit(1))
    if name is None:
        raise InvalidInput(N_("no facility in the network offers this test"), details={"field": "code"})
    order = DoctorOrder(patient_id=access.patient.id, code=code, requesting_facility_id=access.facility_id,
                        requested_by_id=principal.user_id, reason=reason, state=OPEN,
                        expires_at=utcnow() + dt.timedelta(days=get_settings().test_appointments_order_days))
    session.add(order)
    await session.flush()
    await audit.append(session, audit.Entry(
        action="test_doctor_order", outcome="success", actor=principal.actor(access.facility_id),
        patient_id=order.patient_id, resource_type="TestRequest", resource_id=order.id,
        purpose=Purpose.treatment.value, facility_id=access.facility_id, detail={"code": code}))
    await notices.tell_users(session, await notices.patient_users(session, order.patient_id),
                             title=N_("Your doctor ordered a test: %(test)s"),
                             body=N_("Choose where and when to have it."), params={"test": name},
                             link=f"/portal/tests?code={code}")
    return order


async def open_orders(session: AsyncSession, patient_id: int, code: str | None = None) -> list[DoctorOrder]:
    query = select(DoctorOrder).where(DoctorOrder.patient_id == patient_id, DoctorOrder.state == OPEN,
                                      DoctorOrder.expires_at > utcnow())
    if code is not None:
        query = query.where(DoctorOrder.code == code)
    return list((await session.scalars(query.order_by(DoctorOrder.id))).all())


async def use_order(session: AsyncSession, order_id: int, *, patient_id: int, code: str) -> DoctorOrder:
    """The order is the patient's, for this test, open and in date; used once (conditional UPDATE)."""
    done = await session.execute(
        update(DoctorOrder).where(DoctorOrder.id == order_id, DoctorOrder.patient_id == patient_id,
                                  DoctorOrder.code == code, DoctorOrder.state == OPEN,
                                  DoctorOrder.expires_at > utcnow())
        .values(state=BOOKED).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(N_("this doctor's order is not open for this test"), code="doctor_order_unusable")
    return await session.get(DoctorOrder, order_id, populate_existing=True)


async def release_order(session: AsyncSession, order_id: int | None) -> None:
    """A cancelled booking gives its doctor's order back for another booking."""
    if order_id is not None:
        await session.execute(update(DoctorOrder).where(DoctorOrder.id == order_id, DoctorOrder.state == BOOKED)
                              .values(state=OPEN).execution_options(synchronize_session=False))


async def ordering_doctor(session: AsyncSession, order_id: int | None) -> int | None:
    if order_id is None:
        return None
    return await session.scalar(select(DoctorOrder.requested_by_id).where(DoctorOrder.id == order_id))
