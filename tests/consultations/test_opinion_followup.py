"""After signing: acknowledgement starts the outcome follow-up, the reminder goes out exactly once,
the requester records the outcome (and may close), and an opinion advising referral starts one."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from carebridge.auth.models import Role
from carebridge.consultations import opinion, opinion_followup, opinion_referral, service
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.network.models import Tier
from carebridge.notifications.models import Notification
from carebridge.referrals.models import Referral
from tests.consultations.opinion_helpers import DRAFT, sign_opinion
from tests.consultations.test_opinion_service import accepted_case


async def _signed(world, db, net, draft=DRAFT):  # noqa: ANN001, ANN202
    case = await accepted_case(world, db, net)
    await sign_opinion(db, await world.principal(net.county_doctor), case.id, draft=draft)
    return case


async def _reminders(db, user_id: int) -> int:  # noqa: ANN001
    return await db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.kind == "consultation_follow_up"))


async def test_acknowledging_makes_the_follow_up_due_in_30_days(world, db, net):
    case = await _signed(world, db, net)
    before = utcnow()
    await service.take_action(db, await world.principal(net.requester), case.id, "acknowledge")
    due = (await opinion.opinion_of(db, case.id)).follow_up_due_at
    assert before + dt.timedelta(days=30) <= due <= utcnow() + dt.timedelta(days=30)


async def test_the_due_reminder_goes_to_the_requester_exactly_once(world, db, net):
    case = await _signed(world, db, net)
    await service.take_action(db, await world.principal(net.requester), case.id, "acknowledge")
    due = (await opinion.opinion_of(db, case.id)).follow_up_due_at
    assert await opinion_followup.send_due_follow_up_reminders(db, due - dt.timedelta(minutes=1)) == 0
    assert await opinion_followup.send_due_follow_up_reminders(db, due + dt.timedelta(seconds=1)) == 1
    assert await opinion_followup.send_due_follow_up_reminders(db, due + dt.timedelta(days=2)) == 0
    assert await _reminders(db, net.requester.id) == 1
    note = await db.scalar(select(Notification).where(Notification.kind == "consultation_follow_up"))
    assert note.link == f"/consultations/{case.id}#opinion-outcome"


async def test_a_recorded_outcome_needs_no_reminder_and_can_close_the_case(world, db, net):
    case = await _signed(world, db, net)
    requester = await world.principal(net.requester)
    with pytest.raises(Conflict):  # not acknowledged yet
        await opinion_followup.record_outcome(db, requester, case.id, "Better on metoprolol.")
    await service.take_action(db, requester, case.id, "acknowledge")
    with pytest.raises(Forbidden):
        await opinion_followup.record_outcome(db, await world.principal(net.county_doctor), case.id, "Fine.")
    with pytest.raises(InvalidInput):
        await opinion_followup.record_outcome(db, requester, case.id, "")
    recorded = await opinion_followup.record_outcome(db, requester, case.id, "Sinus rhythm, no bleeding.", close=True)
    assert recorded.outcome == "Sinus rhythm, no bleeding." and case.state == "closed"
    later = recorded.follow_up_due_at + dt.timedelta(days=1)
    assert await opinion_followup.send_due_follow_up_reminders(db, later) == 0


async def test_an_up_referral_starts_prefilled_in_one_step(world, db, net):
    draft = dataclasses.replace(DRAFT, referral_advice="refer_up", referral_note="Needs ablation work-up")
    case = await _signed(world, db, net, draft)
    with pytest.raises(Forbidden):  # the record-holding side decides to send the patient
        await opinion_referral.start_referral(db, await world.principal(net.county_doctor), case.id)
    requester = await world.principal(net.requester)
    referral = await opinion_referral.start_referral(db, requester, case.id)
    assert (referral.direction, referral.to_facility_id, referral.reason) == ("up", net.county.id, "specialist_needed")
    assert referral.summary.startswith(f"Consultation #{case.id}") and "I48.9" in referral.summary
    assert "Needs ablation work-up" in referral.summary
    assert (await opinion.opinion_of(db, case.id)).referral_id == referral.id
    with pytest.raises(Conflict) as again:
        await opinion_referral.start_referral(db, requester, case.id)
    assert again.value.details == {"referral_id": referral.id}


async def test_a_down_referral_carries_the_plan_to_a_lower_facility(world, db, net):
    village = await world.facility(tier=Tier.village_clinic)
    draft = dataclasses.replace(DRAFT, referral_advice="refer_down", referral_note="Village doctor follows the INR")
    case = await _signed(world, db, net, draft)
    requester = await world.principal(net.requester)
    with pytest.raises(InvalidInput):
        await opinion_referral.start_referral(db, requester, case.id)  # down: the requester names the place
    with pytest.raises(InvalidInput):
        await opinion_referral.start_referral(db, requester, case.id,
                                              opinion_referral.ReferralChoice(to_facility_id=net.city.id))
    referral = await opinion_referral.start_referral(db, requester, case.id,
                                                     opinion_referral.ReferralChoice(to_facility_id=village.id))
    assert (referral.direction, referral.reason, referral.follow_up_days) == ("down", "follow_up", 28)
    assert referral.plan.startswith("Metoprolol 25 mg")
    assert await db.scalar(select(func.count()).select_from(Referral)) >= 1


async def test_no_referral_when_the_opinion_does_not_advise_one(world, db, net):
    case = await _signed(world, db, net)  # keep_local
    with pytest.raises(Conflict) as refused:
        await opinion_referral.start_referral(db, await world.principal(net.requester), case.id)
    assert refused.value.code == "no_referral_advised"
    nurse = await world.user((Role.nurse, net.township.id))
    with pytest.raises(NotFound):  # not a participant: the case is hidden
        await opinion_referral.start_referral(db, await world.principal(nurse), case.id)
