"""A small network with hand-arranged consultation cases whose timelines are known to the minute,
so the analytics can be checked against numbers worked out by hand.

Cases are written as rows (not through the consultation service) because their times must lie
in the past at chosen moments; the analytics only reads these tables."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from carebridge.auth.models import Role, User
from carebridge.consultations.models import CaseEvent, ConsultationCase
from carebridge.network.models import Facility, Tier
from carebridge.records.models import Patient
from carebridge.referrals.models import Referral

CHINA = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2025, 3, 12, 4, 0, tzinfo=dt.UTC)  # 12:00 in China
TODAY = dt.date(2025, 3, 12)
TARGET = {"emergency": 30, "urgent": 120, "routine": 1440}


@dataclass
class Net:
    village: Facility
    township: Facility
    county: Facility
    city: Facility
    other_county: Facility
    doctor: User  # township doctor: asks
    county_doctor: User
    platform_admin: User
    county_admin: User
    other_admin: User
    patients: list[Patient]


class Cases:
    """Writes a case and its timeline; `responses` and `signed` are minutes after submission."""

    def __init__(self, db, net: Net) -> None:  # noqa: ANN001
        self.db, self.net = db, net
        self.n = 0

    async def add(self, submitted: dt.datetime, urgency: str = "routine", *, requester: Facility | None = None,
                  target: Facility | None = None, responses: list[tuple[str, float]] = (), state: str = "",
                  signed: float | None = None, resubmitted: float | None = None, patient: Patient | None = None,
                  due_at: dt.datetime | None = None, closed: float | None = None) -> ConsultationCase:
        net = self.net
        requester = requester or net.township
        patient = patient or net.patients[self.n % len(net.patients)]
        self.n += 1
        events = [("request", "", "draft", submitted - dt.timedelta(minutes=5)),
                  ("submit", "draft", "submitted", submitted)]
        for action, after in responses:
            events.append((action, "", "", submitted + dt.timedelta(minutes=after)))
        if resubmitted is not None:
            events.append(("resubmit", "returned", "submitted", submitted + dt.timedelta(minutes=resubmitted)))
        if signed is not None:
            events.append(("sign_opinion", "accepted", "opinion_signed", submitted + dt.timedelta(minutes=signed)))
        last_submit = submitted + dt.timedelta(minutes=resubmitted or 0)
        case = ConsultationCase(
            patient_id=patient.id, requesting_facility_id=requester.id, requesting_doctor_id=net.doctor.id,
            question="?", clinical_summary="", urgency=urgency, mode="async",
            target_facility_id=(target or net.county).id,
            state=state or ("opinion_signed" if signed else "triaged" if responses else "submitted"),
            due_at=due_at or last_submit + dt.timedelta(minutes=TARGET[urgency]),
            created_at=submitted - dt.timedelta(minutes=5), updated_at=submitted,
            closed_at=submitted + dt.timedelta(minutes=closed) if closed is not None else None, version=1)
        self.db.add(case)
        await self.db.flush()
        self.db.add_all(CaseEvent(case_id=case.id, at=at, actor_user_id=net.doctor.id, actor_part="requester",
                                  action=action, from_state=f, to_state=t, note="")
                        for action, f, t, at in events)
        await self.db.flush()
        return case

    async def referral(self, patient: Patient, to: Facility, at: dt.datetime, *, direction: str = "up",
                       state: str = "requested", source: Facility | None = None) -> Referral:
        referral = Referral(patient_id=patient.id, from_facility_id=(source or self.net.township).id,
                            to_facility_id=to.id, direction=direction, reason="specialist_needed", state=state,
                            requested_by_id=self.net.doctor.id, created_at=at, updated_at=at)
        self.db.add(referral)
        await self.db.flush()
        return referral


@pytest.fixture
async def net(world) -> Net:  # noqa: ANN001
    village = await world.facility(tier=Tier.village_clinic)
    township = await world.facility(tier=Tier.township_center)
    county = await world.facility(tier=Tier.county_hospital)
    city = await world.facility(tier=Tier.city_hospital)
    other = await world.facility(tier=Tier.county_hospital)
    patients = [await world.patient(township) for _ in range(4)]
    return Net(village, township, county, city, other,
               await world.user((Role.doctor, township.id)), await world.user((Role.doctor, county.id)),
               await world.user((Role.platform_admin, None)), await world.user((Role.facility_admin, county.id)),
               await world.user((Role.facility_admin, other.id)), patients)


@pytest.fixture
def cases(db, net) -> Cases:  # noqa: ANN001
    return Cases(db, net)


def ago(days: float = 0, hours: float = 0) -> dt.datetime:
    return NOW - dt.timedelta(days=days, hours=hours)
