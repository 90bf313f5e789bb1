"""A county hospital and a community centre, a patient who uses the internet hospital, another
patient, and staff on both sides of the charging facility."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from carebridge.auth.models import Role, User
from carebridge.network.models import Facility, Tier
from carebridge.payments import service
from carebridge.payments.models import Charge
from carebridge.payments.providers import SIGNATURE_HEADER, sign_demo_notice
from carebridge.payments.service import PriceLine
from carebridge.records.models import Patient

PAID_LOG: list[int] = []


@service.on_paid("test_fee")
async def _remember(session, charge: Charge) -> None:  # noqa: ANN001
    # What a feature does on payment; the tests count how often it ran.
    PAID_LOG.append(charge.id)


@dataclass
class Scene:
    county: Facility
    community: Facility
    patient: Patient
    patient_user: User
    other_patient_user: User
    county_admin: User
    county_doctor: User
    community_admin: User
    platform_admin: User


@pytest.fixture
async def scene(world) -> Scene:  # noqa: ANN001
    return await build_scene(world)


async def build_scene(world) -> Scene:  # noqa: ANN001
    county = await world.facility(tier=Tier.county_hospital)
    community = await world.facility(tier=Tier.community_center)
    patient = await world.patient(county)
    other = await world.patient(county)
    return Scene(
        county=county, community=community, patient=patient,
        patient_user=await world.user((Role.patient, county.id), patient_id=patient.id),
        other_patient_user=await world.user((Role.patient, county.id), patient_id=other.id),
        county_admin=await world.user((Role.facility_admin, county.id)),
        county_doctor=await world.user((Role.doctor, county.id)),
        community_admin=await world.user((Role.facility_admin, community.id)),
        platform_admin=await world.user((Role.platform_admin, None)))


ULTRASOUND = PriceLine("US-ABD", "Abdominal ultrasound", 12_000, 1, insured=True)
FEE = PriceLine("REG", "Registration fee", 1_000, 1, insured=False)


async def open_fee(world, scene: Scene, lines=(ULTRASOUND, FEE), facility=None) -> Charge:  # noqa: ANN001
    principal = await world.principal(scene.patient_user)
    PAID_LOG.clear()
    return await service.open_charge(world.db, principal, patient_id=scene.patient.id,
                                     facility_id=(facility or scene.county).id, purpose="test_fee",
                                     purpose_id=1, lines=list(lines))


def signed_notice(reference: str, amount_fen: int, status: str = "succeeded", at: int | None = None) -> tuple:
    body = json.dumps({"reference": reference, "status": status, "amount_fen": amount_fen}).encode()
    return body, {SIGNATURE_HEADER: sign_demo_notice(body, at), "content-type": "application/json"}
