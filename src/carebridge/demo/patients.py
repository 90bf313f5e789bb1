"""Demo patients: who they are, where they are registered, what they suffer from, and whether
they consented to sharing across the network.

Each patient is drawn from a random generator seeded with the patient's own index, so patient
#17 is the same person whatever the scale of the run."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from carebridge.access.models import Consent, ConsentStatus
from carebridge.demo import names
from carebridge.demo.bulk import BulkWriter
from carebridge.demo.network import FacilitySpec
from carebridge.network.models import Tier
from carebridge.records.models import Patient, PatientRegistration

SEED = 20240611
SERIOUS = ("I25.1", "I50.9", "I63.9", "C34.9", "N18.3", "K74.6")
SHOWCASE = names.PersonName("王建国", "Wang Jianguo", "Wang", "Jianguo")


@dataclass
class PatientProfile:
    index: int
    name: names.PersonName
    sex: str
    birth: dt.date
    national_id: str
    phone: str
    address: str
    registrations: list[FacilitySpec]  # the home facility first
    conditions: list[str]
    years: int
    consent: str
    showcase: bool = False
    id: int = 0
    mrns: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> FacilitySpec:
        return self.registrations[0]

    def age(self, on: dt.date) -> int:
        return on.year - self.birth.year - ((on.month, on.day) < (self.birth.month, self.birth.day))


def patient_rng(index: int) -> random.Random:
    return random.Random(SEED * 1_000_003 + index)


def _birth(rng: random.Random, today: dt.date) -> dt.date:
    low, high = rng.choices([(1, 17), (18, 34), (35, 54), (55, 64), (65, 90)], [8, 12, 28, 22, 30])[0]
    return today - dt.timedelta(days=rng.randint(low * 365, high * 365 + 364))


def _conditions(rng: random.Random, age: int, sex: str) -> list[str]:
    band = 0 if age < 35 else 1 if age < 55 else 2 if age < 65 else 3

    def has(p: float) -> bool:
        return rng.random() < p

    found = [code for code, chances in [
        ("I10", (0.03, 0.25, 0.45, 0.6)), ("E11.9", (0.01, 0.08, 0.18, 0.2)), ("E78.5", (0.04, 0.18, 0.28, 0.3)),
        ("M17.9", (0, 0.06, 0.12, 0.18)), ("K29.7", (0.05, 0.08, 0.08, 0.08)), ("B18.1", (0.02, 0.05, 0.04, 0.03)),
        ("J45.9", (0.04, 0.03, 0.03, 0.03)), ("F32.9", (0.02, 0.03, 0.02, 0.02)), ("J44.9", (0, 0.02, 0.08, 0.12)),
        ("I63.9", (0, 0.01, 0.04, 0.06)), ("C34.9", (0, 0.003, 0.01, 0.015)), ("K74.6", (0, 0.01, 0.01, 0.01)),
        ("J18.9", (0.04, 0.03, 0.05, 0.08)),
    ] if age >= 18 or code in ("J45.9", "J18.9") if has(chances[band])]
    cardiac = 0.0 if band < 2 else 0.06 + (0.08 if "I10" in found else 0)
    if has(cardiac):
        found.append("I25.1")
    if band == 3 and has(0.06):
        found.append("I48.9")
    if band >= 2 and ("I25.1" in found or "I10" in found) and has(0.06):
        found.append("I50.9")
    if band >= 2 and ("E11.9" in found or "I10" in found) and has(0.08):
        found.append("N18.3")
    if sex == "female" and 22 <= age <= 40 and has(0.05):
        found.append("O24.4")
    return found


def _registrations(rng: random.Random, primary: list[FacilitySpec], by_code: dict[str, FacilitySpec],
                   conditions: list[str]) -> list[FacilitySpec]:
    home = rng.choice(primary)
    regs = [home]
    town = by_code[home.hub] if home.tier == Tier.village_clinic else home
    if town is not home and rng.random() < 0.5:
        regs.append(town)
    if any(c in SERIOUS for c in conditions) or rng.random() < 0.2:
        regs.append(by_code[town.hub])
    return regs


def profiles(count: int, specs: list[FacilitySpec], today: dt.date) -> list[PatientProfile]:
    by_code = {s.code: s for s in specs}
    primary = [s for s in specs if s.tier in (Tier.village_clinic, Tier.township_center, Tier.community_center)]
    taken: set[str] = set()
    out = []
    for index in range(count):
        rng = patient_rng(index)
        profile = _showcase(rng, specs, today) if index == 0 else _profile(rng, index, primary, by_code, today)
        serial = index
        while (nid := names.national_id(profile.home.county, profile.birth, serial, profile.sex)) in taken:
            serial += 1
        taken.add(nid)
        profile.national_id = nid
        out.append(profile)
    return out


def _profile(rng: random.Random, index: int, primary: list[FacilitySpec], by_code: dict[str, FacilitySpec],
             today: dt.date) -> PatientProfile:
    sex = rng.choice(["male", "female"])
    birth = _birth(rng, today)
    age = today.year - birth.year
    conditions = _conditions(rng, age, sex)
    regs = _registrations(rng, primary, by_code, conditions)
    street = "" if regs[0].tier == Tier.village_clinic else rng.choice(names.STREETS)[0]
    return PatientProfile(
        index, names.person_name(rng, sex), sex, birth, "",
        names.mobile_phone(rng) if rng.random() < 0.85 else "",
        f"{regs[0].place}{street}{rng.randint(1, 199)}号", regs, conditions, rng.randint(1, 3),
        ConsentStatus.refused.value if rng.random() < 0.1 else ConsentStatus.granted.value)


def _showcase(rng: random.Random, specs: list[FacilitySpec], today: dt.date) -> PatientProfile:
    """The demo patient: chronic cardiometabolic disease followed for three years, seen at the
    township centre where the demo doctor works and at the county hospital above it."""
    town = next(s for s in specs if s.tier == Tier.township_center)
    county = next(s for s in specs if s.code == town.hub)
    birth = dt.date(today.year - 63, 3, 14)
    return PatientProfile(0, SHOWCASE, "male", birth, "", "13800138000", f"{town.place}人民路18号",
                          [town, county], ["I10", "E11.9", "E78.5", "I25.1"], 3,
                          ConsentStatus.granted.value, showcase=True)


def patient_row(profile: PatientProfile, created_at: dt.datetime, created_by: int | None) -> dict:
    return {"id": profile.id, "national_id": profile.national_id, "name": profile.name.zh,
            "name_en": profile.name.en, "sex": profile.sex, "birth_date": profile.birth, "phone": profile.phone,
            "address": profile.address, "merged_into_id": None, "created_at": created_at,
            "created_by_id": created_by}


async def write_patients(bulk: BulkWriter, patients: list[PatientProfile], first_seen: dict[int, dt.datetime],
                         registrar: dict[str, int]) -> None:
    """Patients (ids already reserved), one MRN per registration (numbered per facility), and
    the consent in force."""
    await bulk.insert(Patient.__table__, [
        patient_row(p, first_seen[p.index], registrar[p.home.code]) for p in patients])
    counters: dict[str, int] = {}
    regs = []
    for p in patients:
        for facility in p.registrations:
            counters[facility.code] = counters.get(facility.code, 0) + 1
            p.mrns[facility.code] = f"{facility.code.replace('-', '')}{counters[facility.code]:05d}"
            regs.append({"patient_id": p.id, "facility_id": facility.id, "mrn": p.mrns[facility.code],
                         "registered_at": first_seen[p.index]})
    for row, rid in zip(regs, await bulk.ids(PatientRegistration.__table__, len(regs)), strict=True):
        row["id"] = rid
    await bulk.insert(PatientRegistration.__table__, regs)
    consents = [{"patient_id": p.id, "status": p.consent, "scope_all": True, "scope_kinds": [],
                 "recorded_at": first_seen[p.index], "recorded_by_id": registrar[p.home.code],
                 "facility_id": p.home.id,
                 "note": "签署区域医疗信息共享知情同意书" if p.consent == "granted" else "患者拒绝跨机构共享"}
                for p in patients]
    for row, cid in zip(consents, await bulk.ids(Consent.__table__, len(consents)), strict=True):
        row["id"] = cid
    await bulk.insert(Consent.__table__, consents)
