"""The consultation case through its services: request, submit (routing + grant), the lifecycle
moves by part, the version check that lets exactly one of two accepting experts win."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from carebridge.access.models import AccessGrant
from carebridge.access.service import access_patient
from carebridge.consultations import service
from carebridge.consultations.models import CaseEvent
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from tests.consultations.opinion_helpers import sign_opinion


async def _submitted(world, db, net, shared=None, **kw):  # noqa: ANN001, ANN202
    requester = await world.principal(net.requester)
    ids = tuple(e.id for e in (shared if shared is not None else net.entries[:2]))
    case = await service.request_consultation(db, requester, service.CaseRequest(
        patient_id=net.patient.id, question="Is this atrial fibrillation?", clinical_summary="palpitations",
        urgency=kw.pop("urgency", "urgent"), specialty=net.specialty, shared_entry_ids=ids, **kw))
    return await service.take_action(db, requester, case.id, "submit")


async def test_submit_routes_to_the_nearest_higher_tier_and_sets_the_due_time(world, db, net):
    before = utcnow()
    case = await _submitted(world, db, net)
    assert case.state == "submitted" and case.target_facility_id == net.county.id
    assert before + dt.timedelta(minutes=119) < case.due_at <= utcnow() + dt.timedelta(hours=2)
    events = (await db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))).all()
    assert [(e.action, e.to_state) for e in events] == [("request", "draft"), ("submit", "submitted")]


async def test_the_target_facility_reads_exactly_the_shared_entries(world, db, net):
    case = await _submitted(world, db, net)
    grant = await db.scalar(select(AccessGrant).where(AccessGrant.source_type == "consultation",
                                                      AccessGrant.source_id == case.id))
    assert grant.grantee_facility_id == net.county.id and grant.purpose == "consultation"
    assert sorted(grant.scope_entry_ids) == sorted(e.id for e in net.entries[:2])
    view = await service.access_case(db, await world.principal(net.county_doctor), case.id)
    assert {e.id for e in view.shared} == {e.id for e in net.entries[:2]}
    assert view.patient.basis == "grant" and not view.patient.allows(net.entries[2])
    assert "accept" not in view.actions and "triage" in view.actions


async def test_another_facility_sees_nothing(world, db, net):
    case = await _submitted(world, db, net)
    for user in (net.city_doctor, net.outsider):
        with pytest.raises(NotFound):
            await service.access_case(db, await world.principal(user), case.id)
        with pytest.raises(NotFound):
            await access_patient(db, await world.principal(user), net.patient.id)


async def test_a_draft_is_only_the_requesters(world, db, net):
    requester = await world.principal(net.requester)
    case = await service.request_consultation(db, requester, service.CaseRequest(
        patient_id=net.patient.id, question="q?", specialty=net.specialty, target_facility_id=net.county.id,
        shared_entry_ids=(net.entries[0].id,)))
    with pytest.raises(NotFound):
        await service.access_case(db, await world.principal(net.county_doctor), case.id)


async def test_shared_entries_must_be_the_patients(world, db, net):
    other = await world.patient(net.township)
    from carebridge.records.models import Observation
    foreign = Observation(patient_id=other.id, occurred_at=utcnow(), facility_id=net.township.id,
                          code_system="LOINC", code="8867-4", display="Heart rate", value_num=60, unit="/min")
    db.add(foreign)
    await db.flush()
    with pytest.raises(InvalidInput):
        await _submitted(world, db, net, shared=[net.entries[0], foreign])


async def test_a_doctor_elsewhere_cannot_request_for_the_patient(world, db, net):
    with pytest.raises(NotFound):
        await service.request_consultation(db, await world.principal(net.city_doctor), service.CaseRequest(
            patient_id=net.patient.id, question="q?", specialty=net.specialty))


async def test_the_lifecycle_to_close_shortens_the_grant(world, db, net):
    case = await _submitted(world, db, net, mode="async")
    doctor = await world.principal(net.county_doctor)
    requester = await world.principal(net.requester)
    for who, action in [(doctor, "triage"), (doctor, "accept")]:
        case = await service.take_action(db, who, case.id, action)
    await sign_opinion(db, doctor, case.id)  # signing is the opinion service's move (opinion.py)
    for who, action in [(requester, "acknowledge"), (requester, "close")]:
        case = await service.take_action(db, who, case.id, action)
    assert case.state == "closed" and case.assigned_expert_id == net.county_doctor.id
    grant = await db.scalar(select(AccessGrant).where(AccessGrant.source_id == case.id,
                                                      AccessGrant.source_type == "consultation"))
    assert grant.expires_at <= utcnow() + dt.timedelta(days=30)
    assert case.version == 7


async def test_invalid_moves_and_wrong_parts(world, db, net):
    case = await _submitted(world, db, net)
    doctor = await world.principal(net.county_doctor)
    with pytest.raises(Conflict):
        await service.take_action(db, doctor, case.id, "accept")  # not triaged yet
    with pytest.raises(Forbidden):
        await service.take_action(db, await world.principal(net.requester), case.id, "triage")
    with pytest.raises(InvalidInput):
        await service.take_action(db, doctor, case.id, "decline")  # no reason
    with pytest.raises(NotFound):
        await service.take_action(db, await world.principal(net.city_doctor), case.id, "triage")
    case = await service.take_action(db, doctor, case.id, "decline", "outside our competence")
    assert case.state == "declined" and case.closed_at is not None


async def test_of_two_experts_accepting_from_the_same_version_only_one_wins(world, db, net, sessionmaker):
    case = await _submitted(world, db, net)
    await service.take_action(db, await world.principal(net.county_doctor), case.id, "triage")
    await db.flush()
    async with sessionmaker() as first, sessionmaker() as second:
        one = await world.principal(net.county_doctor)
        two = await world.principal(net.county_doctor2)
        # Both have read the triaged case (the views keep what each session loaded).
        seen = [await service.access_case(first, one, case.id), await service.access_case(second, two, case.id)]
        won = await service.take_action(first, one, case.id, "accept")
        await first.flush()
        with pytest.raises(Conflict) as lost:
            await service.take_action(second, two, case.id, "accept")
    assert won.assigned_expert_id == net.county_doctor.id
    assert lost.value.code == "stale_case" and seen[1].case.state == "triaged"
