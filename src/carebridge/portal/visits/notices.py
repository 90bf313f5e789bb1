"""Who is told what about a visit, each in their own language. Notifications may also leave by SMS
and email, so they carry the time and a link, never the condition or the doctor's note.

`notify` writes in the caller's transaction and pushes after commit: a rolled-back move tells nobody."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import User
from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import N_
from carebridge.notifications.service import notify_in_their_language
from carebridge.portal.visits.models import Visit

KIND = "visit"


def patient_link(visit: Visit) -> str:
    return f"/portal/visits/{visit.id}"


def doctor_link(visit: Visit) -> str:
    return f"/visits/{visit.id}"


async def patient_users(session: AsyncSession, visit: Visit) -> set[int]:
    """The patient's own login and whoever booked for them (a family member)."""
    own = set((await session.scalars(select(User.id).where(User.patient_id == visit.patient_id,
                                                           User.is_active))).all())
    return own | {visit.booked_by_id}


async def tell(session: AsyncSession, user_ids: Iterable[int], visit: Visit, *, title: str, body: str,
               link: str) -> None:
    """`title` and `body` are msgids with %(time)s, translated per recipient."""
    params = {"time": visit.starts_at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M"), "visit": visit.id}
    await notify_in_their_language(session, user_ids, kind=KIND, title=title, body=body, params=params, link=link)


async def booked(session: AsyncSession, visit: Visit) -> None:
    await tell(session, [visit.doctor_user_id], visit, title=N_("New online follow-up visit at %(time)s"),
               body=N_("A patient booked one of your online visit slots."), link=doctor_link(visit))
    await tell(session, await patient_users(session, visit), visit,
               title=N_("Your online follow-up visit at %(time)s is booked"),
               body=N_("Enter the waiting room from the visit page shortly before it starts."),
               link=patient_link(visit))


async def reminder(session: AsyncSession, visit: Visit) -> None:
    await tell(session, await patient_users(session, visit), visit,
               title=N_("Reminder: online follow-up visit at %(time)s"),
               body=N_("Check your camera and microphone in the waiting room before the doctor calls you."),
               link=patient_link(visit))


async def patient_waiting(session: AsyncSession, visit: Visit) -> None:
    await tell(session, [visit.doctor_user_id], visit,
               title=N_("Your patient is in the waiting room (visit at %(time)s)"),
               body=N_("Open the visit console to start the visit."), link=doctor_link(visit))


async def cancelled(session: AsyncSession, visit: Visit, *, by_patient: bool) -> None:
    if by_patient:
        await tell(session, [visit.doctor_user_id], visit, title=N_("Online visit at %(time)s cancelled"),
                   body=N_("The patient cancelled; the time is free for others again."), link=doctor_link(visit))
        return
    await tell(session, await patient_users(session, visit), visit,
               title=N_("Your online visit at %(time)s was cancelled"),
               body=N_("Open the visit to read why. Any payment is refunded in full."), link=patient_link(visit))


async def completed(session: AsyncSession, visit: Visit) -> None:
    await tell(session, await patient_users(session, visit), visit,
               title=N_("Your online visit at %(time)s is complete"),
               body=N_("The doctor's note is on the visit page."), link=patient_link(visit))


async def no_show(session: AsyncSession, visit: Visit) -> None:
    await tell(session, await patient_users(session, visit), visit,
               title=N_("You missed your online visit at %(time)s"),
               body=N_("Book a new visit when you are ready."), link=patient_link(visit))
