"""Pydantic models in and out of the network API. The importer validates each row with
`FacilityIn` too, so a file row and an API call are held to the same rules."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from carebridge.network.models import ServiceKind, Tier, Title

T = TypeVar("T")

Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
DeptCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{1,39}$")]
# GB/T 2260 administrative division codes are digits (6; 9 or 12 for township and village level).
RegionCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(\d{2,12})?$")]
Language = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
# Lower-cased before the pattern is checked (StringConstraints would check the pattern first).
Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._@-]{0,63}$"),
                     BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Output, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class FacilityFields(Input):
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    province_code: RegionCode = ""
    city_code: RegionCode = ""
    county_code: RegionCode = ""
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    phone: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+() -]{0,40}$")] = ""
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200,
                                            pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")] = ""
    require_mfa: bool = False


def check_coordinate_pair(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise ValueError("give both latitude and longitude, or neither")


class FacilityIn(FacilityFields):
    code: Code
    name: Name
    tier: Tier
    hubs: list[HubLinkIn] = Field(default_factory=list, max_length=20)
    departments: list[DeptCode] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _coordinates(self) -> FacilityIn:
        check_coordinate_pair(self.latitude, self.longitude)
        return self


class FacilityUpdate(Input):
    """Only the fields sent are changed. Code, tier and active are for platform administrators."""

    code: Code | None = None
    name: Name | None = None
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    tier: Tier | None = None
    province_code: RegionCode | None = None
    city_code: RegionCode | None = None
    county_code: RegionCode | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    phone: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+() -]{0,40}$")] | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200,
                                            pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")] | None = None
    require_mfa: bool | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _coordinates(self) -> FacilityUpdate:
        sent = {"latitude", "longitude"} & self.model_fields_set
        if sent and len(sent) == 1:
            raise ValueError("give both latitude and longitude, or neither")
        if sent:
            check_coordinate_pair(self.latitude, self.longitude)
        return self


class HubLinkIn(Input):
    hub_id: int
    alliance: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""


class FacilityBrief(Output):
    id: int
    code: str
    name: str
    name_en: str
    tier: Tier
    active: bool


class FacilityOut(FacilityBrief):
    province_code: str
    city_code: str
    county_code: str
    address: str
    latitude: float | None
    longitude: float | None
    phone: str
    email: str
    require_mfa: bool
    created_at: dt.datetime


class HubLinkOut(Output):
    id: int
    facility_id: int
    hub: FacilityBrief
    alliance: str


class DepartmentIn(Input):
    code: DeptCode
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class DepartmentUpdate(Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    active: bool | None = None


class DepartmentOut(Output):
    id: int
    code: str
    name: str
    name_en: str
    active: bool


class FacilityDetailOut(FacilityOut):
    hubs: list[HubLinkOut]
    departments: list[DepartmentOut]
    members: int = Field(description="active facilities linked to this one as their hub")


class OfferingIn(Input):
    kind: ServiceKind
    department: DeptCode | None = None
    open_to_all: bool = True
    recipient_ids: list[int] = Field(default_factory=list, max_length=2000)


class OfferingUpdate(Input):
    open_to_all: bool | None = None
    recipient_ids: list[int] | None = Field(None, max_length=2000)
    active: bool | None = None


class OfferingOut(Output):
    id: int
    facility_id: int
    kind: ServiceKind
    department: DepartmentOut | None
    open_to_all: bool
    recipient_ids: list[int]
    active: bool


class ProviderOut(Output):
    facility: FacilityBrief
    offering_id: int
    kind: ServiceKind
    department: DepartmentOut | None
    distance_km: float | None


class NewUserIn(Input):
    username: Username
    display_name: Name
    password: Annotated[str, StringConstraints(max_length=256)] | None = None
    role: Annotated[str, StringConstraints(pattern=r"^(doctor|nurse|technician|pharmacist)$")] = "doctor"


class PractitionerIn(Input):
    """Either `user_id` of an existing account or `new_user`; `facility_id` is the first practice site."""

    user_id: int | None = None
    new_user: NewUserIn | None = None
    title: Title
    specialty: DeptCode | None = None
    license_no: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z-]{4,40}$")]
    languages: list[Language] = Field(default_factory=lambda: ["zh"], max_length=10)
    facility_id: int
    department: DeptCode | None = None

    @model_validator(mode="after")
    def _one_user(self) -> PractitionerIn:
        if (self.user_id is None) == (self.new_user is None):
            raise ValueError("give exactly one of user_id or new_user")
        return self


class PractitionerUpdate(Input):
    title: Title | None = None
    specialty: DeptCode | None = None
    license_no: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z-]{4,40}$")] | None = None
    languages: list[Language] | None = Field(None, max_length=10)


class PracticeSiteIn(Input):
    facility_id: int
    department: DeptCode | None = None


class PracticeSiteOut(Output):
    facility: FacilityBrief
    department: DepartmentOut | None


class PractitionerOut(Output):
    id: int
    user_id: int
    display_name: str
    title: Title
    specialty: DepartmentOut | None
    license_no: str
    languages: list[str]
    sites: list[PracticeSiteOut]
    on_duty_now: bool


class ShiftIn(Input):
    facility_id: int
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class ShiftUpdate(Input):
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


class ShiftOut(Output):
    id: int
    practitioner_id: int
    facility_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


class ImportProblemOut(Output):
    line: int
    message: str


class CredentialOut(Output):
    facility_code: str
    username: str
    password: str


class ImportReportOut(Output):
    facilities: int
    hub_links: int
    department_links: int
    admins: int
    seconds: float
    summary: str
    credentials: list[CredentialOut] = Field(
        default_factory=list, description="One-time passwords; returned once, only when asked for")


FacilityIn.model_rebuild()
