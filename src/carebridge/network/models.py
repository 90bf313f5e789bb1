from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class Tier(StrEnum):
    village_clinic = "village_clinic"
    township_center = "township_center"
    community_center = "community_center"
    county_hospital = "county_hospital"
    city_hospital = "city_hospital"
    provincial_hospital = "provincial_hospital"
    national_center = "national_center"
    international_partner = "international_partner"


# Township and community centres are the same primary-care level: the first tier above a village.
TIER_LEVEL: dict[Tier, int] = {
    Tier.village_clinic: 1,
    Tier.township_center: 2,
    Tier.community_center: 2,
    Tier.county_hospital: 3,
    Tier.city_hospital: 4,
    Tier.provincial_hospital: 5,
    Tier.national_center: 6,
    Tier.international_partner: 7,
}


class ServiceKind(StrEnum):
    consultation = "consultation"
    imaging_reading = "imaging_reading"
    ecg_reading = "ecg_reading"
    pathology_reading = "pathology_reading"


class Title(StrEnum):
    resident = "resident"
    attending = "attending"
    associate_chief = "associate_chief"
    chief = "chief"


class Facility(Base):
    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    tier: Mapped[str] = mapped_column(String(32), index=True)
    province_code: Mapped[str] = mapped_column(String(12), default="")
    city_code: Mapped[str] = mapped_column(String(12), default="")
    county_code: Mapped[str] = mapped_column(String(12), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    require_mfa: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    hub_links: Mapped[list[FacilityLink]] = relationship(
        foreign_keys="FacilityLink.facility_id", back_populates="facility", cascade="all, delete-orphan"
    )

    @property
    def level(self) -> int:
        return TIER_LEVEL[Tier(self.tier)]


class FacilityLink(Base):
    """A facility's link to a hub one tier up; alliances (医联体) let a facility have several."""

    __tablename__ = "facility_links"
    __table_args__ = (UniqueConstraint("facility_id", "hub_id", "alliance"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    alliance: Mapped[str] = mapped_column(String(100), default="")

    facility: Mapped[Facility] = relationship(foreign_keys=[facility_id], back_populates="hub_links")
    hub: Mapped[Facility] = relationship(foreign_keys=[hub_id])


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class FacilityDepartment(Base):
    __tablename__ = "facility_departments"

    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)


class ServiceOffering(Base):
    """A remote service a facility offers; open to the whole network or to listed facilities."""

    __tablename__ = "service_offerings"
    __table_args__ = (UniqueConstraint("facility_id", "kind", "department_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    open_to_all: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ServiceRecipient(Base):
    __tablename__ = "service_recipients"

    offering_id: Mapped[int] = mapped_column(ForeignKey("service_offerings.id"), primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), primary_key=True)


class Practitioner(Base):
    __tablename__ = "practitioners"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    title: Mapped[str] = mapped_column(String(32))
    specialty_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    license_no: Mapped[str] = mapped_column(String(40), unique=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)


class PracticeSite(Base):
    """Multi-site practice (多点执业) is normal: one practitioner, several facilities."""

    __tablename__ = "practice_sites"

    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), primary_key=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))


class RosterShift(Base):
    __tablename__ = "roster_shifts"
    __table_args__ = (Index("ix_roster_shifts_site_time", "facility_id", "starts_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
