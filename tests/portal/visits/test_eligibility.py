"""The follow-up rule: an online visit only for a condition diagnosed in person at a network
facility; when it blocks, the patient reads why."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebridge.access.service import access_patient
from carebridge.errors import InvalidInput
from carebridge.kit import i18n
from carebridge.portal.visits import eligibility, service
from carebridge.portal.visits.models import Visit
from carebridge.records.entries import void_entry
from tests.portal.visits.conftest import publish


async def test_a_condition_diagnosed_at_an_outpatient_visit_is_eligible(world, net):  # noqa: ANN001
    found = await eligibility.check_condition(world.db, net.patient.id, net.conditions["eligible"])
    assert found.eligible and found.reason == "" and found.code == "I10"
    assert found.facility_name == net.township.name


@pytest.mark.parametrize("branch", ["diagnosed_online", "not_active", "not_confirmed", "no_in_person_visit"])
async def test_each_blocked_branch_says_why(world, net, branch):  # noqa: ANN001
    found = await eligibility.check_condition(world.db, net.patient.id, net.conditions[branch])
    assert not found.eligible and found.reason == branch
    with pytest.raises(InvalidInput) as refused:
        await eligibility.require_eligible(world.db, net.patient.id, net.conditions[branch])
    assert refused.value.code == "not_eligible" and refused.value.details["reason"] == branch
    assert refused.value.message == eligibility.REASONS[branch]


async def test_another_patients_condition_is_not_in_this_record(world, net):  # noqa: ANN001
    found = await eligibility.check_condition(world.db, net.patient.id, net.other_condition)
    assert found.reason == "not_in_record"


async def test_a_voided_diagnosis_no_longer_counts(world, net):  # noqa: ANN001
    await void_entry(world.db, await world.principal(net.township_doctor), net.conditions["eligible"], "录入错误")
    found = await eligibility.check_condition(world.db, net.patient.id, net.conditions["eligible"])
    assert found.reason == "voided"


async def test_the_explanation_is_in_the_patients_language(world, net):  # noqa: ANN001
    found = await eligibility.check_condition(world.db, net.patient.id, net.conditions["diagnosed_online"])
    token = i18n.enter_locale("en")
    try:
        assert "made online, not in person" in found.explanation
    finally:
        i18n.exit_locale(token)


async def test_the_booking_form_lists_each_code_once_eligible_first(world, net):  # noqa: ANN001
    access = await access_patient(world.db, await world.principal(net.patient_user), net.patient.id)
    listed = await eligibility.conditions_to_follow_up(world.db, access)
    assert [(e.code, e.eligible) for e in listed][0] == ("I10", True)
    assert {e.code: e.reason for e in listed} == {"I10": "", "E11": "diagnosed_online", "J20": "not_active",
                                                  "K29": "not_confirmed", "M54": "no_in_person_visit"}


async def test_booking_for_an_online_diagnosis_is_refused_and_nothing_is_held(world, net):  # noqa: ANN001
    first, _second = await publish(world, net)
    patient = await world.principal(net.patient_user)
    with pytest.raises(InvalidInput) as refused:
        await service.book_visit(world.db, patient, service.BookingInput(
            patient_id=net.patient.id, slot_id=first.id, condition_id=net.conditions["diagnosed_online"]))
    assert refused.value.details["reason"] == "diagnosed_online"
    assert await world.db.scalar(select(Visit.id).where(Visit.patient_id == net.patient.id)) is None
    await world.db.refresh(first)
    assert first.taken is False


async def test_booking_for_an_in_person_diagnosis_is_allowed(world, net):  # noqa: ANN001
    first, _second = await publish(world, net)
    visit = await service.book_visit(world.db, await world.principal(net.patient_user), service.BookingInput(
        patient_id=net.patient.id, slot_id=first.id, condition_id=net.conditions["eligible"], complaint="最近头晕"))
    assert visit.state == "booked" and visit.condition_code == "I10" and visit.condition_display == "高血压"
