"""A small two-tier network for referral tests, and the referral routers on the test app."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from carebridge.auth.models import Role, User
from carebridge.network.models import Facility, Tier
from carebridge.records.models import Patient
from tests.access.conftest import consent


def include_referrals(application) -> None:  # noqa: ANN001
    from carebridge.referrals import api, pages

    paths = {getattr(route, "path", None) for route in application.router.routes}
    if "/api/v1/referrals" not in paths:
        application.include_router(api.router)
    if "/referrals" not in paths:
        application.include_router(pages.router)


@pytest.fixture
async def app(app):  # noqa: ANN001, ANN201
    include_referrals(app)
    return app


@dataclass
class Net:
    township: Facility
    county: Facility
    unrelated: Facility
    patient: Patient
    sender: User  # township doctor
    receiver: User  # county doctor
    receiver_admin: User
    sender_admin: User
    outsider: User  # doctor elsewhere
    outsider_admin: User
    patient_user: User


@pytest.fixture
async def net(world) -> Net:  # noqa: ANN001
    township = await world.facility("乡镇卫生院", tier=Tier.township_center)
    county = await world.facility("县人民医院", tier=Tier.county_hospital)
    unrelated = await world.facility("别的医院", tier=Tier.county_hospital)
    patient = await world.patient(township, name="王五", birth_date=dt.date(1958, 5, 6))
    patient_user = await world.user((Role.patient, township.id), patient_id=patient.id)
    await consent(world, patient)
    return Net(township, county, unrelated, patient,
               sender=await world.user((Role.doctor, township.id)),
               receiver=await world.user((Role.doctor, county.id)),
               receiver_admin=await world.user((Role.facility_admin, county.id)),
               sender_admin=await world.user((Role.facility_admin, township.id)),
               outsider=await world.user((Role.doctor, unrelated.id)),
               outsider_admin=await world.user((Role.facility_admin, unrelated.id)),
               patient_user=patient_user)


def up_body(net: Net, **kw) -> dict:
    return {"patient_id": net.patient.id, "to_facility_id": net.county.id, "reason": "specialist_needed",
            "summary": "胸痛三天，心电图ST段抬高", **kw}
