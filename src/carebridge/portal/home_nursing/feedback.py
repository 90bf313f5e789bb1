"""After the visit: the patient rates it (1-5, which completes the order) and may complain about any
order; the complaint goes to the facility's coordinators, who answer it. Both are audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.home_nursing import notices
from carebridge.portal.home_nursing.lifecycle import Action, Party
from carebridge.portal.home_nursing.models import NursingComplaint, NursingOrder
from carebridge.portal.home_nursing.service import access_order, add_event, move

TEXT_MIN, TEXT_MAX, COMMENT_MAX = 5, 1000, 500


async def rate(session: AsyncSession, principal: Principal, order_id: int, stars: int,
               comment: str = "") -> NursingOrder:
    seen = await access_order(session, principal, order_id, action="rate", for_update=True)
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise InvalidInput(N_("give 1 to 5 stars"), details={"field": "stars"})
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(N_("the comment is too long (at most 500 characters)"), details={"field": "comment"})
    order = seen.order
    await move(session, principal, order, Action.rate, seen.parties, note=f"{stars}/5",
               extra={"rating": stars, "rating_comment": comment.strip(), "rated_at": utcnow()})
    await notices.tell(session, [order.nurse_user_id, *await notices.coordinators(session, order.facility_id)],
                       order=order, title=N_("Home visit rated %(stars)s/5: %(service)s"), params={"stars": stars},
                       link=notices.staff_link(order.id))
    return order


async def complain(session: AsyncSession, principal: Principal, order_id: int, text: str) -> NursingComplaint:
    seen = await access_order(session, principal, order_id, action="complain")
    if Party.patient not in seen.parties:
        raise Forbidden(N_("only the patient or their family can complain about an order"))
    text = text.strip()
    if not TEXT_MIN <= len(text) <= TEXT_MAX:
        raise InvalidInput(N_("describe the problem (5 to 1000 characters)"), details={"field": "text"})
    order = seen.order
    complaint = NursingComplaint(order_id=order.id, facility_id=order.facility_id, author_user_id=principal.user_id,
                                 text=text)
    session.add(complaint)
    await session.flush()
    await add_event(session, principal, order, "complain", Party.patient)
    await _audit(session, principal, order, complaint, "nursing_complaint")
    await notices.tell(session, await notices.coordinators(session, order.facility_id), order=order,
                       title=N_("Complaint about a home visit: %(service)s"),
                       body=N_("Answer it on the coordination page."), link=notices.staff_link(order.id))
    return complaint


async def respond(session: AsyncSession, principal: Principal, complaint_id: int, text: str) -> NursingComplaint:
    complaint = await session.get(NursingComplaint, complaint_id, with_for_update=True)
    if complaint is None or not principal.has_role(Role.facility_admin, complaint.facility_id):
        raise NotFound(N_("complaint not found"))
    if complaint.responded_at is not None:
        raise Conflict(N_("this complaint was already answered"), code="already_answered")
    text = text.strip()
    if not TEXT_MIN <= len(text) <= TEXT_MAX:
        raise InvalidInput(N_("write an answer (5 to 1000 characters)"), details={"field": "text"})
    complaint.response, complaint.responded_by_id, complaint.responded_at = text, principal.user_id, utcnow()
    await session.flush()
    order = await session.get(NursingOrder, complaint.order_id)
    await add_event(session, principal, order, "complaint_answered", Party.coordinator)
    await _audit(session, principal, order, complaint, "nursing_complaint_answer")
    await notices.tell(session, await notices.patient_users(session, order), order=order,
                       title=N_("The facility answered your complaint: %(service)s"),
                       link=notices.patient_link(order.id))
    return complaint


async def _audit(session: AsyncSession, principal: Principal, order: NursingOrder, complaint: NursingComplaint,
                 action: str) -> None:
    await audit.append(session, audit.Entry(
        action=action, outcome="success", actor=principal.actor(order.facility_id), patient_id=order.patient_id,
        resource_type="NursingComplaint", resource_id=complaint.id, purpose=Purpose.patient_self.value
        if action == "nursing_complaint" else Purpose.administration.value, facility_id=order.facility_id,
        detail={"order_id": order.id}))


async def complaints_of_order(session: AsyncSession, order_id: int) -> list[NursingComplaint]:
    return list((await session.scalars(select(NursingComplaint).where(NursingComplaint.order_id == order_id)
                                       .order_by(NursingComplaint.id))).all())


async def open_complaints(session: AsyncSession, principal: Principal, facility_id: int) -> list[NursingComplaint]:
    if not principal.has_role(Role.facility_admin, facility_id):
        raise NotFound(N_("facility not found"))
    return list((await session.scalars(select(NursingComplaint).where(
        NursingComplaint.facility_id == facility_id, NursingComplaint.responded_at.is_(None))
        .order_by(NursingComplaint.id))).all())
