"""The home-nursing order's core: who may see an order and in which parts, and the one lifecycle move
every use case goes through (versioned conditional UPDATE, timeline event, audit row).

Who sees an order, and who is told "not found" (the same 404 as a missing order):
- the patient, or a family member acting for them: decided by `access_patient` (self or proxy);
- the facility's coordinators (its administrators): every order of their facility;
- a nurse: only orders offered or assigned to them, and, when the nurse holds the home-care assessor
  credential at the facility, orders waiting for the risk assessment and those they assessed.
Staff reads are audited here (administrators do not read records, so they are not `access_patient`
reads); a nurse reading or writing the record goes through `access_patient` in the use case."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import PatientAccess, access_patient, record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.home_nursing import lifecycle
from carebridge.portal.home_nursing.lifecycle import NEEDS_REASON, TERMINAL, Action, Party, State
from carebridge.portal.home_nursing.models import NursingAssessment, NursingEvent, NursingOffer, NursingOrder
from carebridge.portal.home_nursing.nurses import is_assessor

PATIENT_BASES = frozenset({"self", "proxy"})
PARTY_ORDER = (Party.patient, Party.nurse, Party.offered, Party.assessor, Party.coordinator, Party.system)
REASON_MIN, REASON_MAX = 3, 500
RESOURCE = "NursingOrder"


@dataclass
class OrderAccess:
    order: NursingOrder
    parties: set[Party]
    patient_access: PatientAccess | None = None  # set when the caller is the patient or their proxy

    @property
    def actions(self) -> list[Action]:
        return lifecycle.actions_for(self.order.state, self.parties)


async def _staff_parties(session: AsyncSession, principal: Principal, order: NursingOrder) -> set[Party]:
    parties: set[Party] = set()
    facility = order.facility_id
    if principal.has_role(Role.facility_admin, facility):
        parties.add(Party.coordinator)
    if not principal.has_role(Role.nurse, facility):
        return parties
    if order.nurse_user_id == principal.user_id:
        parties.add(Party.nurse)
    if order.state == State.dispatched and await session.scalar(select(NursingOffer.id).where(
            NursingOffer.order_id == order.id, NursingOffer.nurse_user_id == principal.user_id,
            NursingOffer.state == "open")):
        parties.add(Party.offered)
    if await is_assessor(session, principal, facility):
        assessed_by = await session.scalar(select(NursingAssessment.nurse_user_id).where(
            NursingAssessment.order_id == order.id))
        if order.state == State.requested or assessed_by == principal.user_id:
            parties.add(Party.assessor)
    return parties


async def _nurse_was_offered(session: AsyncSession, principal: Principal, order: NursingOrder) -> bool:
    """A nurse who was offered the visit still sees how it ended (declined, taken by another)."""
    return bool(await session.scalar(select(NursingOffer.id).where(
        NursingOffer.order_id == order.id, NursingOffer.nurse_user_id == principal.user_id).limit(1)))


async def access_order(session: AsyncSession, principal: Principal, order_id: int, *, action: str = "read",
                       for_update: bool = False) -> OrderAccess:
    order = await session.get(NursingOrder, order_id, with_for_update=for_update)
    if order is None:
        _deny(session, principal, None, order_id, action)
    parties = await _staff_parties(session, principal, order)
    seen_as_staff = bool(parties) or (principal.has_role(Role.nurse, order.facility_id)
                                      and await _nurse_was_offered(session, principal, order))
    if seen_as_staff:
        await audit_order(session, principal, order, action, sorted(p.value for p in parties))
        return OrderAccess(order, parties)
    if principal.patient_id is None and not principal.has_role(Role.patient):
        _deny(session, principal, order.patient_id, order_id, action)
    # A patient (or a family proxy): the access layer decides, audits, and refuses with the same 404.
    access = await access_patient(session, principal, order.patient_id, purpose=Purpose.patient_self,
                                  action=f"nursing_{action}"[:32], resource_type=RESOURCE, resource_id=order.id)
    if access.basis not in PATIENT_BASES:
        _deny(session, principal, order.patient_id, order_id, action)
    # A read-only family permission sees it but takes no step.
    return OrderAccess(order, {Party.patient} if access.may_act else set(), access)


def _deny(session: AsyncSession, principal: Principal, patient_id: int | None, order_id: int, action: str) -> None:
    record_denial(session, principal, patient_id, action=f"nursing_{action}"[:32], resource_type=RESOURCE,
                  resource_id=order_id, purpose=Purpose.treatment.value)
    raise NotFound(N_("home-nursing order not found"))


async def audit_order(session: AsyncSession, principal: Principal | None, order: NursingOrder, action: str,
                      parties: list[str] | None = None, **detail: object) -> None:
    actor = principal.actor(order.facility_id) if principal else audit.Actor(name="carebridge home nursing")
    await audit.append(session, audit.Entry(
        action=f"nursing_{action}"[:32], outcome="success", actor=actor, patient_id=order.patient_id,
        resource_type=RESOURCE, resource_id=order.id, purpose=Purpose.treatment.value, facility_id=order.facility_id,
        detail={"state": order.state, **({"parties": parties} if parties else {}), **detail}))


def check_reason(action: Action, reason: str) -> str:
    reason = (reason or "").strip()
    if action in NEEDS_REASON and not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InvalidInput(N_("give a reason (3 to 500 characters)"), details={"field": "reason"})
    return reason[:REASON_MAX]


def acting_party(action: Action, state: str, parties: set[Party]) -> Party:
    """The part the caller plays in this move (the lifecycle raises 409/403 when there is none)."""
    allowed = lifecycle.LIFECYCLE.lookup(state, action).by
    return next((p for p in PARTY_ORDER if p in parties and p in allowed), next(iter(sorted(parties)), Party.system))


@dataclass(frozen=True)
class Where:
    """Where the nurse was when they acted (check-in and check-out)."""

    latitude: float
    longitude: float
    distance_m: int


async def move(session: AsyncSession, principal: Principal | None, order: NursingOrder, action: Action,
               parties: set[Party], *, note: str = "", extra: dict | None = None,
               where: Where | None = None) -> NursingOrder:
    """One lifecycle move. The UPDATE applies only to the version this caller read, so of two people
    acting at once exactly one wins; the other gets 409 and reloads. `extra`: more columns set in the
    same versioned UPDATE (the nurse who accepted, the check-in time)."""
    from_state, read_version = order.state, order.version
    to = lifecycle.next_state(from_state, action, parties)
    party = acting_party(action, from_state, parties)
    note = check_reason(action, note)
    now = utcnow()
    changes = {"state": to.value, "updated_at": now, **(extra or {})}
    if action in NEEDS_REASON or action == Action.refuse:
        changes["state_reason"] = note
    if to in TERMINAL:
        changes["ended_at"] = now
    done = await session.execute(
        update(NursingOrder).where(NursingOrder.id == order.id, NursingOrder.version == read_version)
        .values(version=NursingOrder.version + 1, **changes).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(N_("someone else changed this home-nursing order first; reload it and try again"),
                       code="stale_order")
    await session.refresh(order)
    await add_event(session, principal, order, action.value, party, from_state=from_state, note=note, where=where)
    await audit_order(session, principal, order, action.value, [party.value], from_state=from_state,
                      **({"distance_m": where.distance_m} if where else {}))
    return order


async def add_event(session: AsyncSession, principal: Principal | None, order: NursingOrder, action: str,
                    party: Party, *, from_state: str = "", note: str = "", where: Where | None = None) -> NursingEvent:
    event = NursingEvent(order_id=order.id, action=action, from_state=from_state or order.state,
                         to_state=order.state, actor_user_id=principal.user_id if principal else None,
                         party=party.value, note=note[:500], latitude=where.latitude if where else None,
                         longitude=where.longitude if where else None, distance_m=where.distance_m if where else None)
    session.add(event)
    await session.flush()
    return event


async def events_of(session: AsyncSession, order_id: int) -> list[NursingEvent]:
    return list((await session.scalars(select(NursingEvent).where(NursingEvent.order_id == order_id)
                                       .order_by(NursingEvent.at, NursingEvent.id))).all())
