"""A frozen-section pathology order the browser tests can fill with slides: a community centre's
doctor sent it to a city hospital that reads pathology. Arranged through the real services."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.diagnostics import service as orders
from carebridge.network.models import Facility, ServiceKind, ServiceOffering, Tier
from carebridge.records.models import Patient, PatientRegistration


async def arrange_pathology_world(session: AsyncSession, password: str) -> dict:
    centre = Facility(code="BR-PATH-CHC", name="青山社区卫生服务中心", name_en="Qingshan Community Health Center",
                      tier=Tier.community_center.value)
    hub = Facility(code="BR-PATH-HUB", name="青山市中心医院病理科", name_en="Qingshan City Hospital Pathology",
                   tier=Tier.city_hospital.value)
    session.add_all([centre, hub])
    await session.flush()
    session.add(ServiceOffering(facility_id=hub.id, kind=ServiceKind.pathology_reading.value, open_to_all=True,
                                active=True))
    sender = await auth.create_user(session, username="dr.sun", display_name="孙医生 (社区)", password=password,
                                    roles=[(Role.doctor, centre.id)])
    reader = await auth.create_user(session, username="dr.gao", display_name="高医生 (病理)", password=password,
                                    roles=[(Role.doctor, hub.id)])
    patient = Patient(name="周淑芬", name_en="Zhou Shufen", sex="female", birth_date=dt.date(1968, 9, 14),
                      national_id="110105196809140022")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=centre.id, mrn="QC-007731"))
    session.add(Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=sender.id,
                        facility_id=centre.id))
    await session.flush()
    principal = await auth.load_principal(session, sender, via="token")
    order = await orders.order_diagnosis(session, principal, orders.OrderRequest(
        patient_id=patient.id, modality="SM", clinical_question="术中冰冻：左乳肿物，良性还是恶性？切缘情况？",
        urgency="stat", body_part="左乳", frozen_section=True))
    return {"path_sender": sender.username, "path_reader": reader.username, "path_order_id": order.id}
