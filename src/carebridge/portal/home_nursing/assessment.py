"""The mandatory pre-visit risk assessment: a nurse of the facility who holds the home-care assessor
credential reviews the record and the home (usually by phone) and accepts the order, with vital-sign
limits for the visit, or refuses it with a reason the patient reads. Accepting opens the charge."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import access_patient
from carebridge.auth.principal import Principal
from carebridge.errors import Forbidden, InvalidInput
from carebridge.kit.clock import today_local
from carebridge.kit.i18n import N_
from carebridge.portal.home_nursing import billing, notices
from carebridge.portal.home_nursing.catalogue import ASSESSOR
from carebridge.portal.home_nursing.lifecycle import Action, Party
from carebridge.portal.home_nursing.models import NursingAssessment, NursingOrder
from carebridge.portal.home_nursing.nurses import nurses_of
from carebridge.portal.home_nursing.service import access_order, check_reason, move
from carebridge.portal.home_nursing.vitals import check_limits

RISKS = ("low", "medium", "high")
ENVIRONMENTS = ("suitable", "needs_changes", "unsuitable")
OUTCOMES = ("accept", "refuse")
LABELS = {
    "low": N_("Low"), "medium": N_("Medium"), "high": N_("High"),
    "suitable": N_("Suitable"), "needs_changes": N_("Needs changes"), "unsuitable": N_("Unsuitable"),
    "accept": N_("Accept the order"), "refuse": N_("Refuse the order"),
}


@dataclass(frozen=True)
class AssessmentInput:
    fall_risk: str
    infection_risk: str
    home_environment: str
    outcome: str
    home_notes: str = ""
    allergies: str = ""
    limits: dict = field(default_factory=dict)
    reason: str = ""


def _check(data: AssessmentInput) -> None:
    for name, value, allowed in (("fall_risk", data.fall_risk, RISKS), ("infection_risk", data.infection_risk, RISKS),
                                 ("home_environment", data.home_environment, ENVIRONMENTS),
                                 ("outcome", data.outcome, OUTCOMES)):
        if value not in allowed:
            raise InvalidInput(N_("choose one of the listed answers"),
                               details={"field": name, "allowed": list(allowed)})
    if len(data.home_notes) > 500 or len(data.allergies) > 500:
        raise InvalidInput(N_("the text is too long (at most 500 characters)"), details={"field": "home_notes"})


async def assessors_of(session: AsyncSession, facility_id: int) -> list[int]:
    today = today_local()
    return [n.user.id for n in await nurses_of(session, facility_id) if n.holds(ASSESSOR, today)]


async def record_allergies(session: AsyncSession, principal: Principal, order: NursingOrder) -> list[str]:
    """The record's allergies, read through the access layer, to prefill the form."""
    from carebridge.records.service import active_allergies_for

    access = await access_patient(session, principal, order.patient_id, purpose=Purpose.treatment,
                                  action="nursing_assess_read", resource_type="NursingOrder", resource_id=order.id)
    return await active_allergies_for(session, access)


async def assess(session: AsyncSession, principal: Principal, order_id: int, data: AssessmentInput) -> NursingOrder:
    seen = await access_order(session, principal, order_id, action="assess", for_update=True)
    order = seen.order
    if Party.assessor not in seen.parties:
        raise Forbidden(N_("only a nurse with the home-care assessor credential can assess"), code="not_assessor")
    _check(data)
    action = Action.assess if data.outcome == "accept" else Action.refuse
    reason = check_reason(action, data.reason)
    limits = check_limits(data.limits)
    # The assessor must be able to open the record (registration at the facility, made at booking).
    await access_patient(session, principal, order.patient_id, purpose=Purpose.treatment, action="nursing_assess",
                         resource_type="NursingOrder", resource_id=order.id)
    await move(session, principal, order, action, {Party.assessor}, note=reason)
    session.add(NursingAssessment(
        order_id=order.id, nurse_user_id=principal.user_id, fall_risk=data.fall_risk,
        infection_risk=data.infection_risk, home_environment=data.home_environment,
        home_notes=data.home_notes.strip(), allergies=data.allergies.strip(), thresholds=limits,
        outcome=data.outcome, reason=reason))
    await session.flush()
    if action == Action.refuse:
        await notices.tell(session, await notices.patient_users(session, order), order=order,
                           title=N_("Your home-nursing request was refused: %(service)s"),
                           body=N_("Reason: %(reason)s"), params={"reason": reason},
                           link=notices.patient_link(order.id))
        return order
    await billing.open_charge(session, principal, order)
    await notices.tell(session, await notices.patient_users(session, order), order=order,
                       title=N_("Your home-nursing request was accepted: %(service)s"),
                       body=N_("Pay for the visit if asked; a nurse will be assigned."),
                       link=notices.patient_link(order.id))
    await notices.tell(session, await notices.coordinators(session, order.facility_id), order=order,
                       title=N_("Home visit ready to dispatch: %(service)s"),
                       link=notices.staff_link(order.id))
    from carebridge.portal.home_nursing.dispatch import offer_automatically  # dispatch builds on this

    await offer_automatically(session, order)
    return order


async def assessment_of(session: AsyncSession, order_id: int) -> NursingAssessment | None:
    return await session.scalar(select(NursingAssessment).where(NursingAssessment.order_id == order_id))
