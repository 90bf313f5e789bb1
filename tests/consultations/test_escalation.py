"""Response-time targets: an unanswered case past due escalates once to the next tier up (which
gets the shared items while the old target loses them) or to the on-call expert, and the breach is
written down and shown."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from carebridge.access.models import AccessGrant
from carebridge.access.service import access_patient
from carebridge.consultations import service
from carebridge.consultations.escalation import sweep_escalations
from carebridge.consultations.models import CaseEvent, ConsultationCase
from carebridge.consultations.schedule_models import ConsultationBreach
from carebridge.consultations.timers import sweep
from carebridge.errors import Forbidden, NotFound
from carebridge.network.models import Department, Tier
from tests.consultations.conftest import _offer
from tests.consultations.timing_world import department_id, practitioner, shift, submitted_case, titles

MINUTE = dt.timedelta(minutes=1)


async def _breaches(db, case_id: int) -> list[ConsultationBreach]:  # noqa: ANN001
    return list((await db.scalars(select(ConsultationBreach).where(ConsultationBreach.case_id == case_id))).all())


async def test_an_urgent_case_unanswered_for_two_hours_goes_up_a_tier_once(world, db, net):
    case = await submitted_case(world, net, db, urgency="urgent")
    due = case.due_at
    assert abs(due - case.updated_at - dt.timedelta(hours=2)) < dt.timedelta(seconds=1)
    assert await sweep_escalations(db, due - MINUTE) == 0

    assert await sweep(db, due + MINUTE) == 1
    await db.refresh(case)
    assert case.target_facility_id == net.city.id and case.state == "triaged"
    assert case.due_at == due + MINUTE + dt.timedelta(hours=2)
    [breach] = await _breaches(db, case.id)
    assert (breach.target_facility_id, breach.escalated_to_facility_id, breach.due_at, breach.urgency) == (
        net.county.id, net.city.id, due, "urgent")
    event = (await db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))).all()[-1]
    assert (event.action, event.actor_part, event.from_state, event.to_state) == ("escalate", "system", "submitted",
                                                                                   "triaged")

    # The city hospital now reads exactly the shared item; the county hospital no longer can.
    city = await world.principal(net.city_doctor)
    view = await service.access_case(db, city, case.id)
    assert [e.id for e in view.shared] == [net.entries[0].id]
    await service.take_action(db, city, case.id, "accept")
    with pytest.raises(NotFound):
        await service.access_case(db, await world.principal(net.county_doctor), case.id)
    grants = (await db.scalars(select(AccessGrant).where(AccessGrant.source_id == case.id,
                                                          AccessGrant.source_type == "consultation"))).all()
    assert {(g.grantee_facility_id, g.revoked_at is None) for g in grants} == {(net.county.id, False),
                                                                                (net.city.id, True)}
    with pytest.raises(NotFound):
        await access_patient(db, await world.principal(net.county_doctor2), net.patient.id, purpose="consultation")

    assert f"consultation #{case.id}: escalated" in await titles(db, net.requester)
    assert f"consultation #{case.id}: escalated" in await titles(db, net.city_doctor)
    assert await sweep(db, due + 2 * MINUTE) == 0  # the same miss is never escalated twice
    assert len(await _breaches(db, case.id)) == 1


async def test_an_emergency_is_due_in_thirty_minutes(world, db, net):
    case = await submitted_case(world, net, db, urgency="emergency")
    assert abs(case.due_at - case.updated_at - dt.timedelta(minutes=30)) < dt.timedelta(seconds=1)
    assert await sweep_escalations(db, case.updated_at + 29 * MINUTE) == 0
    assert await sweep_escalations(db, case.updated_at + 31 * MINUTE) == 1
    await db.refresh(case)
    assert case.target_facility_id == net.city.id


async def test_at_the_top_tier_the_on_call_expert_gets_the_case(world, db, net):
    case = await submitted_case(world, net, db, target_facility_id=net.city.id)
    now = case.due_at + MINUTE
    on_call = await world.user(("doctor", net.city.id))
    await shift(db, await practitioner(db, on_call, net.city), net.city, now - dt.timedelta(hours=1),
                now + dt.timedelta(hours=3))
    await practitioner(db, net.city_doctor, net.city)  # rostered nowhere: not on call

    assert await sweep_escalations(db, now) == 1
    await db.refresh(case)
    assert (case.target_facility_id, case.named_expert_id, case.state) == (net.city.id, on_call.id, "triaged")
    [breach] = await _breaches(db, case.id)
    assert breach.escalated_to_user_id == on_call.id and breach.escalated_to_facility_id is None
    with pytest.raises(Forbidden):
        await service.take_action(db, await world.principal(net.city_doctor), case.id, "accept")
    await service.take_action(db, await world.principal(on_call), case.id, "accept")
    assert f"consultation #{case.id}: escalated" in await titles(db, on_call)


async def test_with_nowhere_to_go_the_miss_is_still_written_once(world, db, net):
    case = await submitted_case(world, net, db, target_facility_id=net.city.id)
    now = case.due_at + MINUTE
    assert await sweep_escalations(db, now) == 1
    assert await sweep_escalations(db, now + 10 * MINUTE) == 0
    await db.refresh(case)
    [breach] = await _breaches(db, case.id)
    assert breach.escalated_to_facility_id is None and breach.escalated_to_user_id is None
    assert case.state == "submitted" and case.target_facility_id == net.city.id
    overdue = await db.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.action == "overdue"))
    assert overdue == 1
    assert f"consultation #{case.id}: overdue" in await titles(db, net.requester)


async def test_answered_and_store_and_forward_accepted_cases_are_left_alone(world, db, net):
    case = await submitted_case(world, net, db, mode="async")
    await service.take_action(db, await world.principal(net.county_admin), case.id, "triage")
    await service.take_action(db, await world.principal(net.county_doctor), case.id, "accept")
    assert await sweep_escalations(db, case.due_at + dt.timedelta(days=2)) == 0
    assert await _breaches(db, case.id) == []


async def test_a_second_escalation_climbs_further(world, db, net):
    province = await world.facility(tier=Tier.provincial_hospital)
    await _offer(db, province, await db.get(Department, await department_id(db, net.specialty)))
    case = await submitted_case(world, net, db)
    first = case.due_at + MINUTE
    assert await sweep_escalations(db, first) == 1
    await db.refresh(case)
    assert await sweep_escalations(db, case.due_at + MINUTE) == 1
    await db.refresh(case)
    assert case.target_facility_id == province.id
    assert [b.escalated_to_facility_id for b in await _breaches(db, case.id)] == [net.city.id, province.id]
    current = await db.scalar(select(ConsultationCase.version).where(ConsultationCase.id == case.id))
    assert current == case.version


async def test_the_timers_loop_runs_every_sweep_in_its_own_transaction(app, world, db, net, monkeypatch):
    from carebridge.consultations import timers

    case = await submitted_case(world, net, db)

    async def broken(session, now):  # noqa: ANN001, ANN202 - another feature's sweep that fails
        raise RuntimeError("bad row")

    monkeypatch.setattr(timers, "SWEEPS", [broken, *timers.SWEEPS])
    assert await timers.run_once(app.state, case.due_at + MINUTE) == 1
    await db.refresh(case)
    assert case.target_facility_id == net.city.id
