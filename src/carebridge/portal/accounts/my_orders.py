"""'My orders': what the patient asked of every internet-hospital feature (visits, prescriptions,
deliveries, tests, nursing, payments), gathered through `portal.mine`, needing action first."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import PatientAccess, access_patient_side
from carebridge.auth.principal import Principal
from carebridge.portal.mine import MyItem, my_items


async def my_orders(session: AsyncSession, principal: Principal, patient_id: int) -> tuple[PatientAccess, list[MyItem]]:
    access = await access_patient_side(session, principal, patient_id, purpose=Purpose.patient_self,
                                  resource_type="PortalOrders")
    return access, await my_items(session, access.patient.id)
