"""A township centre whose prescriptions are reviewed at its county hospital (the hub with the
pharmacists), an unrelated hospital with its own doctor and pharmacist, and a 68-year-old patient
with a recorded penicillin allergy and an active aspirin statement."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import update

from carebridge.auth.models import Role, User
from carebridge.kit.clock import utcnow
from carebridge.network.models import Facility, FacilityLink, Tier
from carebridge.portal.pharmacy import service
from carebridge.portal.pharmacy.models import Prescription
from carebridge.records.models import Allergy, MedicationStatement, Patient


def include_pharmacy(application) -> None:  # noqa: ANN001
    from carebridge.portal.pharmacy import api, pages

    paths = {getattr(route, "path", None) for route in application.router.routes}
    if "/api/v1/prescriptions" not in paths:
        application.include_router(api.router)
    if "/pharmacy/review" not in paths:
        for router in pages.routers:
            application.include_router(router)


@pytest.fixture
async def app(app):  # noqa: ANN001, ANN201
    include_pharmacy(app)
    return app


@dataclass
class Net:
    township: Facility
    county: Facility
    other: Facility
    patient: Patient
    other_patient: Patient
    doctor: User  # township
    doctor2: User  # township
    county_doctor: User  # county: the patient is not registered there
    outsider: User  # doctor at the unrelated hospital
    pharmacist: User  # county
    pharmacist2: User  # county
    other_pharmacist: User
    nurse: User  # township
    patient_user: User
    other_patient_user: User


async def build_net(world) -> Net:  # noqa: ANN001
    township = await world.facility("青山乡卫生院", tier=Tier.township_center)
    county = await world.facility("青山县人民医院", tier=Tier.county_hospital)
    other = await world.facility("别县医院", tier=Tier.county_hospital)
    world.db.add(FacilityLink(facility_id=township.id, hub_id=county.id))
    patient = await world.patient(township, name="王建国", sex="male", birth_date=dt.date(1958, 5, 6))
    other_patient = await world.patient(other, name="李四")
    net = Net(township, county, other, patient, other_patient,
              doctor=await world.user((Role.doctor, township.id)),
              doctor2=await world.user((Role.doctor, township.id)),
              county_doctor=await world.user((Role.doctor, county.id)),
              outsider=await world.user((Role.doctor, other.id)),
              pharmacist=await world.user((Role.pharmacist, county.id)),
              pharmacist2=await world.user((Role.pharmacist, county.id)),
              other_pharmacist=await world.user((Role.pharmacist, other.id)),
              nurse=await world.user((Role.nurse, township.id)),
              patient_user=await world.user((Role.patient, township.id), patient_id=patient.id),
              other_patient_user=await world.user((Role.patient, other.id), patient_id=other_patient.id))
    now = utcnow() - dt.timedelta(days=400)
    world.db.add_all([
        Allergy(patient_id=patient.id, occurred_at=now, facility_id=township.id, display="青霉素",
                category="medication", criticality="high", reaction="皮疹、呼吸困难"),
        MedicationStatement(patient_id=patient.id, occurred_at=now, facility_id=township.id, code_system="ATC",
                            code="B01AC06", display="阿司匹林肠溶片", dose="100 mg", route="口服", frequency="qd",
                            status="active"),
    ])
    await world.db.flush()
    return net


@pytest.fixture
async def net(world) -> Net:  # noqa: ANN001
    return await build_net(world)


def line(code: str = "amlodipine-5mg-tab", dose: float = 5, frequency: str = "qd", days: int = 30, **kw) -> dict:
    return {"drug_code": code, "dose": dose, "frequency": frequency, "duration_days": days, **kw}


def chronic_body(net: Net, **kw) -> dict:
    return {"patient_id": net.patient.id, "kind": "chronic", "diagnosis": "原发性高血压", "refills_allowed": 2,
            "items": [line(), line("atorvastatin-20mg-tab", 20, "qn")], **kw}


def items(*lines: dict) -> tuple[service.ItemInput, ...]:
    return tuple(service.ItemInput(**entry) for entry in lines)


async def write(world, net: Net, *, by: User | None = None, **kw) -> Prescription:  # noqa: ANN001
    body = chronic_body(net, **kw)
    data = service.PrescriptionInput(**{**body, "items": items(*body["items"])})
    return await service.write_prescription(world.db, await world.principal(by or net.doctor), data)


async def approve(world, net: Net, prescription: Prescription, by: User | None = None) -> Prescription:  # noqa: ANN001
    return await service.review(world.db, await world.principal(by or net.pharmacist), prescription.id, "approve")


async def age_out(db, prescription: Prescription, days: int = 31) -> None:  # noqa: ANN001
    """As if the prescription had been written `days` ago."""
    past = utcnow() - dt.timedelta(days=days)
    await db.execute(update(Prescription).where(Prescription.id == prescription.id).values(
        created_at=past, submitted_at=past, valid_until=past + dt.timedelta(days=prescription.valid_days)))
    await db.refresh(prescription)
