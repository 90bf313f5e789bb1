"""A referral started from a signed opinion in one step, prefilled from what the expert advised.

Up: to the consulting facility, coded reason `specialist_needed`, the opinion as clinical summary.
Down: to a lower-tier facility the requester names, reason `follow_up`, the treatment plan and
recommendations as the plan for the local doctor, the opinion's follow-up interval.

Only the requesting doctor starts it: a referral grants the receiving facility the whole record and
registers the patient there, which is the record-holding facility's decision (`refer_patient`
checks write access), not the consulting expert's; the expert advises it in the opinion."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.consultations import service
from carebridge.consultations.lifecycle import Actor
from carebridge.consultations.models import CaseEvent
from carebridge.consultations.opinion import opinion_of
from carebridge.consultations.opinion_content import ReferralAdvice
from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.referrals import service as referrals
from carebridge.referrals.models import Referral

TEXT_MAX = referrals.TEXT_MAX
DEFAULT_REASON = {ReferralAdvice.refer_up.value: "specialist_needed", ReferralAdvice.refer_down.value: "follow_up"}
DEFAULT_FOLLOW_UP_DAYS = 30


@dataclass(frozen=True)
class ReferralChoice:
    """What the requester may change before sending; everything else comes from the opinion."""

    to_facility_id: int | None = None
    reason: str | None = None


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_MAX else text[:TEXT_MAX - 1] + "…"


def _summary(case_id: int, opinion) -> str:  # noqa: ANN001 - a ConsultationOpinion
    diagnoses = "; ".join(f"{d['code']} {d['display']}" for d in opinion.diagnoses or [])
    parts = [f"Consultation #{case_id}", opinion.assessment, diagnoses, opinion.recommendations,
             opinion.referral_note]
    return _clip("\n".join(p for p in parts if p))


async def start_referral(session: AsyncSession, principal: Principal, case_id: int,
                         choice: ReferralChoice = ReferralChoice()) -> Referral:  # noqa: B008 - frozen
    case, parts = await service._load(session, principal, case_id)
    if Actor.requester not in parts:
        raise Forbidden(N_("the requesting doctor starts the referral"), code="not_your_move")
    opinion = await opinion_of(session, case.id)
    if opinion is None or opinion.signed_at is None:
        raise Conflict(N_("a referral starts from a signed opinion"), code="not_signed")
    if opinion.referral_advice not in DEFAULT_REASON:
        raise Conflict(N_("the opinion does not advise a referral"), code="no_referral_advised")
    if opinion.referral_id is not None:
        raise Conflict(N_("a referral was already started from this opinion"), code="referral_started",
                       details={"referral_id": opinion.referral_id})
    up = opinion.referral_advice == ReferralAdvice.refer_up.value
    target = choice.to_facility_id or (case.target_facility_id if up else None)
    if target is None:
        raise InvalidInput(N_("choose the facility to refer the patient to"), details={"field": "to_facility_id"})
    await _check_direction(session, case.requesting_facility_id, target, up)
    plan = "" if up else _clip("\n".join(p for p in (opinion.treatment_plan, opinion.recommendations) if p))
    reason = choice.reason or DEFAULT_REASON[opinion.referral_advice]
    referral = await referrals.refer_patient(session, principal, referrals.ReferralInput(
        patient_id=case.patient_id, to_facility_id=target, reason=reason,
        summary=_summary(case.id, opinion), plan=plan,
        follow_up_days=None if up else (opinion.follow_up_days or DEFAULT_FOLLOW_UP_DAYS)))
    opinion.referral_id = referral.id
    session.add(CaseEvent(case_id=case.id, actor_user_id=principal.user_id, actor_part=Actor.requester.value,
                          action="start_referral", from_state=case.state, to_state=case.state,
                          note=f"#{referral.id}"))
    await session.flush()
    return referral


async def _check_direction(session: AsyncSession, from_id: int, to_id: int, up: bool) -> None:
    here, there = await session.get(Facility, from_id), await session.get(Facility, to_id)
    if there is None or not there.active:
        raise InvalidInput(N_("the receiving facility does not exist"), details={"field": "to_facility_id"})
    if (there.level > here.level) != up:
        raise InvalidInput(N_("the facility is not in the direction the opinion advises"),
                           details={"field": "to_facility_id", "advice": "refer_up" if up else "refer_down"})
