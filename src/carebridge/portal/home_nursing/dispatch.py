"""Dispatch: which nurses may make a visit, ranked; offers; accepting and declining.

A nurse is *qualified* for an order when they have an active home-nursing profile at the facility,
their licence is valid on the day of the visit, they hold the service's credential (valid that
day) and the service's minimum years of practice, and they are within `nursing_max_distance_km`.
They are *available* when their duty roster at the facility leaves room in the visit window for
the visit plus travel, after the visits they already accepted there. Qualified and available
nurses come first, nearest first; distance is the haversine from the nurse's reported position
(while fresh) or base to the patient's pin. Every nurse who is left out says why.

Several nurses may hold an open offer at once; accepting is a versioned move of the order, so of
two nurses accepting at the same moment exactly one gets the visit and the other a 409."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.clock import local_zone, utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility, Practitioner, RosterShift
from carebridge.portal.home_nursing import billing, notices
from carebridge.portal.home_nursing.booking import withdraw_offers
from carebridge.portal.home_nursing.catalogue import credential_label
from carebridge.portal.home_nursing.geo import haversine_m, overlap_minutes
from carebridge.portal.home_nursing.lifecycle import Action, Party, State
from carebridge.portal.home_nursing.models import NursingOffer, NursingOrder
from carebridge.portal.home_nursing.nurses import Nurse, nurses_of
from carebridge.portal.home_nursing.service import access_order, add_event, audit_order, move

BUSY_STATES = (State.accepted.value, State.en_route.value, State.checked_in.value)


@dataclass
class Candidate:
    nurse: Nurse
    distance_m: int | None
    position: str  # current | base | facility | ""
    covered_minutes: int
    free_minutes: int
    problems: list[tuple[str, dict]] = field(default_factory=list)  # (msgid, params): not qualified
    busy: tuple[str, dict] | None = None  # not available, and why
    offer_state: str = ""  # the nurse's latest offer for this order, if any

    @property
    def qualified(self) -> bool:
        return not self.problems

    @property
    def available(self) -> bool:
        return self.busy is None

    @property
    def can_be_offered(self) -> bool:
        return self.qualified and self.offer_state not in ("open", "declined", "expired")


def _position(nurse: Nurse, facility: Facility, now: dt.datetime) -> tuple[float | None, float | None, str]:
    profile = nurse.profile
    fresh = dt.timedelta(minutes=get_settings().nursing_position_fresh_minutes)
    if profile and profile.current_latitude is not None and profile.position_at and now - profile.position_at <= fresh:
        return profile.current_latitude, profile.current_longitude, "current"
    if profile and profile.base_latitude is not None:
        return profile.base_latitude, profile.base_longitude, "base"
    if facility.latitude is not None:
        return facility.latitude, facility.longitude, "facility"
    return None, None, ""


def _problems(nurse: Nurse, order: NursingOrder, day: dt.date, distance_m: int | None) -> list[tuple[str, dict]]:
    profile, problems = nurse.profile, []
    if profile is None or not profile.active:
        return [(N_("No active home-nursing profile"), {})]
    if profile.license_valid_until < day:
        problems.append((N_("Licence valid only until %(date)s"), {"date": profile.license_valid_until.isoformat()}))
    if order.required_credential and not nurse.holds(order.required_credential, day):
        problems.append((N_("Lacks the credential: %(credential)s"),
                         {"credential": credential_label(order.required_credential)}))
    if nurse.years_on(day) < order.min_years:
        problems.append((N_("%(years)s years of practice; this service needs %(min)s"),
                         {"years": nurse.years_on(day), "min": order.min_years}))
    limit_km = get_settings().nursing_max_distance_km
    if distance_m is None:
        problems.append((N_("Position unknown"), {}))
    elif distance_m > limit_km * 1000:
        problems.append((N_("%(km)s km away, beyond %(max)s km"),
                         {"km": round(distance_m / 1000, 1), "max": limit_km}))
    return problems


async def _covered(session: AsyncSession, order: NursingOrder, ids: list[int]) -> dict[int, int]:
    shifts = (await session.scalars(select(RosterShift).where(
        RosterShift.practitioner_id.in_(ids), RosterShift.facility_id == order.facility_id,
        RosterShift.starts_at < order.window_end, RosterShift.ends_at > order.window_start))).all()
    covered: dict[int, int] = {}
    for shift in shifts:
        covered[shift.practitioner_id] = covered.get(shift.practitioner_id, 0) + overlap_minutes(
            shift.starts_at, shift.ends_at, order.window_start, order.window_end)
    return covered


async def _booked(session: AsyncSession, order: NursingOrder, ids: list[int]) -> dict[int, int]:
    """Minutes each nurse has already promised in this window (visit plus travel)."""
    travel = get_settings().nursing_travel_minutes
    rows = (await session.execute(select(NursingOrder.nurse_id, NursingOrder.duration_minutes).where(
        NursingOrder.nurse_id.in_(ids), NursingOrder.id != order.id, NursingOrder.state.in_(BUSY_STATES),
        NursingOrder.window_start < order.window_end, NursingOrder.window_end > order.window_start))).all()
    booked: dict[int, int] = {}
    for nurse_id, minutes in rows:
        booked[nurse_id] = booked.get(nurse_id, 0) + minutes + travel
    return booked


async def _offer_states(session: AsyncSession, order_id: int) -> dict[int, str]:
    rows = (await session.execute(select(NursingOffer.practitioner_id, NursingOffer.state).where(
        NursingOffer.order_id == order_id).order_by(NursingOffer.id))).all()
    return dict(rows)  # the latest offer per nurse wins


async def candidates(session: AsyncSession, order: NursingOrder) -> list[Candidate]:
    now, day = utcnow(), order.window_start.astimezone(local_zone()).date()  # the visit's local day
    facility = await session.get(Facility, order.facility_id)
    nurses = await nurses_of(session, order.facility_id)
    ids = [n.practitioner.id for n in nurses]
    covered, booked = await _covered(session, order, ids), await _booked(session, order, ids)
    offers = await _offer_states(session, order.id)
    need = order.duration_minutes + get_settings().nursing_travel_minutes
    found = []
    for nurse in nurses:
        lat, lon, source = _position(nurse, facility, now)
        distance = round(haversine_m(lat, lon, order.latitude, order.longitude)) if lat is not None else None
        pid = nurse.practitioner.id
        free = covered.get(pid, 0) - booked.get(pid, 0)
        busy = None
        if covered.get(pid, 0) == 0:
            busy = (N_("Not on duty in this window"), {})
        elif free < need:
            busy = (N_("Booked in this window (%(free)s of %(need)s minutes free)"),
                    {"free": max(free, 0), "need": need})
        found.append(Candidate(nurse, distance, source, covered.get(pid, 0), free,
                               _problems(nurse, order, day, distance), busy, offers.get(pid, "")))
    return sorted(found, key=lambda c: (not c.qualified, not c.available, c.distance_m is None,
                                        c.distance_m or 0, c.nurse.user.display_name))


def best(found: list[Candidate]) -> Candidate | None:
    return next((c for c in found if c.can_be_offered and c.available), None)


async def _offer(session: AsyncSession, principal: Principal | None, order: NursingOrder,
                 chosen: list[Candidate]) -> list[NursingOffer]:
    expires = utcnow() + dt.timedelta(minutes=get_settings().nursing_offer_minutes)
    offers = [NursingOffer(order_id=order.id, practitioner_id=c.nurse.practitioner.id, nurse_user_id=c.nurse.user.id,
                           offered_by_id=principal.user_id if principal else None, distance_m=c.distance_m,
                           expires_at=expires) for c in chosen]
    session.add_all(offers)
    await session.flush()
    await notices.tell(session, [c.nurse.user.id for c in chosen], order=order,
                       title=N_("Home visit offered to you: %(service)s"),
                       body=N_("Accept or decline it on your visits page."), link=notices.staff_link(order.id))
    return offers


def _check_settled(order: NursingOrder) -> None:
    if not billing.is_settled(order):
        raise Conflict(N_("the visit is not paid yet; it can be offered to nurses once it is"), code="unpaid")


async def dispatch(session: AsyncSession, principal: Principal, order_id: int,
                   practitioner_ids: list[int] | None = None) -> NursingOrder:
    """The coordinator offers the visit to the named nurses, or to the best one when none is named."""
    seen = await access_order(session, principal, order_id, action="dispatch", for_update=True)
    order = seen.order
    _check_settled(order)
    found = await candidates(session, order)
    if practitioner_ids:
        by_id = {c.nurse.practitioner.id: c for c in found}
        chosen = [by_id.get(pid) for pid in dict.fromkeys(practitioner_ids)]
        if any(c is None or not c.can_be_offered for c in chosen):
            raise InvalidInput(N_("offer the visit only to qualified nurses who have not had it yet"),
                               details={"field": "practitioner_ids"})
    else:
        chosen = [c for c in [best(found)] if c is not None]
        if not chosen:
            raise Conflict(N_("no qualified nurse is free in this window"), code="no_nurse")
    await move(session, principal, order, Action.dispatch, seen.parties,
               note=", ".join(c.nurse.user.display_name for c in chosen))
    await _offer(session, principal, order, chosen)
    return order


async def offer_automatically(session: AsyncSession, order: NursingOrder) -> bool:
    """With automatic dispatch on, the system offers a paid, assessed visit to the best nurse."""
    if not get_settings().nursing_auto_dispatch or not billing.is_settled(order):
        return False
    if order.state not in (State.assessed, State.dispatched):
        return False
    if await session.scalar(select(NursingOffer.id).where(NursingOffer.order_id == order.id,
                                                          NursingOffer.state == "open").limit(1)):
        return False  # someone holds an offer already (e.g. paid at once inside the assessment)
    chosen = best(await candidates(session, order))
    if chosen is None:
        return False
    await move(session, None, order, Action.dispatch, {Party.system}, note=chosen.nurse.user.display_name)
    await _offer(session, None, order, [chosen])
    return True


async def _my_open_offer(session: AsyncSession, principal: Principal, order_id: int) -> NursingOffer | None:
    return await session.scalar(select(NursingOffer).where(
        NursingOffer.order_id == order_id, NursingOffer.nurse_user_id == principal.user_id,
        NursingOffer.state == "open"))


async def _check_free(session: AsyncSession, order: NursingOrder, practitioner_id: int) -> None:
    # Lock the nurse (PostgreSQL) so one nurse accepting two visits at once cannot overbook the
    # window; SQLite transactions already hold the write lock from BEGIN IMMEDIATE.
    await session.execute(select(Practitioner.id).where(Practitioner.id == practitioner_id).with_for_update())
    covered = (await _covered(session, order, [practitioner_id])).get(practitioner_id, 0)
    booked = (await _booked(session, order, [practitioner_id])).get(practitioner_id, 0)
    if covered and covered - booked < order.duration_minutes + get_settings().nursing_travel_minutes:
        raise Conflict(N_("you already have visits filling this window"), code="nurse_busy")


async def accept(session: AsyncSession, principal: Principal, order_id: int) -> NursingOrder:
    seen = await access_order(session, principal, order_id, action="accept")
    order = seen.order
    offer = await _my_open_offer(session, principal, order.id)
    if Party.offered not in seen.parties or offer is None:
        # The order read first may be older than the offers read after it (another nurse's accept
        # committed in between, e.g. while this request waited for the audit chain): look again.
        await session.refresh(order)
        if order.nurse_user_id is not None and order.nurse_user_id != principal.user_id:
            raise Conflict(N_("another nurse has already taken this visit"), code="taken")
        if order.state == State.dispatched:
            raise Forbidden(N_("this visit was not offered to you"), code="not_offered")
        raise Conflict(N_("this visit is no longer offered to you"), code="offer_ended")
    await _check_free(session, order, offer.practitioner_id)
    try:
        await move(session, principal, order, Action.accept, seen.parties,
                   extra={"nurse_id": offer.practitioner_id, "nurse_user_id": principal.user_id})
    except Conflict as lost:  # the other nurse's accept moved the version first
        raise Conflict(N_("another nurse has already taken this visit"), code="taken") from lost
    offer.state, offer.decided_at = "accepted", utcnow()
    others = await withdraw_offers(session, order, "taken")
    await notices.tell(session, await notices.patient_users(session, order), order=order,
                       title=N_("A nurse will visit you: %(service)s"), body=N_("Nurse %(nurse)s accepted the visit."),
                       params={"nurse": principal.display_name}, link=notices.patient_link(order.id))
    await notices.tell(session, [*await notices.coordinators(session, order.facility_id), *others], order=order,
                       title=N_("Home visit accepted: %(service)s"), body=N_("Nurse %(nurse)s accepted the visit."),
                       params={"nurse": principal.display_name}, link=notices.staff_link(order.id))
    return order


async def decline(session: AsyncSession, principal: Principal, order_id: int, reason: str = "") -> NursingOrder:
    seen = await access_order(session, principal, order_id, action="decline", for_update=True)
    order = seen.order
    offer = await _my_open_offer(session, principal, order.id)
    if offer is None:
        raise Conflict(N_("you hold no open offer for this visit"), code="no_offer")
    offer.state, offer.decided_at, offer.reason = "declined", utcnow(), reason.strip()[:500]
    await add_event(session, principal, order, "decline", Party.offered, note=offer.reason)
    await audit_order(session, principal, order, "decline", reason=offer.reason)
    await after_offer_ended(session, order)
    return order


async def after_offer_ended(session: AsyncSession, order: NursingOrder) -> None:
    """When no offer is left open, the next nurse gets it (automatic dispatch) or the coordinator is asked."""
    if order.state != State.dispatched:
        return
    still_open = await session.scalar(select(NursingOffer.id).where(
        NursingOffer.order_id == order.id, NursingOffer.state == "open").limit(1))
    if still_open is not None:
        return
    if await offer_automatically(session, order):
        return
    await move(session, None, order, Action.recall, {Party.system}, note="no open offer")
    await notices.tell(session, await notices.coordinators(session, order.facility_id), order=order,
                       title=N_("No nurse has taken the home visit: %(service)s"),
                       body=N_("Offer it to another nurse."), link=notices.staff_link(order.id))


COORDINATOR_MOVES = (Action.recall, Action.reassign, Action.refuse, Action.close)


async def coordinate(session: AsyncSession, principal: Principal, order_id: int, action: Action,
                     reason: str = "") -> NursingOrder:
    """The coordinator's own moves: take back the offers (recall), release the assigned nurse
    (reassign), refuse the order, or close a visit the patient did not rate."""
    if action not in COORDINATOR_MOVES:
        raise InvalidInput(N_("no such action"), details={"action": action.value})
    seen = await access_order(session, principal, order_id, action=action.value, for_update=True)
    order = seen.order
    nurse = order.nurse_user_id
    await move(session, principal, order, action, seen.parties & {Party.coordinator}, note=reason,
               extra={"nurse_id": None, "nurse_user_id": None} if action == Action.reassign else None)
    released = await withdraw_offers(session, order, action.value)
    if action == Action.refuse:
        order.refund_fen = await billing.refund(session, principal, order, 100, reason=order.state_reason)
    if action in (Action.recall, Action.reassign):
        await notices.tell(session, [*released, nurse], order=order, title=N_("Home visit taken back: %(service)s"),
                           link=notices.staff_link(order.id))
    if action == Action.refuse:
        await notices.tell(session, await notices.patient_users(session, order), order=order,
                           title=N_("Your home-nursing request was refused: %(service)s"),
                           body=N_("Reason: %(reason)s"), params={"reason": order.state_reason},
                           link=notices.patient_link(order.id))
    return order


async def expire_offers(session: AsyncSession, now: dt.datetime) -> int:
    """Timer sweep: offers past their time expire (claimed by a conditional UPDATE, so two server
    processes sweeping at once expire each offer once) and their orders move on."""
    due = list((await session.scalars(select(NursingOffer.id).where(
        NursingOffer.state == "open", NursingOffer.expires_at <= now).order_by(NursingOffer.id).limit(100))).all())
    orders: set[int] = set()
    for offer_id in due:
        claimed = await session.execute(update(NursingOffer).where(
            NursingOffer.id == offer_id, NursingOffer.state == "open").values(state="expired", decided_at=now)
            .returning(NursingOffer.order_id))
        order_id = claimed.scalar()
        if order_id is not None:
            orders.add(order_id)
    for order_id in sorted(orders):
        order = await session.get(NursingOrder, order_id)
        await session.refresh(order)
        await after_offer_ended(session, order)
    return len(orders)
