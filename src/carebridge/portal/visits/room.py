"""The visit's live session on the realtime machinery the consultations use: a room `visit-<id>`
entered with a short-lived token (realtime.tokens), WebRTC signalling through the hub, and a
persisted chat pushed into the room after commit.

Asking for a token is the move: the patient asking while booked enters the waiting room (check-in,
the doctor is told), the doctor asking while the patient waits starts the visit. The room is open
while the patient waits and while the visit runs; a text visit uses the same room for its chat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.config import Settings
from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.events import after_commit
from carebridge.kit.i18n import N_
from carebridge.portal.visits.lifecycle import ROOM_OPEN, Party, State
from carebridge.portal.visits.models import Visit, VisitMessage
from carebridge.portal.visits.service import access_visit, begin, enter_waiting_room
from carebridge.realtime.hub import Hub
from carebridge.realtime.tokens import room_token_for

ROOM_PREFIX = "visit-"
TEXT_MAX, PAGE_MAX = 4000, 500


def room_id_of(visit_id: int) -> str:
    return f"{ROOM_PREFIX}{visit_id}"


@dataclass(frozen=True)
class RoomPass:
    visit: Visit
    room_id: str
    token: str
    expires_in: int


async def join_room(session: AsyncSession, principal: Principal, visit_id: int, settings: Settings) -> RoomPass:
    found = await access_visit(session, principal, visit_id, action="visit_room_join")
    visit = found.visit
    if Party.patient in found.parties and visit.state == State.booked.value:
        await enter_waiting_room(session, principal, found)
    elif Party.doctor in found.parties and visit.state in (State.booked.value, State.checked_in.value):
        await begin(session, principal, found)
    if not found.parties:  # family with a read-only permission follow the visit, they do not join it
        raise Forbidden(N_("your family permission for this patient is read-only"), code="read_only_permission")
    if visit.state not in ROOM_OPEN:
        raise Conflict(N_("the visit room is open only while the patient waits and during the visit"),
                       code="room_not_open", details={"state": visit.state})
    await audit.append(session, audit.Entry(
        action="visit_room_join", outcome="success", actor=principal.actor(visit.facility_id),
        patient_id=visit.patient_id, resource_type="Visit", resource_id=visit.id, facility_id=visit.facility_id,
        detail={"room": room_id_of(visit.id), "parties": sorted(p.value for p in found.parties),
                "state": visit.state}))
    token = room_token_for(settings, room_id=room_id_of(visit.id), user_id=principal.user_id,
                           display_name=principal.display_name)
    return RoomPass(visit, room_id_of(visit.id), token, settings.realtime_room_token_seconds)


def message_payload(message: VisitMessage) -> dict[str, Any]:
    """The shape the room's chat script shows (shared with the consultation chat)."""
    return {"id": message.id, "visit_id": message.visit_id, "author_user_id": message.author_user_id,
            "author_name": message.author_name, "text": message.text, "created_at": message.created_at.isoformat(),
            "attachment": None}


async def post_message(session: AsyncSession, principal: Principal, visit_id: int, text: str, *,
                       hub: Hub | None = None) -> VisitMessage:
    found = await access_visit(session, principal, visit_id, action="visit_message")
    visit = found.visit
    if visit.state not in ROOM_OPEN:
        raise Conflict(N_("the visit's chat is open only while the patient waits and during the visit"),
                       code="chat_closed", details={"state": visit.state})
    text = (text or "").strip()
    if not 1 <= len(text) <= TEXT_MAX:
        raise InvalidInput(N_("write a message of at most 4000 characters"), details={"field": "text"})
    message = VisitMessage(visit_id=visit.id, author_user_id=principal.user_id,
                           author_name=principal.display_name[:200], text=text)
    session.add(message)
    await session.flush()
    if hub is not None:
        payload = {"type": "message", "message": message_payload(message)}
        after_commit(session, lambda: hub.publish(room_id_of(visit.id), payload))
    return message


async def list_messages(session: AsyncSession, principal: Principal, visit_id: int, *, after: int = 0,
                        limit: int = 200) -> list[VisitMessage]:
    """Oldest first; with `after` only what followed that message (a client catching up)."""
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput(N_("limit must be between 1 and 500"), details={"field": "limit"})
    found = await access_visit(session, principal, visit_id, action="visit_chat_read")
    query = select(VisitMessage).where(VisitMessage.visit_id == found.visit.id)
    if after:
        return list((await session.scalars(query.where(VisitMessage.id > after).order_by(VisitMessage.id)
                                           .limit(limit))).all())
    latest = (await session.scalars(query.order_by(VisitMessage.id.desc()).limit(limit))).all()
    return list(reversed(latest))
