"""The SQL side of the analytics: one row per consultation case in the period, with its times
taken from the case timeline, and the referrals the county share needs.

The timeline (`consultation_case_events`) is aggregated in the database: a case's submission,
its first response, the first response after its latest (re)submission and its signature come back
as one row per case. Durations and percentiles are computed in Python from those rows, because
neither date arithmetic nor percentiles are written the same way on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, case, func, or_, select, true, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.consultations.lifecycle import Action
from carebridge.consultations.models import CaseEvent, ConsultationCase
from carebridge.db import UTCDateTime
from carebridge.network.models import Facility
from carebridge.referrals.models import Referral

# The receiving side's first move on a submission: it has been looked at and answered.
RESPONSES = (Action.triage.value, Action.accept.value, Action.decline.value, Action.return_for_information.value)
SUBMISSIONS = (Action.submit.value, Action.resubmit.value)


@dataclass(frozen=True)
class CaseFacts:
    id: int
    patient_id: int  # only to match referrals; never leaves the service
    urgency: str
    state: str
    requesting_facility_id: int
    target_facility_id: int | None
    specialty_department_id: int | None
    submitted_at: dt.datetime
    last_submitted_at: dt.datetime
    first_response_at: dt.datetime | None
    latest_response_at: dt.datetime | None  # first response after the latest (re)submission
    signed_at: dt.datetime | None
    due_at: dt.datetime | None
    closed_at: dt.datetime | None


def case_scope(facility_ids: frozenset[int] | None) -> ColumnElement[bool]:
    """A case belongs to a facility that asked or that was asked."""
    if facility_ids is None:
        return true()
    return or_(ConsultationCase.requesting_facility_id.in_(facility_ids),
               ConsultationCase.target_facility_id.in_(facility_ids))


def submitted_in(since: dt.datetime, until: dt.datetime) -> Select:
    """Cases submitted in [since, until): `submit` happens once per case (a return leads to `resubmit`)."""
    return (select(CaseEvent.case_id, func.min(CaseEvent.at).label("submitted_at"))
            .where(CaseEvent.action == Action.submit.value, CaseEvent.at >= since, CaseEvent.at < until)
            .group_by(CaseEvent.case_id))


def _facts_query(since: dt.datetime, until: dt.datetime, facility_ids: frozenset[int] | None,
                 urgency: str | None) -> Select:
    c = ConsultationCase
    period = submitted_in(since, until).subquery("period")
    # Only returned cases are resubmitted, and never before the period starts: both filters use the
    # (action, at) index, so neither subquery reads the whole timeline table.
    again = (select(CaseEvent.case_id, func.max(CaseEvent.at).label("at"))
             .where(CaseEvent.action == Action.resubmit.value, CaseEvent.at >= since)
             .group_by(CaseEvent.case_id).subquery("again"))
    last = func.coalesce(again.c.at, period.c.submitted_at)
    e = CaseEvent.__table__.alias("e")
    response = e.c.action.in_(RESPONSES)
    query = (
        select(c.id, c.patient_id, c.urgency, c.state, c.requesting_facility_id, c.target_facility_id,
               c.specialty_department_id, period.c.submitted_at, type_coerce(last, UTCDateTime).label(
                   "last_submitted_at"),
               func.min(case((response, e.c.at))).label("first_response_at"),
               func.min(case((response & (e.c.at >= last), e.c.at))).label("latest_response_at"),
               func.min(case((e.c.action == Action.sign_opinion.value, e.c.at))).label("signed_at"),
               c.due_at, c.closed_at)
        .join(period, period.c.case_id == c.id).outerjoin(again, again.c.case_id == c.id)
        .join(e, e.c.case_id == c.id)
        .where(case_scope(facility_ids))
        .group_by(c.id, c.patient_id, c.urgency, c.state, c.requesting_facility_id, c.target_facility_id,
                  c.specialty_department_id, period.c.submitted_at, again.c.at, c.due_at, c.closed_at))
    if urgency is not None:
        query = query.where(c.urgency == urgency)
    return query


async def case_facts(session: AsyncSession, since: dt.datetime, until: dt.datetime,
                     facility_ids: frozenset[int] | None, urgency: str | None) -> list[CaseFacts]:
    rows = (await session.execute(_facts_query(since, until, facility_ids, urgency))).all()
    return [CaseFacts(*row) for row in rows]  # positional: the columns are selected in field order


@dataclass(frozen=True)
class ReferralFacts:
    id: int
    patient_id: int
    direction: str
    state: str
    from_facility_id: int
    to_facility_id: int
    created_at: dt.datetime


_REFERRAL_COLUMNS = (Referral.id, Referral.patient_id, Referral.direction, Referral.state,
                     Referral.from_facility_id, Referral.to_facility_id, Referral.created_at)


async def referrals_in(session: AsyncSession, since: dt.datetime, until: dt.datetime,
                       facility_ids: frozenset[int] | None) -> list[ReferralFacts]:
    """Referrals made in the period that one of the facilities sent or received."""
    query = select(*_REFERRAL_COLUMNS).where(Referral.created_at >= since, Referral.created_at < until)
    if facility_ids is not None:
        query = query.where(or_(Referral.from_facility_id.in_(facility_ids),
                                Referral.to_facility_id.in_(facility_ids)))
    return [ReferralFacts(*r) for r in (await session.execute(query)).all()]


async def referrals_above(session: AsyncSession, tiers: list[str], since: dt.datetime,
                          until: dt.datetime) -> list[ReferralFacts]:
    """Up-referrals to the given tiers made in [since, until). Few enough (the network's goal is
    that nine in ten cases stay below) to match to the cases' patients in Python."""
    query = (select(*_REFERRAL_COLUMNS).join(Facility, Facility.id == Referral.to_facility_id)
             .where(Referral.direction == "up", Facility.tier.in_(tiers), Referral.created_at >= since,
                    Referral.created_at < until))
    return [ReferralFacts(*r) for r in (await session.execute(query)).all()]


async def facility_info(session: AsyncSession, ids: set[int]) -> dict[int, tuple[str, str, str]]:
    """id -> (name, English name, tier)."""
    if not ids:
        return {}
    rows = await session.execute(select(Facility.id, Facility.name, Facility.name_en, Facility.tier)
                                 .where(Facility.id.in_(ids)))
    return {fid: (name, name_en or name, tier) for fid, name, name_en, tier in rows.all()}
