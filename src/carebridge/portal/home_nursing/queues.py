"""The lists staff work from: a nurse's offers, visits and assessments to do; a coordinator's
facility desk. Each list shows only what the caller may open and is itself audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import NotFound
from carebridge.kit.i18n import N_
from carebridge.portal.home_nursing.lifecycle import TERMINAL, State
from carebridge.portal.home_nursing.models import NursingOffer, NursingOrder
from carebridge.portal.home_nursing.nurses import assessor_facilities, is_assessor

ACTIVE_VISIT = (State.accepted.value, State.en_route.value, State.checked_in.value)
ENDED = [s.value for s in TERMINAL]


@dataclass
class NurseBoard:
    offers: list[NursingOrder] = field(default_factory=list)
    visits: list[NursingOrder] = field(default_factory=list)
    done: list[NursingOrder] = field(default_factory=list)
    to_assess: list[NursingOrder] = field(default_factory=list)


async def _audit_list(session: AsyncSession, principal: Principal, what: str, orders: list[NursingOrder],
                      facility_id: int | None = None) -> None:
    await audit.append(session, audit.Entry(
        action=f"nursing_list_{what}"[:32], outcome="success", actor=principal.actor(facility_id),
        resource_type="NursingOrder", purpose=Purpose.treatment.value, facility_id=facility_id,
        detail={"order_ids": [o.id for o in orders][:200]}))


async def nurse_board(session: AsyncSession, principal: Principal) -> NurseBoard:
    board = NurseBoard()
    mine = principal.facilities_with(Role.nurse)
    if not mine:
        return board
    offered = select(NursingOffer.order_id).where(NursingOffer.nurse_user_id == principal.user_id,
                                                  NursingOffer.state == "open")
    board.offers = list((await session.scalars(select(NursingOrder).where(
        NursingOrder.id.in_(offered), NursingOrder.state == State.dispatched.value, NursingOrder.facility_id.in_(mine))
        .order_by(NursingOrder.window_start))).all())
    assigned = select(NursingOrder).where(NursingOrder.nurse_user_id == principal.user_id,
                                          NursingOrder.facility_id.in_(mine))
    board.visits = list((await session.scalars(assigned.where(NursingOrder.state.in_(ACTIVE_VISIT))
                                               .order_by(NursingOrder.window_start))).all())
    board.done = list((await session.scalars(assigned.where(NursingOrder.state.in_(
        [State.checked_out.value, State.completed.value])).order_by(NursingOrder.window_start.desc()).limit(10))).all())
    assessing = [f for f in sorted(assessor_facilities(principal)) if await is_assessor(session, principal, f)]
    if assessing:
        board.to_assess = list((await session.scalars(select(NursingOrder).where(
            NursingOrder.facility_id.in_(assessing), NursingOrder.state == State.requested.value)
            .order_by(NursingOrder.window_start))).all())
    await _audit_list(session, principal, "nurse", [*board.offers, *board.visits, *board.done, *board.to_assess])
    return board


@dataclass
class Desk:
    open: list[NursingOrder]
    ended: list[NursingOrder]


async def coordination_desk(session: AsyncSession, principal: Principal, facility_id: int) -> Desk:
    if not principal.has_role(Role.facility_admin, facility_id):
        raise NotFound(N_("facility not found"))
    base = select(NursingOrder).where(NursingOrder.facility_id == facility_id)
    open_orders = list((await session.scalars(base.where(NursingOrder.state.not_in(ENDED))
                                              .order_by(NursingOrder.window_start).limit(200))).all())
    ended = list((await session.scalars(base.where(NursingOrder.state.in_(ENDED))
                                        .order_by(NursingOrder.updated_at.desc()).limit(30))).all())
    await _audit_list(session, principal, "desk", [*open_orders, *ended], facility_id)
    return Desk(open_orders, ended)


def coordinated_facilities(principal: Principal) -> list[int]:
    return sorted(principal.facilities_with(Role.facility_admin))
