"""Pages of the live session: the room (pre-call check, video, the shared case view and the chat)
and the session summary shown on the case page. They call the same services as the JSON API; the
room page's script takes its token from POST /api/v1/consultations/{id}/room/token when the user
presses Join, so opening the page changes nothing."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from carebridge.consultations import chat, room, service
from carebridge.consultations.pages import LABELS
from carebridge.kit.i18n import gettext as _
from carebridge.records.models import EntryKind
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)


def _room_strings() -> dict[str, str]:
    """Words the script shows, translated here so the script carries no language of its own."""
    return {
        "you": _("You"), "connecting": _("Connecting…"), "connected": _("Connected"),
        "reconnecting": _("Connection lost. Reconnecting…"), "left": _("You left the session."),
        "room_full": _("The room is full (at most 6 people)."),
        "refused": _("You cannot join this room: %(reason)s"),
        "mute": _("Mute"), "unmute": _("Unmute"), "camera_off": _("Camera off"), "camera_on": _("Camera on"),
        "share": _("Share screen"), "stop_share": _("Stop sharing"), "audio_only": _("Audio only"),
        "video_on": _("Use video"), "muted": _("Muted"), "sharing": _("Sharing screen"),
        "no_camera": _("No camera found: you join with audio only."),
        "no_media": _("Camera and microphone are not available. Check the browser's permission for this site."),
        "no_screen": _("Screen sharing is not available in this browser."),
        "rtt": _("Server round trip: %(ms)s ms"),
        "ice_ok": _("Network path for video found: %(kinds)s"),
        "ice_none": _("No network path for video was found; the call may fail behind this network."),
        "ice_host": _("direct"), "ice_srflx": _("via public address (STUN)"), "ice_relay": _("via relay (TURN)"),
        "checking": _("Checking…"), "peer_connecting": _("connecting…"), "peer_lost": _("connection lost…"),
        "send_failed": _("The message was not sent: %(reason)s"),
        "in_session": _("In session"),
    }


def _documents(view: service.CaseView) -> list:
    return [e for e in view.shared if e.kind == EntryKind.document.value]


@router.get("/consultations/{case_id}/room")
async def room_page(request: Request, db: Db, principal: CurrentPrincipal, case_id: int) -> Response:
    await room.access_room_case(db, principal, case_id)
    view = await service.access_case(db, principal, case_id)  # audits the read of the patient's data
    messages = await chat.list_messages(db, principal, case_id)
    documents = _documents(view)
    return render(request, "consultations/room.html", {
        "view": view, "case": view.case, "labels": LABELS, "messages": messages, "documents": documents,
        "records": [e for e in view.shared if e not in documents], "open": room.room_is_open(view.case),
        "started_at": await room.session_started_at(db, case_id), "strings": _room_strings(),
        "max_attachment_mb": chat.ATTACHMENT_MAX_BYTES // (1024 * 1024)})


@router.get("/consultations/{case_id}/room/summary")
async def room_summary(request: Request, db: Db, principal: CurrentPrincipal, case_id: int) -> Response:
    """The case page's view of the session: the chat (read only) and who attended, for how long."""
    case, _parts = await room.access_room_case(db, principal, case_id)
    messages = await chat.list_messages(db, principal, case_id)
    return render(request, "consultations/_room_summary.html", {
        "case": case, "messages": messages, "attendance": await room.attendance_of(db, case_id),
        "stayed": room.stayed_seconds, "duration": room.duration_text})
