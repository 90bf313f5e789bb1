"""Expert suggestions: ranked by specialty, on duty now, open workload, language, with the reasons;
the coordinator assigns the case to one of them, who alone may then accept it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from carebridge.consultations import service, suggestions, team
from carebridge.consultations.models import CaseEvent
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.network.models import Department
from tests.consultations.timing_world import (
    accepted_case,
    department_id,
    practitioner,
    shift,
    submitted_case,
    titles,
)

HOUR = dt.timedelta(hours=1)


async def _county_doctors(world, db, net):  # noqa: ANN001, ANN202
    """Five cardiologist candidates at the county hospital, each differing in one way."""
    cardio = await department_id(db, net.specialty)
    await practitioner(db, net.requester, net.township, languages=("ug",))
    now = utcnow()
    made = {}
    for name, specialty, on_duty, languages in [
        ("busy", cardio, True, ("zh",)), ("free", cardio, True, ("zh",)), ("speaks", cardio, True, ("zh", "ug")),
        ("off", cardio, False, ("zh", "ug")), ("other", None, True, ("ug",)),
    ]:
        user = await world.user(("doctor", net.county.id))
        who = await practitioner(db, user, net.county, specialty, languages)
        if on_duty:
            await shift(db, who, net.county, now - HOUR, now + HOUR)
        made[name] = user
    for _ in range(2):  # two cases the "busy" doctor is answering
        await accepted_case(world, net, db, expert=made["busy"], mode="async")
    return made


async def test_ranked_by_specialty_then_duty_then_workload_then_language(world, db, net):
    doctors = await _county_doctors(world, db, net)
    case = await submitted_case(world, net, db)
    await service.take_action(db, await world.principal(net.county_admin), case.id, "triage")
    found = await suggestions.suggest_experts(db, await world.principal(net.county_admin), case.id)
    ranked = [s.user_id for s in found.items]
    expected = [doctors[n].id for n in ("speaks", "free", "busy", "off", "other")]
    assert ranked[:5] == expected
    assert {net.county_doctor.id, net.county_doctor2.id} <= set(ranked[5:])  # no profile: no specialty known
    assert net.requester.id not in ranked and net.city_doctor.id not in ranked  # only the target's doctors
    top, busy, off = found.items[0], found.items[2], found.items[3]
    assert (top.specialty_match, top.on_duty, top.open_cases, top.shared_languages) == (True, True, 0, ("ug",))
    assert busy.open_cases == 2 and not off.on_duty and found.can_assign


async def test_a_team_member_seat_counts_as_workload(world, db, net):
    case = await accepted_case(world, net, db)
    await team.invite_member(db, await world.principal(net.county_doctor), case.id, net.city_doctor.id)
    counts = await suggestions.open_workload(db, [net.city_doctor.id, net.county_doctor.id, net.county_doctor2.id])
    assert counts == {net.city_doctor.id: 1, net.county_doctor.id: 1, net.county_doctor2.id: 0}


async def test_seat_suggestions_reach_other_hospitals_for_that_specialty(world, db, net):
    neuro = Department(code=f"neuro_s_{net.specialty}", name="神经内科", name_en="Neurology")
    db.add(neuro)
    await db.flush()
    neurologist = await world.user(("doctor", net.city.id))
    await practitioner(db, neurologist, net.city, neuro.id)
    case = await accepted_case(world, net, db)
    lead = await world.principal(net.county_doctor)
    seat = await team.invite_member(db, lead, case.id, net.county_doctor2.id, department=neuro.code)
    await team.free_seat(db, lead, case.id, seat.id, "wrong person")
    found = await suggestions.suggest_experts(db, lead, case.id, seat_id=seat.id)
    assert found.items[0].user_id == neurologist.id and found.items[0].specialty_match
    assert not found.can_assign  # seats are filled by invitation, not by reassigning the case
    await team.invite_member(db, lead, case.id, found.items[0].user_id, seat_id=seat.id)
    assert neurologist.id in await service.team_member_ids(db, case.id)


async def test_the_coordinator_assigns_a_suggested_expert_who_alone_may_accept(world, db, net):
    doctors = await _county_doctors(world, db, net)
    case = await submitted_case(world, net, db)
    coordinator = await world.principal(net.county_admin)
    await service.take_action(db, coordinator, case.id, "triage")
    await suggestions.assign_expert(db, coordinator, case.id, doctors["speaks"].id)
    await db.refresh(case)
    assert case.named_expert_id == doctors["speaks"].id and case.state == "triaged"
    event = (await db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))).all()[-1]
    assert event.action == "reassign" and doctors["speaks"].display_name in event.note
    assert f"consultation #{case.id}: assigned" in await titles(db, doctors["speaks"])
    with pytest.raises(Forbidden):
        await service.take_action(db, await world.principal(net.county_doctor), case.id, "accept")
    await service.take_action(db, await world.principal(doctors["speaks"]), case.id, "accept")


async def test_assignment_refusals(world, db, net):
    case = await submitted_case(world, net, db)
    coordinator = await world.principal(net.county_admin)
    with pytest.raises(Conflict):  # triage first: reassigning is a move from triaged
        await suggestions.assign_expert(db, coordinator, case.id, net.county_doctor.id)
    await service.take_action(db, coordinator, case.id, "triage")
    with pytest.raises(InvalidInput):  # a doctor elsewhere is not covered by this facility's grant
        await suggestions.assign_expert(db, coordinator, case.id, net.city_doctor.id)
    with pytest.raises(Forbidden):
        await suggestions.assign_expert(db, await world.principal(net.requester), case.id, net.county_doctor.id)
    with pytest.raises(NotFound):
        await suggestions.assign_expert(db, await world.principal(net.outsider), case.id, net.county_doctor.id)
    await suggestions.assign_expert(db, coordinator, case.id, net.county_doctor.id)
    with pytest.raises(Conflict):
        await suggestions.assign_expert(db, coordinator, case.id, net.county_doctor.id)


async def test_only_the_coordinator_or_lead_sees_suggestions(world, db, net):
    case = await accepted_case(world, net, db)
    await team.invite_member(db, await world.principal(net.county_doctor), case.id, net.city_doctor.id)
    for user, error in ((net.requester, Forbidden), (net.city_doctor, Forbidden), (net.outsider, NotFound)):
        with pytest.raises(error):
            await suggestions.suggest_experts(db, await world.principal(user), case.id)
    assert (await suggestions.suggest_experts(db, await world.principal(net.county_doctor), case.id)).items


async def test_a_crowded_hospital_does_not_push_the_specialist_off_the_list(world, db, net, monkeypatch):
    """The candidate cap keeps the doctors of the seat's specialty, whatever their account ids."""
    monkeypatch.setattr(suggestions, "CANDIDATE_LIMIT", 3)
    neuro = Department(code=f"neuro_c_{net.specialty}", name="神经内科", name_en="Neurology")
    db.add(neuro)
    await db.flush()
    for _ in range(3):  # older accounts at the target hospital, none a neurologist
        await world.user(("doctor", net.county.id))
    neurologist = await world.user(("doctor", net.city.id))
    await practitioner(db, neurologist, net.city, neuro.id)
    case = await accepted_case(world, net, db)
    lead = await world.principal(net.county_doctor)
    seat = await team.invite_member(db, lead, case.id, net.county_doctor2.id, department=neuro.code)
    await team.free_seat(db, lead, case.id, seat.id, "wrong person")
    found = await suggestions.suggest_experts(db, lead, case.id, seat_id=seat.id)
    assert found.items[0].user_id == neurologist.id
