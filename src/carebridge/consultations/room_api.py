"""JSON routes of the case's live session under /api/v1: the room token, the chat (with files) and
the attendance record. Importing this module also tells the signalling socket to record
attendance for consultation rooms (realtime.rooms)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from carebridge.consultations import chat, room
from carebridge.realtime import rooms
from carebridge.realtime.api import IceConfigOut, hub_for
from carebridge.realtime.ice import ice_config
from carebridge.records.documents import file_headers
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["consultations"])
rooms.watch_rooms(room.ROOM_PREFIX, room.attendance_watcher)


class RoomTokenOut(BaseModel):
    room: str
    token: str
    expires_in: int = Field(description="seconds; connect to ws_path before then")
    ws_path: str
    case_state: str
    session_started_at: dt.datetime | None
    ice: IceConfigOut


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=chat.TEXT_MAX)]


class AttachmentOut(BaseModel):
    name: str
    media_type: str
    size: int
    url: str


class MessageOut(BaseModel):
    id: int
    case_id: int
    author_user_id: int
    author_name: str
    text: str
    created_at: dt.datetime
    attachment: AttachmentOut | None


class MessageList(BaseModel):
    items: list[MessageOut]


class AttendanceRowOut(BaseModel):
    user_id: int
    display_name: str
    joined_at: dt.datetime
    left_at: dt.datetime | None
    seconds: int


class AttendanceOut(BaseModel):
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    seconds: int
    in_room: list[int] = Field(description="user ids with an open connection to the room now")
    rows: list[AttendanceRowOut]


def _message_out(message) -> MessageOut:  # noqa: ANN001 - a ConsultationMessage
    return MessageOut.model_validate(chat.message_payload(message))


@router.post("/consultations/{case_id}/room/token", response_model=RoomTokenOut)
async def room_token(case_id: int, request: Request, db: Db, principal: CurrentPrincipal) -> RoomTokenOut:
    """Enter the case's video room: a short-lived token for `WS {ws_path}?token=`, and ICE servers.
    Case participants only, while the case is scheduled or in session (409 otherwise). The
    requester or expert entering a scheduled case starts the session (the case moves to in_session)."""
    settings = request.app.state.settings
    granted = await room.join_room(db, principal, case_id, settings)
    ice = ice_config(settings, principal.user_id)
    return RoomTokenOut(room=granted.room_id, token=granted.token, expires_in=granted.expires_in,
                        ws_path=f"/ws/rooms/{granted.room_id}", case_state=granted.case.state,
                        session_started_at=granted.session_started_at,
                        ice=IceConfigOut.model_validate(ice, from_attributes=True))


@router.get("/consultations/{case_id}/messages", response_model=MessageList)
async def list_messages(case_id: int, db: Db, principal: CurrentPrincipal, after: Annotated[int, Query(ge=0)] = 0,
                        limit: Annotated[int, Query(ge=1, le=chat.PAGE_MAX)] = 200) -> MessageList:
    """The case chat, oldest first; `after` (a message id) fetches only what came since."""
    found = await chat.list_messages(db, principal, case_id, after=after, limit=limit)
    return MessageList(items=[_message_out(m) for m in found])


@router.post("/consultations/{case_id}/messages", response_model=MessageOut, status_code=201)
async def post_message(case_id: int, body: MessageIn, request: Request, db: Db,
                       principal: CurrentPrincipal) -> MessageOut:
    """A text message; saved, then pushed live to everyone in the case's room."""
    message = await chat.post_message(db, principal, case_id, body.text, hub=hub_for(request.app))
    return _message_out(message)


@router.post("/consultations/{case_id}/messages/attachments", response_model=MessageOut, status_code=201,
             summary="Share an image (JPEG, PNG) or a PDF into the case chat")
async def post_attachment(case_id: int, request: Request, db: Db, principal: CurrentPrincipal,
                          file: Annotated[UploadFile, File()],
                          text: Annotated[str, Form(max_length=chat.TEXT_MAX)] = "") -> MessageOut:
    data = await file.read(chat.ATTACHMENT_MAX_BYTES + 1)  # one byte over is enough to know it is too big
    upload = chat.Upload(data=data, filename=file.filename or "", declared_type=file.content_type or "")
    message = await chat.post_message(db, principal, case_id, text, upload=upload, blobs=request.app.state.blobs,
                                      hub=hub_for(request.app))
    return _message_out(message)


@router.get("/consultations/{case_id}/messages/{message_id}/attachment", response_class=Response,
            responses={200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}})
async def attachment(case_id: int, message_id: int, request: Request, db: Db,
                     principal: CurrentPrincipal) -> Response:
    message = await chat.open_attachment(db, principal, case_id, message_id)
    data = await request.app.state.blobs.get(message.attachment_digest)
    return Response(data, media_type=message.attachment_type, headers=file_headers(
        chat.attachment_name(message), message.attachment_type, download=False))


@router.get("/consultations/{case_id}/attendance", response_model=AttendanceOut)
async def attendance(case_id: int, db: Db, principal: CurrentPrincipal) -> AttendanceOut:
    """Who joined the case's video room and when, and how long the session has lasted."""
    await room.access_room_case(db, principal, case_id, action="read")
    found = await room.attendance_of(db, case_id)
    return AttendanceOut(started_at=found.started_at, ended_at=found.ended_at, seconds=found.seconds,
                         in_room=sorted({r.user_id for r in found.in_room}),
                         rows=[AttendanceRowOut(user_id=r.user_id, display_name=r.display_name, joined_at=r.joined_at,
                                                left_at=r.left_at, seconds=room.stayed_seconds(r))
                               for r in found.rows])
