"""Each facility's home-nursing catalogue and the credentials services require. A facility starts
from the bundled starter catalogue (the services of the Shanxi internet hospitals: infusion,
catheter placement and care, ostomy care, wound dressing, injections, maternal and newborn care)
and sets its own prices. Prices are integer fen."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.network.service import audit_change, check_facility_admin, get_facility
from carebridge.portal.home_nursing.models import NursingService

# Specialist nursing credentials. "assessor" is not needed by a service: it lets a nurse do the
# pre-visit risk assessment of the facility's orders.
ASSESSOR = "assessor"
CREDENTIALS: dict[str, str] = {
    ASSESSOR: N_("Home-care risk assessor"),
    "iv_therapy": N_("IV therapy nurse"),
    "picc": N_("PICC line care"),
    "catheter": N_("Urinary catheter care"),
    "stoma": N_("Stoma therapist"),
    "wound": N_("Wound care nurse"),
    "maternal_newborn": N_("Maternal and newborn care"),
}
CODE = re.compile(r"^[a-z0-9_]{2,40}$")
MAX_PRICE_FEN = 1_000_000  # 10,000 yuan: anything above is a typo in fen vs yuan
MIN_MINUTES, MAX_MINUTES = 10, 480


@dataclass(frozen=True)
class StarterService:
    code: str
    name: str
    name_en: str
    price_fen: int
    duration_minutes: int
    required_credential: str
    min_years: int
    insured: bool
    description: str = ""


STARTER: tuple[StarterService, ...] = (
    StarterService("infusion", "静脉输液", "Intravenous infusion", 15000, 90, "iv_therapy", 2, False,
                   "需有医生处方及首剂已在医院使用"),
    StarterService("picc_care", "PICC维护", "PICC line care", 18000, 45, "picc", 3, True),
    StarterService("catheter_placement", "留置导尿", "Urinary catheter placement", 15000, 45, "catheter", 2, True),
    StarterService("catheter_care", "导尿管护理与更换", "Urinary catheter care and change", 12000, 30,
                   "catheter", 0, True),
    StarterService("ostomy_care", "造口护理", "Ostomy care", 16000, 45, "stoma", 0, True),
    StarterService("wound_dressing", "伤口换药", "Wound dressing", 12000, 30, "wound", 0, True),
    StarterService("injection", "肌内/皮下注射", "Intramuscular or subcutaneous injection", 8000, 20, "", 0, True),
    StarterService("maternal_newborn", "母婴护理（产后访视）", "Maternal and newborn care (postnatal visit)",
                   25000, 90, "maternal_newborn", 3, False),
)

# What a nurse may tick in the visit record, per service (free text covers the rest).
PROCEDURES: dict[str, tuple[str, ...]] = {
    "infusion": (N_("Prescription and medicine checked"), N_("Venous access placed"),
                 N_("Infusion observed to the end"), N_("Cannula removed, site pressed")),
    "picc_care": (N_("Dressing changed"), N_("Line flushed and locked"), N_("Connector changed"),
                  N_("Arm circumference measured")),
    "catheter_placement": (N_("Catheter placed"), N_("Urine drained"), N_("Bag fixed")),
    "catheter_care": (N_("Catheter changed"), N_("Perineal care"), N_("Bag changed")),
    "ostomy_care": (N_("Stoma assessed"), N_("Appliance changed"), N_("Skin care around the stoma")),
    "wound_dressing": (N_("Wound assessed"), N_("Wound cleaned"), N_("Dressing applied")),
    "injection": (N_("Prescription and medicine checked"), N_("Injection given"), N_("Observed 15 minutes")),
    "maternal_newborn": (N_("Mother examined"), N_("Breastfeeding guided"), N_("Newborn weighed"),
                         N_("Umbilical cord care"), N_("Jaundice checked")),
}
GENERAL_PROCEDURES = (N_("Vital signs measured"), N_("Health education given"))


@dataclass(frozen=True)
class ServiceInput:
    code: str
    name: str
    name_en: str
    price_fen: int
    duration_minutes: int
    required_credential: str = ""
    min_years: int = 0
    insured: bool = False
    description: str = ""
    active: bool = True


def credential_label(code: str) -> str:
    return CREDENTIALS.get(code, code) if code else N_("Nursing licence")


def procedures_for(service_code: str) -> tuple[str, ...]:
    return PROCEDURES.get(service_code, ()) + GENERAL_PROCEDURES


def check_service(data: ServiceInput) -> ServiceInput:
    if not CODE.match(data.code):
        raise InvalidInput(N_("the code is 2 to 40 lower-case letters, digits or underscores"),
                           details={"field": "code"})
    if not data.name.strip() or len(data.name) > 100 or len(data.name_en) > 100 or len(data.description) > 500:
        raise InvalidInput(N_("give a name of at most 100 characters"), details={"field": "name"})
    if not 0 <= data.price_fen <= MAX_PRICE_FEN:
        raise InvalidInput(N_("the price must be between 0 and 10,000 yuan"), details={"field": "price_fen"})
    if not MIN_MINUTES <= data.duration_minutes <= MAX_MINUTES:
        raise InvalidInput(N_("a visit lasts between 10 minutes and 8 hours"), details={"field": "duration_minutes"})
    if data.required_credential and (data.required_credential not in CREDENTIALS
                                     or data.required_credential == ASSESSOR):
        raise InvalidInput(N_("unknown credential"), details={"field": "required_credential",
                                                              "allowed": sorted(set(CREDENTIALS) - {ASSESSOR})})
    if not 0 <= data.min_years <= 40:
        raise InvalidInput(N_("years of practice must be between 0 and 40"), details={"field": "min_years"})
    return data


async def list_services(session: AsyncSession, facility_id: int, *, active_only: bool = True) -> list[NursingService]:
    query = select(NursingService).where(NursingService.facility_id == facility_id)
    if active_only:
        query = query.where(NursingService.active.is_(True))
    return list((await session.scalars(query.order_by(NursingService.id))).all())


async def get_service(session: AsyncSession, service_id: int) -> NursingService:
    service = await session.get(NursingService, service_id)
    if service is None:
        raise NotFound(N_("home-nursing service not found"))
    return service


async def facilities_offering(session: AsyncSession) -> list[Facility]:
    """Active facilities with at least one active home-nursing service."""
    offering = select(NursingService.facility_id).where(NursingService.active.is_(True))
    return list((await session.scalars(select(Facility).where(Facility.active.is_(True), Facility.id.in_(offering))
                                       .order_by(Facility.tier, Facility.name))).all())


async def install_starter(session: AsyncSession, principal: Principal, facility_id: int) -> list[NursingService]:
    """Adds the starter services the facility does not have yet; existing ones keep their prices."""
    facility = await get_facility(session, facility_id)
    check_facility_admin(principal, facility.id)
    have = {s.code for s in await list_services(session, facility.id, active_only=False)}
    added = [NursingService(facility_id=facility.id, code=s.code, name=s.name, name_en=s.name_en,
                            description=s.description, price_fen=s.price_fen, duration_minutes=s.duration_minutes,
                            required_credential=s.required_credential, min_years=s.min_years, insured=s.insured)
             for s in STARTER if s.code not in have]
    session.add_all(added)
    await session.flush()
    await audit_change(session, principal, "nursing_catalogue_starter", "NursingService", facility.id, facility.id,
                       added=[s.code for s in added])
    return await list_services(session, facility.id, active_only=False)


async def create_service(session: AsyncSession, principal: Principal, facility_id: int,
                         data: ServiceInput) -> NursingService:
    facility = await get_facility(session, facility_id)
    check_facility_admin(principal, facility.id)
    data = check_service(data)
    if await session.scalar(select(NursingService.id).where(NursingService.facility_id == facility.id,
                                                            NursingService.code == data.code)):
        raise Conflict(N_("this facility already has a service with this code"), details={"field": "code"})
    service = NursingService(facility_id=facility.id, **_fields(data))
    session.add(service)
    await session.flush()
    await audit_change(session, principal, "create", "NursingService", service.id, facility.id)
    return service


async def update_service(session: AsyncSession, principal: Principal, service_id: int,
                         data: ServiceInput) -> NursingService:
    service = await get_service(session, service_id)
    check_facility_admin(principal, service.facility_id)
    data = check_service(data)
    if data.code != service.code:
        raise InvalidInput(N_("a service's code cannot change"), details={"field": "code"})
    for name, value in _fields(data).items():
        setattr(service, name, value)
    service.updated_at = utcnow()
    await session.flush()
    await audit_change(session, principal, "update", "NursingService", service.id, service.facility_id,
                       price_fen=service.price_fen, active=service.active)
    return service


def _fields(data: ServiceInput) -> dict:
    return {"code": data.code, "name": data.name.strip(), "name_en": data.name_en.strip(),
            "description": data.description.strip(), "price_fen": data.price_fen,
            "duration_minutes": data.duration_minutes, "required_credential": data.required_credential,
            "min_years": data.min_years, "insured": data.insured, "active": data.active}
