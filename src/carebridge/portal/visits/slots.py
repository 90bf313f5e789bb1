"""What doctors publish and what patients can book: a series of slots (date range, weekdays, a daily
window in the network's local time, visit length, buffer, daily maximum, cancellation cut-off,
video or text, price in fen), withdrawn as a whole; the doctors offering follow-up visits; the
slots still free."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Forbidden, InvalidInput, NotFound
from carebridge.kit import i18n
from carebridge.kit.clock import local_zone, utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Department, Facility, PracticeSite, Practitioner
from carebridge.portal.visits.models import VisitDay, VisitSeries, VisitSlot

MODES = ("video", "text")
MAX_SLOTS = 3000  # one publication; a quarter of weekdays at 10-minute visits is about 2,900
PRICE_MAX_FEN = 1_000_000  # 10,000 yuan: anything above is a typo


@dataclass(frozen=True)
class SeriesInput:
    facility_id: int
    first_day: dt.date
    last_day: dt.date
    weekdays: tuple[int, ...]  # ISO: 1 = Monday ... 7 = Sunday
    start: str  # "HH:MM", local time
    end: str
    visit_minutes: int
    buffer_minutes: int
    daily_max: int
    cancel_cutoff_hours: int
    mode: str
    price_fen: int
    department_id: int | None = None


def local_day(when: dt.datetime) -> dt.date:
    return when.astimezone(local_zone()).date()


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A local calendar day as a UTC interval."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=local_zone())
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)


def _minutes(text: str, field: str) -> int:
    try:
        hours, minutes = (int(part) for part in text.strip().split(":"))
    except ValueError:
        raise InvalidInput(N_("give the time as HH:MM"), details={"field": field}) from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 24 * 60:
        raise InvalidInput(N_("give the time as HH:MM"), details={"field": field})
    return hours * 60 + minutes


def _check(data: SeriesInput, today: dt.date) -> tuple[int, int]:
    def bad(message: str, field: str) -> InvalidInput:
        return InvalidInput(message, details={"field": field})

    start, end = _minutes(data.start, "start"), _minutes(data.end, "end")
    if data.first_day < today:
        raise bad(N_("the first day is in the past"), "first_day")
    if data.last_day < data.first_day:
        raise bad(N_("the last day is before the first day"), "last_day")
    if (data.last_day - data.first_day).days + 1 > get_settings().visits_publish_max_days:
        raise bad(N_("publish at most three months at a time"), "last_day")
    if not data.weekdays or any(d not in range(1, 8) for d in data.weekdays):
        raise bad(N_("choose at least one weekday"), "weekdays")
    if not 5 <= data.visit_minutes <= 120:
        raise bad(N_("a visit lasts 5 to 120 minutes"), "visit_minutes")
    if not 0 <= data.buffer_minutes <= 60:
        raise bad(N_("the buffer between visits is 0 to 60 minutes"), "buffer_minutes")
    if end - start < data.visit_minutes:
        raise bad(N_("the end time leaves no room for one visit after the start time"), "end")
    if not 1 <= data.daily_max <= 100:
        raise bad(N_("the daily maximum is 1 to 100 visits"), "daily_max")
    if not 0 <= data.cancel_cutoff_hours <= 168:
        raise bad(N_("the cancellation cut-off is 0 to 168 hours before the visit"), "cancel_cutoff_hours")
    if data.mode not in MODES:
        raise bad(N_("a visit is by video or by text"), "mode")
    if not 0 <= data.price_fen <= PRICE_MAX_FEN:
        raise bad(N_("the price must be between 0 and 10,000 yuan"), "price_fen")
    return start, end


def slot_times(data: SeriesInput, start: int, end: int, now: dt.datetime) -> dict[dt.date, list[tuple]]:
    """Per local day, the (start, end) UTC pairs of the series' slots that are still in the future."""
    tz, days = local_zone(), {}
    step = dt.timedelta(minutes=data.visit_minutes + data.buffer_minutes)
    length = dt.timedelta(minutes=data.visit_minutes)
    day = data.first_day
    while day <= data.last_day:
        if day.isoweekday() in data.weekdays:
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
            at, last = midnight + dt.timedelta(minutes=start), midnight + dt.timedelta(minutes=end)
            pairs = []
            while at + length <= last:
                # Wall-clock arithmetic in the zone, then UTC (no DST in China, but the zone is a setting).
                if at.astimezone(dt.UTC) > now:
                    pairs.append((at.astimezone(dt.UTC), (at + length).astimezone(dt.UTC)))
                at += step
            if pairs:
                days[day] = pairs
        day += dt.timedelta(days=1)
    return days


async def _department(session: AsyncSession, user_id: int, facility_id: int, chosen: int | None) -> int | None:
    if chosen is not None:
        if await session.get(Department, chosen) is None:
            raise InvalidInput(N_("no such department"), details={"field": "department_id"})
        return chosen
    row = (await session.execute(
        select(PracticeSite.department_id, Practitioner.specialty_id)
        .select_from(Practitioner)
        .outerjoin(PracticeSite, (PracticeSite.practitioner_id == Practitioner.id)
                   & (PracticeSite.facility_id == facility_id))
        .where(Practitioner.user_id == user_id))).first()
    return (row[0] or row[1]) if row else None


async def _check_no_overlap(session: AsyncSession, doctor_user_id: int, pairs: list[tuple]) -> None:
    """A doctor is in one visit at a time, whichever facility published it."""
    first, last = pairs[0][0], pairs[-1][1]
    existing = (await session.execute(
        select(VisitSlot.starts_at, VisitSlot.ends_at)
        .where(VisitSlot.doctor_user_id == doctor_user_id, VisitSlot.withdrawn_at.is_(None),
               VisitSlot.starts_at < last, VisitSlot.ends_at > first)
        .order_by(VisitSlot.starts_at))).all()
    starts = [s for s, _ in existing]
    for start, end in pairs:
        i = bisect.bisect_left(starts, end)  # existing slots starting before this one ends
        if i and existing[i - 1][1] > start:
            raise InvalidInput(N_("these times overlap visit slots you have already published"),
                               details={"field": "start", "overlaps": existing[i - 1][0].isoformat()})


async def publish_series(session: AsyncSession, principal: Principal, data: SeriesInput) -> tuple[VisitSeries, int]:
    """A doctor publishes slots at a facility where they work as a doctor. Returns the series and
    how many slots it made."""
    if not principal.has_role(Role.doctor, data.facility_id):
        raise Forbidden(N_("you can publish visit slots only at a facility where you work as a doctor"),
                        code="not_a_doctor_here")
    now = utcnow()
    start, end = _check(data, local_day(now))
    days = slot_times(data, start, end, now)
    pairs = [pair for day in sorted(days) for pair in days[day]]
    if not pairs:
        raise InvalidInput(N_("these dates and weekdays give no future visit times"), details={"field": "weekdays"})
    if len(pairs) > MAX_SLOTS:
        raise InvalidInput(N_("too many slots in one publication: choose fewer days"), details={"field": "last_day"})
    await _check_no_overlap(session, principal.user_id, pairs)
    series = VisitSeries(
        doctor_user_id=principal.user_id, facility_id=data.facility_id,
        department_id=await _department(session, principal.user_id, data.facility_id, data.department_id),
        first_day=data.first_day, last_day=data.last_day, weekdays="".join(str(d) for d in sorted(set(data.weekdays))),
        start_minute=start, end_minute=end, visit_minutes=data.visit_minutes, buffer_minutes=data.buffer_minutes,
        daily_max=data.daily_max, cancel_cutoff_hours=data.cancel_cutoff_hours, mode=data.mode,
        price_fen=data.price_fen)
    session.add(series)
    await session.flush()
    for day in sorted(days):
        counter = VisitDay(series_id=series.id, day=day, capacity=data.daily_max, booked=0)
        session.add(counter)
        await session.flush()
        session.add_all(VisitSlot(series_id=series.id, day_id=counter.id, doctor_user_id=principal.user_id,
                                  facility_id=data.facility_id, starts_at=s, ends_at=e, taken=False)
                        for s, e in days[day])
    await session.flush()
    await audit.append(session, audit.Entry(
        action="visit_slots_publish", outcome="success", actor=principal.actor(data.facility_id),
        resource_type="VisitSeries", resource_id=series.id, facility_id=data.facility_id,
        detail={"slots": len(pairs), "first_day": str(data.first_day), "last_day": str(data.last_day)}))
    return series, len(pairs)


async def withdraw_series(session: AsyncSession, principal: Principal, series_id: int) -> int:
    """Withdraws the series' free future slots; visits already booked stay (the doctor cancels
    those one by one, with a reason the patient reads). Returns how many slots were withdrawn."""
    series = await session.get(VisitSeries, series_id)
    if series is None or series.doctor_user_id != principal.user_id:
        raise NotFound(N_("visit slots not found"))
    now = utcnow()
    series.withdrawn_at = series.withdrawn_at or now
    # `taken = false` in the WHERE: a booking committing at the same moment keeps its slot.
    done = await session.execute(update(VisitSlot).where(
        VisitSlot.series_id == series.id, VisitSlot.taken.is_(False), VisitSlot.withdrawn_at.is_(None),
        VisitSlot.starts_at > now).values(withdrawn_at=now).execution_options(synchronize_session=False))
    await audit.append(session, audit.Entry(
        action="visit_slots_withdraw", outcome="success", actor=principal.actor(series.facility_id),
        resource_type="VisitSeries", resource_id=series.id, facility_id=series.facility_id,
        detail={"slots": done.rowcount}))
    return done.rowcount


@dataclass(frozen=True)
class SeriesView:
    series: VisitSeries
    facility_name: str
    slots: int
    booked: int


async def my_series(session: AsyncSession, principal: Principal) -> list[SeriesView]:
    rows = (await session.execute(
        select(VisitSeries, Facility.name, func.count(VisitSlot.id),
               func.sum(case((VisitSlot.taken.is_(True), 1), else_=0)))
        .join(Facility, Facility.id == VisitSeries.facility_id)
        .outerjoin(VisitSlot, (VisitSlot.series_id == VisitSeries.id) & VisitSlot.withdrawn_at.is_(None))
        .where(VisitSeries.doctor_user_id == principal.user_id)
        .group_by(VisitSeries.id, Facility.name).order_by(VisitSeries.first_day.desc(), VisitSeries.id.desc())
        .limit(100))).all()
    return [SeriesView(s, name, count or 0, int(taken or 0)) for s, name, count, taken in rows]


def _bookable(now: dt.datetime, until: dt.datetime):  # noqa: ANN202 - a SQL condition on slot, series and day
    return and_(VisitSlot.taken.is_(False), VisitSlot.withdrawn_at.is_(None), VisitSeries.withdrawn_at.is_(None),
                VisitSlot.starts_at > now, VisitSlot.starts_at < until, VisitDay.booked < VisitDay.capacity)


def _joined(*columns):  # noqa: ANN001, ANN202
    return (select(*columns).select_from(VisitSlot)
            .join(VisitSeries, VisitSeries.id == VisitSlot.series_id)
            .join(VisitDay, VisitDay.id == VisitSlot.day_id))


@dataclass(frozen=True)
class DoctorOffer:
    doctor_user_id: int
    name: str
    title: str  # Title value, "" without a practitioner profile
    facility_id: int
    facility_name: str
    department_id: int | None
    department_name: str
    next_free: dt.datetime
    free_slots: int
    price_fen: int  # the lowest
    modes: tuple[str, ...]


async def find_doctors(session: AsyncSession, *, department_id: int | None = None, name: str = "",
                       limit: int = 50) -> list[DoctorOffer]:
    """Doctors with a free follow-up slot in the coming booking window, soonest first."""
    now = utcnow()
    until = now + dt.timedelta(days=get_settings().visits_booking_days)
    query = (_joined(VisitSlot.doctor_user_id, VisitSlot.facility_id, VisitSeries.department_id,
                     func.min(VisitSlot.starts_at), func.count(VisitSlot.id), func.min(VisitSeries.price_fen),
                     func.min(VisitSeries.mode), func.max(VisitSeries.mode))
             .join(User, User.id == VisitSlot.doctor_user_id).join(Facility, Facility.id == VisitSlot.facility_id)
             .where(_bookable(now, until), User.is_active)
             .group_by(VisitSlot.doctor_user_id, VisitSlot.facility_id, VisitSeries.department_id))
    if department_id is not None:
        query = query.where(VisitSeries.department_id == department_id)
    if name.strip():
        term = name.strip()[:50]
        query = query.where(or_(User.display_name.icontains(term, autoescape=True),
                                Facility.name.icontains(term, autoescape=True),
                                Facility.name_en.icontains(term, autoescape=True)))
    rows = (await session.execute(query.order_by(func.min(VisitSlot.starts_at)).limit(limit))).all()
    return await _named(session, rows)


async def _named(session: AsyncSession, rows: list) -> list[DoctorOffer]:
    english = i18n.get_locale() == "en"
    users = {r[0] for r in rows}
    people = dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(users)))).all())
    titles = dict((await session.execute(select(Practitioner.user_id, Practitioner.title)
                                          .where(Practitioner.user_id.in_(users)))).all())
    facilities = {fid: (en or zh) if english else zh for fid, zh, en in (await session.execute(
        select(Facility.id, Facility.name, Facility.name_en).where(Facility.id.in_({r[1] for r in rows})))).all()}
    departments = {did: (en or zh) if english else zh for did, zh, en in (await session.execute(
        select(Department.id, Department.name, Department.name_en)
        .where(Department.id.in_({r[2] for r in rows if r[2]})))).all()}
    return [DoctorOffer(doctor, people.get(doctor, ""), titles.get(doctor, ""), facility, facilities.get(facility, ""),
                        dept, departments.get(dept, "") if dept else "", first, count, price,
                        tuple(sorted({low, high})))
            for doctor, facility, dept, first, count, price, low, high in rows]


@dataclass(frozen=True)
class OpenSlot:
    id: int
    facility_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    mode: str
    price_fen: int
    cancel_cutoff_hours: int


async def open_slots(session: AsyncSession, doctor_user_id: int, *, facility_id: int | None = None,
                     limit: int = 500) -> list[OpenSlot]:
    """The doctor's slots a patient can book now: free, not withdrawn, their day not full."""
    now = utcnow()
    until = now + dt.timedelta(days=get_settings().visits_booking_days)
    query = (_joined(VisitSlot.id, VisitSlot.facility_id, VisitSlot.starts_at, VisitSlot.ends_at, VisitSeries.mode,
                     VisitSeries.price_fen, VisitSeries.cancel_cutoff_hours)
             .where(_bookable(now, until), VisitSlot.doctor_user_id == doctor_user_id))
    if facility_id is not None:
        query = query.where(VisitSlot.facility_id == facility_id)
    rows = (await session.execute(query.order_by(VisitSlot.starts_at).limit(limit))).all()
    return [OpenSlot(*row) for row in rows]


async def slot_for_booking(session: AsyncSession, slot_id: int) -> tuple[VisitSlot, VisitSeries]:
    found = (await session.execute(select(VisitSlot, VisitSeries)
                                   .join(VisitSeries, VisitSeries.id == VisitSlot.series_id)
                                   .where(VisitSlot.id == slot_id))).first()
    if found is None:
        raise NotFound(N_("this visit time does not exist"), code="slot_not_found")
    return found[0], found[1]
