"""The case chat: text and files (images, PDF) shared into the case by its participants.

Messages are saved, then announced to the case's video room after commit, so nobody sees a
message that was not kept. Files go to the content-addressed blob store; their type is decided by
their bytes (records.documents.check_upload), never by their name or declared type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.consultations.lifecycle import TERMINAL, Actor, State
from carebridge.consultations.models import ConsultationCase
from carebridge.consultations.room import access_room_case, room_id_of
from carebridge.consultations.room_models import ConsultationMessage
from carebridge.errors import Conflict, InvalidInput, NotFound, UnsupportedMediaType
from carebridge.kit.blobs import BlobStore
from carebridge.kit.events import after_commit
from carebridge.kit.i18n import N_
from carebridge.realtime.hub import Hub
from carebridge.records.documents import EXTENSIONS, INLINE_TYPES, check_upload, clean_filename

TEXT_MAX = 4000
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = frozenset(INLINE_TYPES)  # PDF, JPEG, PNG: what every browser shows inline
PAGE_MAX = 500


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    declared_type: str = ""


def check_attachment(upload: Upload) -> str:
    media_type = check_upload(upload.data, upload.filename, upload.declared_type, ATTACHMENT_MAX_BYTES)
    if media_type not in ATTACHMENT_TYPES:  # DICOM belongs in the record's imaging, not in a chat
        raise UnsupportedMediaType(N_("only images (JPEG, PNG) and PDF files can be shared in the chat"),
                                   details={"accepted": sorted(ATTACHMENT_TYPES), "detected": media_type})
    return media_type


def _check_open(case: ConsultationCase) -> None:
    if case.state == State.draft.value or case.state in TERMINAL:
        raise Conflict(N_("this consultation's chat is closed"), code="chat_closed", details={"state": case.state})


def _facility(case: ConsultationCase, parts: frozenset[Actor]) -> int | None:
    return case.requesting_facility_id if Actor.requester in parts else case.target_facility_id


def message_payload(message: ConsultationMessage) -> dict[str, Any]:
    """The message as the API and the room show it (JSON-ready)."""
    attachment = None
    if message.attachment_digest:
        attachment = {"name": message.attachment_name, "media_type": message.attachment_type,
                      "size": message.attachment_size,
                      "url": f"/api/v1/consultations/{message.case_id}/messages/{message.id}/attachment"}
    return {"id": message.id, "case_id": message.case_id, "author_user_id": message.author_user_id,
            "author_name": message.author_name, "text": message.text,
            "created_at": message.created_at.isoformat(), "attachment": attachment}


async def post_message(session: AsyncSession, principal: Principal, case_id: int, text: str, *,
                       upload: Upload | None = None, blobs: BlobStore | None = None,
                       hub: Hub | None = None) -> ConsultationMessage:
    case, parts = await access_room_case(session, principal, case_id, action="consultation_message")
    _check_open(case)
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        raise InvalidInput(N_("the message is too long (at most 4000 characters)"), details={"field": "text"})
    if not text and upload is None:
        raise InvalidInput(N_("write a message or attach a file"), details={"field": "text"})
    message = ConsultationMessage(case_id=case.id, author_user_id=principal.user_id,
                                  author_name=principal.display_name[:200], text=text)
    if upload is not None:
        media_type = check_attachment(upload)
        # Blob before row: a rolled-back request leaves at most an unreferenced file, never a
        # message pointing at nothing.
        message.attachment_digest = await blobs.put(upload.data)
        message.attachment_name = clean_filename(upload.filename, media_type)
        message.attachment_type, message.attachment_size = media_type, len(upload.data)
    session.add(message)
    await session.flush()
    facility = _facility(case, parts)
    await audit.append(session, audit.Entry(
        action="consultation_message", outcome="success", actor=principal.actor(facility),
        patient_id=case.patient_id, resource_type="ConsultationMessage", resource_id=message.id,
        purpose=Purpose.consultation.value, facility_id=facility,
        detail={"case": case.id, "attachment": message.attachment_type}))
    if hub is not None:
        payload = {"type": "message", "message": message_payload(message)}
        after_commit(session, lambda: hub.publish(room_id_of(case.id), payload))
    return message


async def list_messages(session: AsyncSession, principal: Principal, case_id: int, *, after: int = 0,
                        limit: int = 200) -> list[ConsultationMessage]:
    """Oldest first. With `after` (a client catching up after a reconnect) the messages that follow
    it; without, the latest `limit`. The read is audited by the access check."""
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput(N_("limit must be between 1 and 500"), details={"field": "limit"})
    case, _ = await access_room_case(session, principal, case_id, action="consultation_chat_read")
    query = select(ConsultationMessage).where(ConsultationMessage.case_id == case.id)
    if after:
        query = query.where(ConsultationMessage.id > after).order_by(ConsultationMessage.id)
        return list((await session.scalars(query.limit(limit))).all())
    latest = (await session.scalars(query.order_by(ConsultationMessage.id.desc()).limit(limit))).all()
    return list(reversed(latest))


async def open_attachment(session: AsyncSession, principal: Principal, case_id: int,
                          message_id: int) -> ConsultationMessage:
    """The message whose file a participant downloads; the download is audited as an export."""
    case, parts = await access_room_case(session, principal, case_id, action="export")
    message = await session.get(ConsultationMessage, message_id)
    if message is None or message.case_id != case.id or not message.attachment_digest:
        raise NotFound(N_("attachment not found"))
    facility = _facility(case, parts)
    await audit.append(session, audit.Entry(
        action="export", outcome="success", actor=principal.actor(facility), patient_id=case.patient_id,
        resource_type="ConsultationMessage", resource_id=message.id, purpose=Purpose.consultation.value,
        facility_id=facility, detail={"case": case.id, "media_type": message.attachment_type}))
    return message


def attachment_name(message: ConsultationMessage) -> str:
    return message.attachment_name or "attachment" + min(EXTENSIONS[message.attachment_type])
