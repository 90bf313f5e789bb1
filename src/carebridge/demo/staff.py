"""The demo network's people: ~200 practitioners with titles, licences, practice sites and a
two-week duty roster, one administrator per hospital and one for the platform."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.demo import names
from carebridge.demo.bulk import BulkWriter
from carebridge.demo.network import FacilitySpec
from carebridge.network.models import PracticeSite, Practitioner, RosterShift, Tier, Title

CHINA = dt.timezone(dt.timedelta(hours=8))
HOSPITALS = (Tier.county_hospital, Tier.city_hospital, Tier.provincial_hospital, Tier.national_center)

# Doctors' specialties per facility, by tier (one doctor each).
DOCTORS_BY_TIER: dict[Tier, list[str]] = {
    Tier.village_clinic: ["general_practice"],
    Tier.township_center: ["general_practice", "internal_medicine"],
    Tier.community_center: ["general_practice", "internal_medicine"],
    Tier.county_hospital: ["internal_medicine", "cardiology", "radiology", "ecg", "pediatrics"],
    Tier.city_hospital: ["cardiology", "neurology", "endocrinology", "radiology", "pathology"],
    Tier.provincial_hospital: ["cardiology", "oncology", "neurology", "pathology", "icu"],
    Tier.national_center: ["cardiology", "oncology", "neurology", "pathology"],
}
TITLE_WEIGHTS: dict[Tier, list[int]] = {  # resident, attending, associate chief, chief
    Tier.village_clinic: [7, 3, 0, 0],
    Tier.township_center: [4, 5, 1, 0],
    Tier.community_center: [4, 5, 1, 0],
    Tier.county_hospital: [1, 5, 3, 1],
    Tier.city_hospital: [0, 3, 4, 3],
    Tier.provincial_hospital: [0, 2, 4, 4],
    Tier.national_center: [0, 0, 4, 6],
}
TITLES = [Title.resident, Title.attending, Title.associate_chief, Title.chief]

# The one user per role that `carebridge demo` prints.
DEMO_LOGINS = [
    ("platform_admin", "demo.admin"),
    ("facility_admin", "demo.facility"),
    ("doctor", "demo.doctor"),
    ("specialist", "demo.cardiologist"),
    ("nurse", "demo.nurse"),
    ("technician", "demo.technician"),
    ("radiologist", "demo.radiologist"),
    ("pathologist", "demo.pathologist"),
    ("pharmacist", "demo.pharmacist"),
    ("patient", "demo.patient"),
]


@dataclass
class Person:
    username: str
    name: names.PersonName
    role: Role
    facility: FacilitySpec | None
    specialty: str = ""
    title: Title = Title.attending
    sites: list[tuple[FacilitySpec, str]] = field(default_factory=list)  # extra practice sites
    user_id: int = 0

    @property
    def practises(self) -> bool:
        return self.role in (Role.doctor, Role.nurse, Role.technician, Role.pharmacist)


def _person(rng: random.Random, role: Role, facility: FacilitySpec, specialty: str, prefix: str) -> Person:
    name = names.person_name(rng, rng.choice(["male", "female"]))
    title = rng.choices(TITLES, TITLE_WEIGHTS[facility.tier])[0]
    username = f"{prefix}.{name.family_en}{name.given_en}".lower()
    return Person(username, name, role, facility, specialty, title)


def people(rng: random.Random, specs: list[FacilitySpec]) -> list[Person]:
    """Staff in a fixed order; the first of each kind at the demo sites carry the demo logins."""
    by_tier = {t: [s for s in specs if s.tier == t] for t in Tier}
    towns = [s for s in specs if s.tier in (Tier.township_center, Tier.community_center)]
    counties, cities = by_tier[Tier.county_hospital], by_tier[Tier.city_hospital]
    staff = [_person(rng, Role.doctor, s, d, "dr") for s in specs for d in DOCTORS_BY_TIER.get(s.tier, [])]
    staff += [_person(rng, Role.nurse, s, "nursing", "rn") for s in towns[:8] + counties]
    staff += [_person(rng, Role.technician, s, "radiology" if i % 2 == 0 else "laboratory", "tech")
              for i, s in enumerate(counties)]
    staff += [_person(rng, Role.pharmacist, s, "pharmacy", "pharm") for s in counties[:4] + cities[:2]]
    _add_second_sites(staff, specs)
    admin = names.PersonName("平台管理员", "Platform Administrator", "Administrator", "Platform")
    staff.append(Person("demo.admin", admin, Role.platform_admin, None))
    for spec in [s for s in specs if s.tier in HOSPITALS]:
        person = _person(rng, Role.facility_admin, spec, "", "admin")
        person.username = f"admin.{spec.code.lower()}"
        staff.append(person)
    _dedupe_usernames(staff)
    _name_demo_logins(staff, towns[0], counties[0], cities[0])
    return staff


def _add_second_sites(staff: list[Person], specs: list[FacilitySpec]) -> None:
    """Multi-site practice: specialists hold a weekly clinic one tier down."""
    by_code = {s.code: s for s in specs}
    for person in staff:
        f = person.facility
        if person.role != Role.doctor or f.tier not in HOSPITALS or f.tier == Tier.national_center:
            continue
        if person.specialty in ("cardiology", "internal_medicine", "neurology", "endocrinology"):
            child = by_code[f.children[len(person.username) % len(f.children)]]
            person.sites.append((child, person.specialty))


def _dedupe_usernames(staff: list[Person]) -> None:
    seen: dict[str, int] = {}
    for person in staff:
        count = seen.get(person.username, 0)
        seen[person.username] = count + 1
        if count:
            person.username = f"{person.username}{count + 1}"


def _name_demo_logins(staff: list[Person], town: FacilitySpec, county: FacilitySpec, city: FacilitySpec) -> None:
    def first(role: Role, facility: FacilitySpec, specialty: str | None = None) -> Person:
        return next(p for p in staff if p.role == role and p.facility is facility
                    and (specialty is None or p.specialty == specialty))

    first(Role.facility_admin, county).username = "demo.facility"
    first(Role.doctor, town).username = "demo.doctor"
    first(Role.doctor, city, "cardiology").username = "demo.cardiologist"
    first(Role.nurse, town).username = "demo.nurse"
    first(Role.technician, county).username = "demo.technician"
    # The readers at the demo township's hubs: the county reads its images and ECGs, the city its slides.
    for reader, username in ((first(Role.doctor, county, "radiology"), "demo.radiologist"),
                             (first(Role.doctor, city, "pathology"), "demo.pathologist")):
        reader.username = username
        if reader.title == Title.resident:
            reader.title = Title.attending  # signs final reports
    first(Role.pharmacist, county).username = "demo.pharmacist"


async def write_people(bulk: BulkWriter, staff: list[Person], password_hash: str,
                       departments: dict[str, int], week_start: dt.date) -> None:
    for person, uid in zip(staff, await bulk.ids(User.__table__, len(staff)), strict=True):
        person.user_id = uid
    await bulk.insert(User.__table__, [_user_row(p, password_hash) for p in staff])
    # A role at every site a person practises at: the visiting specialist works with that site's records.
    roles = [(p, f) for p in staff for f in [p.facility, *(site for site, _ in p.sites)]]
    role_ids = await bulk.ids(RoleAssignment.__table__, len(roles))
    await bulk.insert(RoleAssignment.__table__, [
        {"id": rid, "user_id": p.user_id, "role": p.role.value, "facility_id": f.id if f else None}
        for rid, (p, f) in zip(role_ids, roles, strict=True)])
    clinicians = [p for p in staff if p.practises]
    pids = await bulk.ids(Practitioner.__table__, len(clinicians))
    await bulk.insert(Practitioner.__table__, [_practitioner_row(p, pid, departments) for p, pid in zip(
        clinicians, pids, strict=True)])
    await bulk.insert(PracticeSite.__table__, [
        {"practitioner_id": pid, "facility_id": f.id, "department_id": departments[d]}
        for p, pid in zip(clinicians, pids, strict=True) for f, d in [(p.facility, p.specialty), *p.sites]])
    shifts = [s for p, pid in zip(clinicians, pids, strict=True) for s in roster(p, pid, week_start)]
    for row, sid in zip(shifts, await bulk.ids(RosterShift.__table__, len(shifts)), strict=True):
        row["id"] = sid
    await bulk.insert(RosterShift.__table__, shifts)


def _user_row(person: Person, password_hash: str) -> dict:
    return {"id": person.user_id, "username": person.username, "display_name": person.name.zh,
            "email": f"{person.username}@demo.carebridge.invalid", "phone": "", "password_hash": password_hash,
            "is_active": True, "failed_logins": 0, "totp_enabled": False, "locale": None, "patient_id": None}


def _practitioner_row(person: Person, pid: int, departments: dict[str, int]) -> dict:
    f = person.facility
    kind = {Role.doctor: "1", Role.nurse: "2", Role.technician: "3", Role.pharmacist: "4"}[person.role]
    languages = ["zh", "en"] if person.title in (Title.associate_chief, Title.chief) or pid % 7 == 0 else ["zh"]
    return {"id": pid, "user_id": person.user_id, "title": person.title.value,
            "specialty_id": departments[person.specialty], "languages": languages,
            "license_no": f"{kind}{f.province[:2]}{f.county or f.city or f.province}{pid:06d}"}


def _local(day: dt.date, hour: float) -> dt.datetime:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=CHINA) + dt.timedelta(hours=hour)
    return start.astimezone(dt.UTC)


def roster(person: Person, practitioner_id: int, week_start: dt.date) -> list[dict]:
    """This week and next, in China Standard Time: primary-care staff work Monday to Saturday
    in two sessions; hospital staff work weekdays with one night on call; a second site takes
    one weekday."""
    shifts = []
    hospital = person.facility.tier in HOSPITALS
    for offset in range(14):
        day = week_start + dt.timedelta(days=offset)
        weekday = day.weekday()
        site = person.facility
        if person.sites and weekday == 2 + practitioner_id % 3:
            site = person.sites[0][0]
        if weekday >= (5 if hospital else 6):
            continue
        hours = [(8, 17.5)] if hospital else [(8, 12), (14.5, 17.5)]
        if hospital and person.role == Role.doctor and weekday == practitioner_id % 5:
            hours.append((17.5, 32))  # on call overnight until 08:00
        shifts += [{"practitioner_id": practitioner_id, "facility_id": site.id,
                    "starts_at": _local(day, a), "ends_at": _local(day, b)} for a, b in hours]
    return shifts
