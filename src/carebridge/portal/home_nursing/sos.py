"""The nurse's SOS button: an incident the facility must acknowledge. Raising it notifies every
coordinator of the facility at once (in-app with a live push, and by SMS/email where configured)
with where the nurse is; until someone acknowledges it, the timers send it again every
`nursing_sos_reminder_minutes`. It never waits on anything that could fail quietly: no position is
needed (a phone that cannot locate itself still calls for help)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.audit import service as audit
from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.home_nursing import notices
from carebridge.portal.home_nursing.lifecycle import Party, State
from carebridge.portal.home_nursing.models import NursingOrder, NursingSos
from carebridge.portal.home_nursing.nurses import check_position
from carebridge.portal.home_nursing.service import add_event

ACTIVE_VISIT = (State.accepted.value, State.en_route.value, State.checked_in.value)
TITLE = N_("SOS from nurse %(nurse)s")
BODY = N_("Position %(position)s. Open the alert and acknowledge it.")


def sos_link(sos_id: int) -> str:
    return f"/nursing/sos/{sos_id}"


async def _facility_and_order(session: AsyncSession, principal: Principal,
                              order_id: int | None) -> tuple[int, NursingOrder | None]:
    nurse_facilities = principal.facilities_with(Role.nurse)
    if not nurse_facilities:
        raise Forbidden(N_("only nurses can raise an SOS"))
    query = select(NursingOrder).where(NursingOrder.nurse_user_id == principal.user_id)
    query = query.where(NursingOrder.id == order_id) if order_id else query.where(
        NursingOrder.state.in_(ACTIVE_VISIT)).order_by((NursingOrder.state == State.checked_in.value).desc(),
                                                       NursingOrder.window_start)
    order = (await session.scalars(query)).first()
    if order_id and order is None:
        raise NotFound(N_("home-nursing order not found"))
    return (order.facility_id if order else min(nurse_facilities)), order


def _position_text(latitude: float | None, longitude: float | None) -> str:
    return f"{latitude:.5f}, {longitude:.5f}" if latitude is not None and longitude is not None else "?"


async def raise_sos(session: AsyncSession, principal: Principal, *, latitude: float | None = None,
                    longitude: float | None = None, accuracy_m: float | None = None, note: str = "",
                    order_id: int | None = None) -> NursingSos:
    if latitude is not None or longitude is not None:
        check_position(latitude, longitude)
    facility_id, order = await _facility_and_order(session, principal, order_id)
    sos = NursingSos(facility_id=facility_id, nurse_user_id=principal.user_id, order_id=order.id if order else None,
                     latitude=latitude, longitude=longitude, note=note.strip()[:500],
                     accuracy_m=round(accuracy_m) if accuracy_m is not None else None)
    session.add(sos)
    await session.flush()
    if order is not None:
        await add_event(session, principal, order, "sos", Party.nurse, note=sos.note)
    await audit.append(session, audit.Entry(
        action="nursing_sos", outcome="success", actor=principal.actor(facility_id),
        patient_id=order.patient_id if order else None, resource_type="NursingSos", resource_id=sos.id,
        purpose=Purpose.treatment.value, facility_id=facility_id,
        detail={"order_id": sos.order_id, "position": _position_text(latitude, longitude)}))
    await _alert(session, sos, principal.display_name)
    return sos


async def _alert(session: AsyncSession, sos: NursingSos, nurse_name: str) -> None:
    await notices.tell(session, await notices.coordinators(session, sos.facility_id), kind=notices.SOS_KIND,
                       title=TITLE, body=BODY, link=sos_link(sos.id),
                       params={"nurse": nurse_name, "position": _position_text(sos.latitude, sos.longitude)})


async def access_sos(session: AsyncSession, principal: Principal, sos_id: int) -> NursingSos:
    sos = await session.get(NursingSos, sos_id)
    if sos is None or not (principal.has_role(Role.facility_admin, sos.facility_id)
                           or sos.nurse_user_id == principal.user_id):
        raise NotFound(N_("SOS alert not found"))
    return sos


async def acknowledge(session: AsyncSession, principal: Principal, sos_id: int, note: str = "") -> NursingSos:
    sos = await access_sos(session, principal, sos_id)
    if not principal.has_role(Role.facility_admin, sos.facility_id):
        raise Forbidden(N_("the facility's coordinators acknowledge an SOS"))
    done = await session.execute(update(NursingSos).where(NursingSos.id == sos.id, NursingSos.acknowledged_at.is_(None))
                                 .values(acknowledged_at=utcnow(), acknowledged_by_id=principal.user_id,
                                         ack_note=note.strip()[:500]).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(N_("this SOS was already acknowledged"), code="already_acknowledged")
    await session.refresh(sos)
    await audit.append(session, audit.Entry(
        action="nursing_sos_ack", outcome="success", actor=principal.actor(sos.facility_id),
        resource_type="NursingSos", resource_id=sos.id, facility_id=sos.facility_id, detail={"note": sos.ack_note}))
    await notices.tell(session, [sos.nurse_user_id], kind=notices.SOS_KIND, link=sos_link(sos.id),
                       title=N_("Your SOS was acknowledged by %(name)s"), params={"name": principal.display_name})
    return sos


async def open_alerts(session: AsyncSession, principal: Principal, facility_id: int) -> list[NursingSos]:
    if not principal.has_role(Role.facility_admin, facility_id):
        raise NotFound(N_("facility not found"))
    return list((await session.scalars(select(NursingSos).where(
        NursingSos.facility_id == facility_id, NursingSos.acknowledged_at.is_(None))
        .order_by(NursingSos.raised_at.desc()))).all())


async def remind_unacknowledged(session: AsyncSession, now: dt.datetime) -> int:
    """Timer sweep: an SOS still unacknowledged after the reminder interval alerts again (claimed by
    a conditional UPDATE, so each reminder goes out once however many processes sweep)."""
    every = dt.timedelta(minutes=get_settings().nursing_sos_reminder_minutes)
    due = (await session.scalars(select(NursingSos).where(
        NursingSos.acknowledged_at.is_(None), NursingSos.raised_at <= now - every,
        or_(NursingSos.reminded_at.is_(None), NursingSos.reminded_at <= now - every)).limit(50))).all()
    sent = 0
    for sos in due:
        claimed = await session.execute(update(NursingSos).where(
            NursingSos.id == sos.id, NursingSos.acknowledged_at.is_(None),
            or_(NursingSos.reminded_at.is_(None), NursingSos.reminded_at <= now - every))
            .values(reminded_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount == 1:
            nurse = await session.get(User, sos.nurse_user_id)
            await _alert(session, sos, nurse.display_name if nurse else "")
            sent += 1
    return sent
