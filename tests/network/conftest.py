"""A small tiered network built through the real services, and signed-in browser clients."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from carebridge.auth import service as auth
from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.kit.clock import utcnow
from carebridge.network import offerings, practitioners, service
from carebridge.network.models import Facility
from carebridge.network.schemas import FacilityIn, HubLinkIn, OfferingIn, PractitionerIn, ShiftIn
from carebridge.web.middleware import LOCALE_COOKIE


@dataclass
class Net:
    admin_user: User
    admin: Principal
    national: Facility
    province: Facility
    city: Facility
    far_city: Facility
    county: Facility
    township: Facility
    village: Facility


async def _facility(db, admin, code, tier, hubs=(), lat=None, lon=None, departments=()):  # noqa: ANN001, ANN202
    return await service.create_facility(db, admin, FacilityIn(
        code=code, name=f"机构{code}", name_en=f"Facility {code}", tier=tier, latitude=lat, longitude=lon,
        hubs=[HubLinkIn(hub_id=h.id) for h in hubs], departments=list(departments)))


@pytest.fixture
async def net(db, world) -> Net:
    await service.ensure_standard_departments(db)
    admin_user = await world.user((Role.platform_admin, None))
    admin = await world.principal(admin_user)
    national = await _facility(db, admin, "NAT", "national_center", lat=39.90, lon=116.40,
                               departments=["cardiology", "radiology", "pathology"])
    province = await _facility(db, admin, "PRV", "provincial_hospital", [national], 30.59, 114.30,
                               ["cardiology", "radiology", "ecg"])
    city = await _facility(db, admin, "CTY", "city_hospital", [province], 30.40, 114.90, ["cardiology", "radiology"])
    far_city = await _facility(db, admin, "CTYFAR", "city_hospital", [province], 32.00, 112.10, ["cardiology"])
    county = await _facility(db, admin, "CNT", "county_hospital", [city], 30.20, 115.00, ["internal_medicine"])
    township = await _facility(db, admin, "TWN", "township_center", [county], 30.10, 115.10, ["general_practice"])
    village = await _facility(db, admin, "VIL", "village_clinic", [township], 30.05, 115.20)
    return Net(admin_user, admin, national, province, city, far_city, county, township, village)


async def offer(db, admin, facility, kind, department=None, open_to_all=True, recipients=()):  # noqa: ANN001, ANN201
    return await offerings.create_offering(db, admin, facility.id, OfferingIn(
        kind=kind, department=department, open_to_all=open_to_all, recipient_ids=[r.id for r in recipients]))


async def doctor(db, admin, facility, username, license_no, specialty="cardiology", languages=("zh",),  # noqa: ANN001, ANN201
                 title="attending"):
    return await practitioners.create_practitioner(db, admin, PractitionerIn(
        new_user={"username": username, "display_name": f"Dr {username}", "password": "correct-horse-battery"},
        title=title, specialty=specialty, license_no=license_no, languages=list(languages), facility_id=facility.id))


async def shift(db, admin, practitioner_id, facility, hours_from_now, length_hours):  # noqa: ANN001, ANN201
    start = utcnow().replace(microsecond=0) + dt.timedelta(hours=hours_from_now)
    return await practitioners.add_shift(db, admin, practitioner_id, ShiftIn(
        facility_id=facility.id, starts_at=start, ends_at=start + dt.timedelta(hours=length_hours)))


@pytest.fixture
def english(client):  # noqa: ANN001, ANN201
    """Pages and API errors in English, so assertions do not depend on the Chinese catalog."""
    client.cookies.set(LOCALE_COOKIE, "en")
    return client


async def sign_in(client, db, user) -> str:  # noqa: ANN001
    """A browser session with the second factor already passed; returns its CSRF token."""
    token, web_session = await auth.start_session(db, user, ip="203.0.113.7", mfa_verified=True)
    client.cookies.set("cb_session", token)
    return web_session.csrf_token
