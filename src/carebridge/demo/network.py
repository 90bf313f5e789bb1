"""The demo network's facilities: a tree from 48 village clinics up to one national centre,
with departments and the remote services each hub offers to the facilities below it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.demo import names
from carebridge.demo.bulk import BulkWriter
from carebridge.network.catalog import STANDARD_DEPARTMENTS
from carebridge.network.models import (
    Department,
    Facility,
    FacilityDepartment,
    FacilityLink,
    ServiceKind,
    ServiceOffering,
    ServiceRecipient,
    Tier,
)

NATIONAL_CODE = "NC-0001"
ALLIANCE = "中原远程医疗协作网"


@dataclass
class FacilitySpec:
    code: str
    name: str
    name_en: str
    tier: Tier
    province: str
    city: str = ""
    county: str = ""
    lat: float = 0.0
    lon: float = 0.0
    address: str = ""
    phone: str = ""
    hub: str | None = None  # code of the next tier up
    place: str = ""  # the address without street and number, for the people who live there
    id: int = 0
    children: list[str] = field(default_factory=list)


def _near(rng: random.Random, lat: float, lon: float, spread: float) -> tuple[float, float]:
    return round(lat + rng.uniform(-spread, spread), 5), round(lon + rng.uniform(-spread, spread), 5)


def _address(rng: random.Random, prefix: str) -> str:
    street, _ = rng.choice(names.STREETS)
    return f"{prefix}{street}{rng.randint(1, 299)}号"


def facility_specs(rng: random.Random) -> list[FacilitySpec]:
    """Every facility, parents before children (national, provinces, cities, ... villages)."""
    specs = [FacilitySpec(NATIONAL_CODE, "国家区域协同医疗中心", "National Center for Coordinated Regional Care",
                          Tier.national_center, "410000", "410100", lat=34.7466, lon=113.6254,
                          address="中原省嵩阳市金水大道1号", phone="0371-60000001")]
    for p, prov in enumerate(names.PROVINCES):
        code = f"PH-{prov.code}"
        lat, lon = _near(rng, prov.lat, prov.lon, 0.02)
        specs.append(FacilitySpec(code, f"{prov.zh}人民医院", f"{prov.en} Provincial People's Hospital",
                                  Tier.provincial_hospital, prov.code, "", "", lat, lon, _address(rng, prov.zh),
                                  f"03{71 + p}-6{rng.randrange(10**7):07d}", NATIONAL_CODE))
        for city in names.CITIES[2 * p:2 * p + 2]:
            specs += _city_subtree(rng, prov, city, code)
    by_code = {s.code: s for s in specs}
    for spec in specs:
        if spec.hub:
            by_code[spec.hub].children.append(spec.code)
    return specs


def _city_subtree(rng: random.Random, prov: names.Place, city: names.Place, hub: str) -> list[FacilitySpec]:
    code = f"CH-{city.code}"
    out = [FacilitySpec(code, f"{city.zh}中心医院", f"{city.en} Central Hospital", Tier.city_hospital,
                        prov.code, city.code, "", *_near(rng, city.lat, city.lon, 0.02),
                        _address(rng, prov.zh + city.zh), f"0379-6{rng.randrange(10**7):07d}", hub)]
    index = names.CITIES.index(city)
    for c_code, c_zh, c_en in names.COUNTIES[2 * index:2 * index + 2]:
        lat, lon = _near(rng, city.lat, city.lon, 0.35)
        county = FacilitySpec(f"XH-{c_code}", f"{c_zh}人民医院", f"{c_en} County People's Hospital",
                              Tier.county_hospital, prov.code, city.code, c_code, lat, lon,
                              _address(rng, prov.zh + city.zh + c_zh), f"0379-5{rng.randrange(10**7):07d}", code)
        out.append(county)
        out += _county_subtree(rng, county, prov.zh + city.zh + c_zh)
    return out


def _county_subtree(rng: random.Random, county: FacilitySpec, place_zh: str) -> list[FacilitySpec]:
    out: list[FacilitySpec] = []
    c_index = [c for c, _, _ in names.COUNTIES].index(county.county)
    for t in range(3):
        t_index = 3 * c_index + t
        t_zh, t_en = names.TOWNSHIPS[t_index]
        community = t == 2
        lat, lon = _near(rng, county.lat, county.lon, 0.12)
        town = FacilitySpec(
            f"{'CC' if community else 'TC'}-{county.county}-{t + 1:02d}",
            f"{t_zh}社区卫生服务中心" if community else f"{t_zh}镇卫生院",
            f"{t_en} Community Health Center" if community else f"{t_en} Township Health Center",
            Tier.community_center if community else Tier.township_center,
            county.province, county.city, county.county, lat, lon,
            _address(rng, place_zh + t_zh + ("街道" if community else "镇")),
            f"0379-8{rng.randrange(10**7):07d}", county.code)
        town.place = place_zh + t_zh + ("街道" if community else "镇")
        out.append(town)
        for v in range(2):
            v_zh, v_en = names.VILLAGES[2 * t_index + v]
            v_lat, v_lon = _near(rng, lat, lon, 0.04)
            place = f"{town.place}{v_zh}村"
            out.append(FacilitySpec(
                f"VC-{county.county}-{t + 1:02d}-{v + 1}", f"{t_zh}{v_zh}村卫生室",
                f"{v_en} Village Clinic ({t_en})", Tier.village_clinic, county.province, county.city,
                county.county, v_lat, v_lon, f"{place}{rng.randint(1, 80)}号",
                names.mobile_phone(rng), town.code, place))
    return out


# Departments opened per tier; city hospitals and above run every standard department.
_PRIMARY = ["general_practice", "internal_medicine", "pediatrics", "traditional_chinese_medicine",
            "laboratory", "pharmacy", "nursing"]
_COUNTY = ["internal_medicine", "cardiology", "respiratory", "endocrinology", "neurology", "pediatrics",
           "obstetrics", "surgery", "orthopedics", "emergency", "radiology", "ultrasound", "ecg",
           "laboratory", "pharmacy", "nursing", "icu", "infectious_disease", "traditional_chinese_medicine"]
_ALL = [code for code, _, _ in STANDARD_DEPARTMENTS]
DEPARTMENTS_BY_TIER: dict[Tier, list[str]] = {
    Tier.village_clinic: ["general_practice"],
    Tier.township_center: _PRIMARY,
    Tier.community_center: _PRIMARY + ["rehabilitation"],
    Tier.county_hospital: _COUNTY,
    Tier.city_hospital: _ALL,
    Tier.provincial_hospital: _ALL,
    Tier.national_center: _ALL,
}

# (tier, consultation specialties, reading services): offered to the hub's own subtree,
# except the national centre, which serves the whole network.
OFFERINGS: dict[Tier, tuple[list[str], list[tuple[ServiceKind, str]]]] = {
    Tier.county_hospital: (["internal_medicine", "cardiology", "pediatrics", "obstetrics"],
                           [(ServiceKind.imaging_reading, "radiology"), (ServiceKind.ecg_reading, "ecg")]),
    Tier.city_hospital: (["cardiology", "neurology", "endocrinology", "respiratory", "pediatrics", "surgery"],
                         [(ServiceKind.imaging_reading, "radiology"), (ServiceKind.ecg_reading, "ecg"),
                          (ServiceKind.pathology_reading, "pathology")]),
    Tier.provincial_hospital: (["cardiology", "neurology", "oncology", "icu", "infectious_disease",
                                "endocrinology", "nephrology", "gastroenterology"],
                               [(ServiceKind.imaging_reading, "radiology"),
                                (ServiceKind.pathology_reading, "pathology")]),
    Tier.national_center: (["cardiology", "oncology", "neurology", "icu"],
                           [(ServiceKind.pathology_reading, "pathology")]),
}


async def ensure_departments(session: AsyncSession) -> dict[str, int]:
    """The standard list, inserting whichever codes are missing; returns code -> id."""
    existing = dict((await session.execute(select(Department.code, Department.id))).all())
    missing = [Department(code=c, name=zh, name_en=en) for c, zh, en in STANDARD_DEPARTMENTS if c not in existing]
    session.add_all(missing)
    await session.flush()
    return existing | {d.code: d.id for d in missing}


async def write_facilities(bulk: BulkWriter, specs: list[FacilitySpec], departments: dict[str, int]) -> None:
    ids = await bulk.ids(Facility.__table__, len(specs))
    for spec, fid in zip(specs, ids, strict=True):
        spec.id = fid
    by_code = {s.code: s for s in specs}
    await bulk.insert(Facility.__table__, [_facility_row(s) for s in specs])
    link_ids = await bulk.ids(FacilityLink.__table__, len(specs) - 1)
    await bulk.insert(FacilityLink.__table__, [
        {"id": lid, "facility_id": s.id, "hub_id": by_code[s.hub].id, "alliance": ALLIANCE}
        for lid, s in zip(link_ids, [s for s in specs if s.hub], strict=True)])
    await bulk.insert(FacilityDepartment.__table__, [
        {"facility_id": s.id, "department_id": departments[d]} for s in specs for d in DEPARTMENTS_BY_TIER[s.tier]])
    await _write_offerings(bulk, specs, by_code, departments)


def _facility_row(spec: FacilitySpec) -> dict:
    return {"id": spec.id, "code": spec.code, "name": spec.name, "name_en": spec.name_en, "tier": spec.tier.value,
            "province_code": spec.province, "city_code": spec.city, "county_code": spec.county,
            "address": spec.address, "latitude": spec.lat, "longitude": spec.lon, "phone": spec.phone,
            "email": "", "active": True, "require_mfa": False}


def subtree(code: str, by_code: dict[str, FacilitySpec]) -> list[str]:
    found, stack = [], list(by_code[code].children)
    while stack:
        child = stack.pop(0)
        found.append(child)
        stack.extend(by_code[child].children)
    return found


async def _write_offerings(bulk: BulkWriter, specs: list[FacilitySpec], by_code: dict[str, FacilitySpec],
                           departments: dict[str, int]) -> None:
    offerings, recipients = [], []
    for spec in specs:
        if spec.tier not in OFFERINGS:
            continue
        specialties, readings = OFFERINGS[spec.tier]
        kinds = [(ServiceKind.consultation, d) for d in specialties] + readings
        open_to_all = spec.tier == Tier.national_center
        served = [] if open_to_all else [by_code[c].id for c in subtree(spec.code, by_code)]
        for oid, (kind, dept) in zip(await bulk.ids(ServiceOffering.__table__, len(kinds)), kinds, strict=True):
            offerings.append({"id": oid, "facility_id": spec.id, "kind": kind.value,
                              "department_id": departments[dept], "open_to_all": open_to_all, "active": True})
            recipients += [{"offering_id": oid, "facility_id": fid} for fid in served]
    await bulk.insert(ServiceOffering.__table__, offerings)
    await bulk.insert(ServiceRecipient.__table__, recipients)
