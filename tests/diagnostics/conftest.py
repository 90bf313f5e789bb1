"""A small diagnosis network: a community centre sends; a city hospital is the reading hub for
imaging, ECG and pathology; a county hospital reads imaging too but is further away in tier order.
The patient is registered at the community centre under `mrn` and consents to sharing."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from carebridge.access.models import Consent
from carebridge.auth.models import Role, User
from carebridge.network.models import Facility, ServiceKind, ServiceOffering, Tier
from carebridge.records.models import Patient, PatientRegistration

_seq = itertools.count(1)
READING = (ServiceKind.imaging_reading, ServiceKind.ecg_reading, ServiceKind.pathology_reading)


@dataclass
class DiagNet:
    community: Facility
    hub: Facility
    other_hub: Facility
    sender: User          # doctor at the community centre
    sender_tech: User     # technician at the community centre (operates the scanner)
    reader: User          # attending at the hub
    reader2: User         # a second doctor at the hub
    hub_tech: User        # technician at the hub (reconciliation)
    outsider: User        # doctor at an unrelated facility
    patient: Patient
    mrn: str


async def build_diag_net(world, db) -> DiagNet:  # noqa: ANN001
    next(_seq)
    community = await world.facility(tier=Tier.community_center)
    hub = await world.facility(tier=Tier.city_hospital)
    other_hub = await world.facility(tier=Tier.provincial_hospital)
    elsewhere = await world.facility(tier=Tier.county_hospital)
    for facility in (hub, other_hub):
        db.add_all(ServiceOffering(facility_id=facility.id, kind=k.value, open_to_all=True, active=True)
                   for k in READING)
    await db.flush()
    sender = await world.user((Role.doctor, community.id))
    sender_tech = await world.user((Role.technician, community.id))
    reader = await world.user((Role.doctor, hub.id))
    reader2 = await world.user((Role.doctor, hub.id))
    hub_tech = await world.user((Role.technician, hub.id))
    outsider = await world.user((Role.doctor, elsewhere.id))
    patient = await world.patient(community)
    db.add(Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=sender.id,
                   facility_id=community.id))
    await db.flush()
    mrn = await db.scalar(select(PatientRegistration.mrn).where(PatientRegistration.patient_id == patient.id))
    return DiagNet(community, hub, other_hub, sender, sender_tech, reader, reader2, hub_tech, outsider, patient, mrn)


@pytest.fixture
async def dnet(world, db) -> DiagNet:  # noqa: ANN001
    return await build_diag_net(world, db)


async def place_order(world, db, dnet: DiagNet, modality: str = "CT", **kw):  # noqa: ANN001, ANN201
    from carebridge.diagnostics import service

    data = service.OrderRequest(patient_id=dnet.patient.id, modality=modality,
                                clinical_question=kw.pop("clinical_question", "Headache after a fall: bleeding?"),
                                **kw)
    return await service.order_diagnosis(db, await world.principal(dnet.sender), data)
