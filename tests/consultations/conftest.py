"""A small network for consultation tests: a township centre asks; a county hospital and a city
hospital both offer cardiology consultations; the patient consents to sharing."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from carebridge.access.models import Consent
from carebridge.auth.models import Role, User
from carebridge.kit.clock import utcnow
from carebridge.network.models import Department, Facility, ServiceOffering, Tier
from carebridge.records.models import Condition, Observation, Patient

_seq = itertools.count(1)


@dataclass
class Net:
    township: Facility
    county: Facility
    city: Facility
    specialty: str
    requester: User
    county_doctor: User
    county_doctor2: User
    county_admin: User
    city_doctor: User
    outsider: User
    patient: Patient
    entries: list
    outsider_facility_id: int = 0


def include_consultations(application) -> None:  # noqa: ANN001
    from carebridge.consultations import api, pages

    paths = {getattr(route, "path", None) for route in application.router.routes}
    if "/api/v1/consultations" not in paths:
        application.include_router(api.router)
    if "/consultations/{case_id}" not in paths:
        application.include_router(pages.router)


@pytest.fixture
def consult_app(app):  # noqa: ANN001, ANN201
    include_consultations(app)
    return app


async def _offer(db, facility: Facility, department: Department) -> None:  # noqa: ANN001
    db.add(ServiceOffering(facility_id=facility.id, kind="consultation", department_id=department.id,
                           open_to_all=True, active=True))
    await db.flush()


@pytest.fixture
async def net(world, db) -> Net:  # noqa: ANN001
    return await build_net(world, db)


async def build_net(world, db) -> Net:  # noqa: ANN001
    n = next(_seq)
    department = Department(code=f"cardio_cons_{n}", name="心血管内科", name_en="Cardiology")
    db.add(department)
    township = await world.facility(tier=Tier.township_center)
    county = await world.facility(tier=Tier.county_hospital)
    city = await world.facility(tier=Tier.city_hospital)
    await db.flush()
    await _offer(db, city, department)
    await _offer(db, county, department)
    requester = await world.user((Role.doctor, township.id))
    patient = await world.patient(township)
    db.add(Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=requester.id,
                   facility_id=township.id))
    now = utcnow()
    entries = [
        Observation(patient_id=patient.id, occurred_at=now, facility_id=township.id, code_system="LOINC",
                    code="8867-4", display="Heart rate", value_num=72, unit="/min"),
        Condition(patient_id=patient.id, occurred_at=now, facility_id=township.id, code_system="ICD-10",
                  code="I10", display="Essential hypertension"),
        Condition(patient_id=patient.id, occurred_at=now, facility_id=township.id, code_system="ICD-10",
                  code="F32", display="Depressive episode"),
    ]
    db.add_all(entries)
    await db.flush()
    elsewhere = await world.facility()
    return Net(township, county, city, department.code, requester,
               await world.user((Role.doctor, county.id)), await world.user((Role.doctor, county.id)),
               await world.user((Role.facility_admin, county.id)), await world.user((Role.doctor, city.id)),
               await world.user((Role.doctor, elsewhere.id)), patient, entries, elsewhere.id)
