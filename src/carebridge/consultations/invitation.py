"""The session's calendar invitation (RFC 5545). One UID per case, so a calendar program updates the
same event: SEQUENCE grows with every change of time, and a cancelled session is sent as
METHOD:CANCEL. The summary names the case, never the patient: invitations travel through mail
systems and calendars outside the record's protection."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from fastapi.responses import Response
from icalendar import Calendar, Event
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.consultations import service
from carebridge.consultations.models import ConsultationCase
from carebridge.consultations.schedule_models import ConsultationAppointment
from carebridge.consultations.scheduling import appointment_of
from carebridge.errors import NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _

PRODID = "-//CareBridge//Consultations//EN"


def _uid(case_id: int) -> str:
    # Not from the request's host: a UID must not change when the same case is fetched another way.
    host = urlsplit(get_settings().notify_link_base).hostname or "carebridge"
    return f"consultation-{case_id}@{host}"


def build_ics(case: ConsultationCase, appointment: ConsultationAppointment, base_url: str,
              now: dt.datetime | None = None) -> bytes:
    cancelled = appointment.cancelled_at is not None
    base = (get_settings().notify_link_base or base_url).rstrip("/")
    link = f"{base}/consultations/{case.id}"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", _uid(case.id))
    event.add("dtstamp", now or utcnow())
    event.add("dtstart", appointment.starts_at.astimezone(dt.UTC))
    event.add("dtend", appointment.ends_at.astimezone(dt.UTC))
    event.add("sequence", appointment.sequence)
    event.add("summary", _("CareBridge remote consultation #%(id)s") % {"id": case.id})
    event.add("description", _("Join the video session from the case page: %(url)s") % {"url": link})
    event.add("url", link)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


async def invitation(session: AsyncSession, principal: Principal, case_id: int, base_url: str) -> bytes:
    """For anyone who may read the case; 404 until a session has been booked."""
    case, _parts = await service._load(session, principal, case_id)
    appointment = await appointment_of(session, case.id)
    if appointment is None or appointment.starts_at is None:
        raise NotFound(N_("no session has been booked for this case"))
    return build_ics(case, appointment, base_url)


async def invitation_response(session: AsyncSession, principal: Principal, case_id: int, base_url: str) -> Response:
    """The invitation as a download, the same for the page link and the API."""
    body = await invitation(session, principal, case_id, base_url)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="consultation-{case_id}.ics"'})
