"""Where a patient can have a test: the facilities listing it, nearest first from where the patient
is (their home facility, a facility they pick, or their phone's position), each with its price.
A township or community centre's price is compared with the nearest hospital offering the same
test, so the patient sees what choosing the centre saves."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.network.offerings import EARTH_RADIUS_KM
from carebridge.portal.test_appointments import catalogue
from carebridge.portal.test_appointments.models import CatalogueTest
from carebridge.portal.test_appointments.pricing import PRIMARY_CARE_LEVEL, Price, price_test
from carebridge.records.models import PatientRegistration

HOSPITAL_LEVEL = PRIMARY_CARE_LEVEL + 1


@dataclass(frozen=True)
class Origin:
    latitude: float
    longitude: float
    kind: str  # home, facility, position
    facility: Facility | None = None


@dataclass
class Offer:
    test: CatalogueTest
    facility: Facility
    distance_km: float | None
    price: Price
    saving_fen: int | None = None
    compared_with: Facility | None = None


@dataclass(frozen=True)
class CodeChoice:
    code: str
    name: str
    name_en: str
    category: str
    self_bookable: bool
    facilities: int


def km_between(lat1: float, lon1: float, lat2: float | None, lon2: float | None) -> float | None:
    if lat2 is None or lon2 is None:
        return None
    a1, o1, a2, o2 = map(math.radians, (lat1, lon1, lat2, lon2))
    h = math.sin((a2 - a1) / 2) ** 2 + math.cos(a1) * math.cos(a2) * math.sin((o2 - o1) / 2) ** 2
    return round(2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h)), 1)


async def home_facility(session: AsyncSession, patient_id: int) -> Facility | None:
    """Where the patient was first registered that has coordinates: usually their local centre."""
    return await session.scalar(
        select(Facility).join(PatientRegistration, PatientRegistration.facility_id == Facility.id)
        .where(PatientRegistration.patient_id == patient_id, Facility.latitude.is_not(None),
               Facility.longitude.is_not(None))
        .order_by(PatientRegistration.registered_at, PatientRegistration.id).limit(1))


async def resolve_origin(session: AsyncSession, patient_id: int, *, facility_id: int | None = None,
                         latitude: float | None = None, longitude: float | None = None) -> Origin | None:
    if latitude is not None or longitude is not None:
        if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise InvalidInput(N_("a position needs a latitude and a longitude"), details={"field": "latitude"})
        return Origin(latitude, longitude, "position")
    if facility_id is not None:
        picked = await session.get(Facility, facility_id)
        if picked is None or picked.latitude is None or picked.longitude is None:
            raise InvalidInput(N_("choose a facility with a known location"), details={"field": "near_facility_id"})
        return Origin(picked.latitude, picked.longitude, "facility", picked)
    home = await home_facility(session, patient_id)
    return Origin(home.latitude, home.longitude, "home", home) if home else None


async def offered_codes(session: AsyncSession) -> list[CodeChoice]:
    """Every test some active facility lists, once per code, named as most facilities name it."""
    rows = (await session.execute(
        select(CatalogueTest.code, CatalogueTest.name, CatalogueTest.name_en, CatalogueTest.category,
               func.count(CatalogueTest.id))
        .join(Facility, Facility.id == CatalogueTest.facility_id)
        .where(CatalogueTest.active.is_(True), Facility.active.is_(True))
        .group_by(CatalogueTest.code, CatalogueTest.name, CatalogueTest.name_en, CatalogueTest.category))).all()
    best: dict[str, tuple] = {}
    totals: dict[str, int] = {}
    for code, name, name_en, category, count in rows:
        totals[code] = totals.get(code, 0) + count
        if code not in best or count > best[code][3]:
            best[code] = (name, name_en, category, count)
    allowed = catalogue.self_bookable_categories()
    order = list(catalogue.CATEGORIES)
    choices = [CodeChoice(code, name, name_en, category, category in allowed, totals[code])
               for code, (name, name_en, category, _) in best.items()]
    return sorted(choices, key=lambda c: (order.index(c.category) if c.category in order else 99, c.code))


def _rank(offer: Offer) -> tuple:
    return (offer.distance_km is None, offer.distance_km or 0.0, offer.price.self_pay_fen, offer.facility.code)


async def find_offers(session: AsyncSession, *, code: str, patient_id: int, origin: Origin | None,
                      limit: int = 20) -> list[Offer]:
    rows = (await session.execute(
        select(CatalogueTest, Facility).join(Facility, Facility.id == CatalogueTest.facility_id)
        .where(CatalogueTest.code == code, CatalogueTest.active.is_(True), Facility.active.is_(True)))).all()
    offers = [Offer(test, facility,
                    km_between(origin.latitude, origin.longitude, facility.latitude, facility.longitude)
                    if origin else None, Price(0, 0, 0, 0))
              for test, facility in rows]
    offers.sort(key=_rank)
    offers = offers[:limit]
    for offer in offers:
        offer.price = await price_test(session, facility=offer.facility, patient_id=patient_id, test=offer.test)
    _compare_with_hospital(offers)
    return offers


def _compare_with_hospital(offers: list[Offer]) -> None:
    """The saving of a primary-care centre against the nearest hospital (first in the sorted list)."""
    hospital = next((o for o in offers if o.facility.level >= HOSPITAL_LEVEL), None)
    if hospital is None:
        return
    for offer in offers:
        if offer.facility.level <= PRIMARY_CARE_LEVEL:
            saving = hospital.price.self_pay_fen - offer.price.self_pay_fen
            if saving > 0:
                offer.saving_fen, offer.compared_with = saving, hospital.facility
