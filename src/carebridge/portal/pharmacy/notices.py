"""Who is told what: pharmacists of the dispensing facility when a prescription waits for review,
the prescriber when it is returned or a refill is asked for, the patient when a prescription or a
refill is decided. Each message is in the recipient's own language and names no drug or reason:
notifications also leave by SMS and email, and the details are read behind sign-in.

`notify` writes in the caller's transaction and pushes only after commit, so a rolled-back action
tells nobody."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.kit.i18n import N_
from carebridge.notifications.service import notify_in_their_language
from carebridge.portal.pharmacy.models import Prescription, RefillRequest

KIND = "prescription"


async def tell(session: AsyncSession, user_ids: Iterable[int], *, title: str, body: str, params: dict,
               link: str) -> None:
    """`title` and `body` are msgids with %(name)s placeholders, translated per recipient."""
    await notify_in_their_language(session, user_ids, kind=KIND, title=title, body=body, params=params, link=link)


async def staff_with(session: AsyncSession, role: Role, facility_id: int) -> list[int]:
    return list((await session.scalars(
        select(RoleAssignment.user_id).join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.facility_id == facility_id, RoleAssignment.role == role.value, User.is_active)
        .order_by(RoleAssignment.user_id))).all())


async def patient_users(session: AsyncSession, patient_id: int) -> list[int]:
    return list((await session.scalars(select(User.id).where(User.patient_id == patient_id, User.is_active))).all())


async def prescriber_or_colleagues(session: AsyncSession, prescription: Prescription) -> list[int]:
    """The prescriber; if they have left, every doctor of the prescribing facility."""
    active = await session.scalar(select(User.id).where(User.id == prescription.prescriber_id, User.is_active))
    if active is not None:
        return [active]
    return await staff_with(session, Role.doctor, prescription.facility_id)


async def to_review(session: AsyncSession, prescription: Prescription) -> None:
    await tell(session, await staff_with(session, Role.pharmacist, prescription.dispensing_facility_id),
               title=N_("Prescription %(id)s waits for review"), body=N_("Open the review queue to check it."),
               params={"id": prescription.id}, link=f"/pharmacy/review/{prescription.id}")


async def returned(session: AsyncSession, prescription: Prescription) -> None:
    await tell(session, await prescriber_or_colleagues(session, prescription),
               title=N_("Prescription %(id)s was returned by the pharmacist"),
               body=N_("Open it to read the reason and revise it."), params={"id": prescription.id},
               link=f"/prescriptions/{prescription.id}")


async def approved(session: AsyncSession, prescription: Prescription) -> None:
    await tell(session, await patient_users(session, prescription.patient_id),
               title=N_("Your prescription %(id)s was approved"), body=N_("You can now get your medicine."),
               params={"id": prescription.id}, link=f"/portal/prescriptions/{prescription.id}")


async def cancelled(session: AsyncSession, prescription: Prescription) -> None:
    await tell(session, await patient_users(session, prescription.patient_id),
               title=N_("Your prescription %(id)s was cancelled"), body=N_("Open it to read why."),
               params={"id": prescription.id}, link=f"/portal/prescriptions/{prescription.id}")


async def refill_requested(session: AsyncSession, request: RefillRequest, source: Prescription) -> None:
    await tell(session, await prescriber_or_colleagues(session, source),
               title=N_("Refill request for prescription %(id)s"), body=N_("Open it to approve or decline."),
               params={"id": source.id}, link=f"/prescriptions/refills/{request.id}")


async def refill_decided(session: AsyncSession, request: RefillRequest) -> None:
    if request.state == "approved":
        title, body = N_("Your refill request %(id)s was approved"), N_("A pharmacist checks it next.")
    else:
        title, body = N_("Your refill request %(id)s was declined"), N_("Open it to read the doctor's reason.")
    await tell(session, await patient_users(session, request.patient_id), title=title, body=body,
               params={"id": request.id}, link="/portal/prescriptions")
