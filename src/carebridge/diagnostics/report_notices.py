"""Who is told what when a report moves: the sender when it is signed or amended, the sending
facility's doctors urgently for a critical finding, the signer when it is acknowledged, the second
reader of a double read. Each message is written in the recipient's own language (their saved
locale, else the deployment default) and says no clinical content: notifications also leave by
email and SMS, so they name the order and link to it, and the report is read behind sign-in.

`notify` writes the in-app rows and the outbox in the caller's transaction and pushes only after
commit, so a rolled-back signature tells nobody."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.kit.i18n import N_
from carebridge.notifications.service import notify_in_their_language

KIND = "diagnosis_report"
CRITICAL_KIND = "diagnosis_critical"


def order_link(order_id: int) -> str:
    return f"/diagnosis/orders/{order_id}"


async def tell(session: AsyncSession, user_ids: Iterable[int], *, kind: str, title: str, body: str,
               params: dict, link: str) -> None:
    """`title` and `body` are msgids with %(name)s placeholders, translated per recipient."""
    await notify_in_their_language(session, user_ids, kind=kind, title=title, body=body, params=params, link=link)


def _params(order: DiagnosisOrder, signer: str = "") -> dict:
    return {"accession": order.accession_number, "modality": order.modality, "order": order.id, "name": signer}


async def report_signed(session: AsyncSession, order: DiagnosisOrder, kind: str, signer: str) -> None:
    title = (N_("Preliminary report for %(modality)s order %(accession)s") if kind == "preliminary"
             else N_("Report signed for %(modality)s order %(accession)s"))
    await tell(session, [order.requesting_user_id], kind=KIND, title=title,
               body=N_("Signed by %(name)s. Open the order to read it."), params=_params(order, signer),
               link=order_link(order.id))


async def addendum_added(session: AsyncSession, order: DiagnosisOrder, author: str) -> None:
    await tell(session, [order.requesting_user_id], kind=KIND,
               title=N_("Addendum to the report of %(modality)s order %(accession)s"),
               body=N_("Written by %(name)s. Open the order to read it."), params=_params(order, author),
               link=order_link(order.id))


async def facility_doctors(session: AsyncSession, facility_id: int) -> list[int]:
    return list((await session.scalars(
        select(RoleAssignment.user_id).join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.facility_id == facility_id, RoleAssignment.role == Role.doctor.value,
               User.is_active))).all())


async def critical_finding(session: AsyncSession, order: DiagnosisOrder, signer: str) -> None:
    """Urgent: the requesting clinician and every doctor of the sending facility, on every configured
    channel, until someone there acknowledges it."""
    users = {order.requesting_user_id, *await facility_doctors(session, order.requesting_facility_id)}
    await tell(session, users, kind=CRITICAL_KIND,
               title=N_("CRITICAL finding on %(modality)s order %(accession)s: acknowledge now"),
               body=N_("%(name)s reported a critical finding. Open the order, read the report and acknowledge it."),
               params=_params(order, signer), link=order_link(order.id))


async def critical_acknowledged(session: AsyncSession, order: DiagnosisOrder, signer_ids: Iterable[int],
                                who: str) -> None:
    await tell(session, signer_ids, kind=KIND,
               title=N_("Critical finding acknowledged on order %(accession)s"),
               body=N_("Acknowledged by %(name)s at the sending facility."), params=_params(order, who),
               link=f"/diagnosis/orders/{order.id}/report")


async def double_read_assigned(session: AsyncSession, order: DiagnosisOrder, user_id: int, double_read_id: int) -> None:
    await tell(session, [user_id], kind="diagnosis_double_read",
               title=N_("Double read for quality: %(modality)s order %(accession)s"),
               body=N_("Read it blind: the first reading shows after you submit yours."), params=_params(order),
               link=f"/diagnosis/qa/{double_read_id}")
