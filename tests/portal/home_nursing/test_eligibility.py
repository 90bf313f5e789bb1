"""Eligibility from the record: age, a recorded disability, a recent discharge, a doctor's order;
refusals explain every ground."""

from __future__ import annotations

import datetime as dt

import pytest

from carebridge.access.service import access_patient
from carebridge.errors import Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.portal.home_nursing import doctor_orders
from carebridge.portal.home_nursing.eligibility import check_eligibility, is_disability_code
from carebridge.records.entries import add_condition, add_encounter
from carebridge.records.schemas import ConditionIn, EncounterIn
from tests.portal.home_nursing import helpers


async def _eligibility(scene, db, patient, service_code: str | None = None):  # noqa: ANN001, ANN202
    access = await access_patient(db, await scene.p(scene.doctor), patient.id)
    return await check_eligibility(db, access, service_code)


async def test_age_from_the_master_record(scene, db) -> None:  # noqa: ANN001
    old = await _eligibility(scene, db, scene.patient)
    assert old.eligible and [g.code for g in old.met] == ["age"] and old.met[0].params["age"] == 76
    young = await _eligibility(scene, db, scene.young)
    assert not young.eligible
    assert [g.text for g in young.grounds] == [
        "Aged 40: on age alone home nursing starts at 65", "No disability is recorded in the health record",
        "No discharge from hospital in the last 30 days is recorded", "No doctor's home-nursing order is in force"]


async def test_a_recorded_disability_qualifies(scene, db) -> None:  # noqa: ANN001
    doctor = await scene.p(scene.doctor)
    await add_condition(db, doctor, scene.young.id, ConditionIn(code="I10"))
    assert not (await _eligibility(scene, db, scene.young)).eligible
    await add_condition(db, doctor, scene.young.id, ConditionIn(code="G82.2", display="截瘫"))
    found = await _eligibility(scene, db, scene.young)
    assert found.eligible and found.met[0].text == "Recorded disability: 截瘫"


def test_disability_stems() -> None:
    assert is_disability_code("G82") and is_disability_code("G82.2") and is_disability_code("Z99.3")
    assert not is_disability_code("Z99.2") and not is_disability_code("G820") and not is_disability_code("I10")


async def test_a_discharge_within_30_days_qualifies(scene, db) -> None:  # noqa: ANN001
    doctor = await scene.p(scene.doctor)
    now = utcnow()
    await add_encounter(db, doctor, scene.young.id, EncounterIn(
        encounter_class="inpatient", occurred_at=now - dt.timedelta(days=50), ended_at=now - dt.timedelta(days=40),
        reason="肺炎"))
    assert not (await _eligibility(scene, db, scene.young)).eligible  # 40 days ago
    await add_encounter(db, doctor, scene.young.id, EncounterIn(
        encounter_class="outpatient", occurred_at=now - dt.timedelta(days=3), ended_at=now - dt.timedelta(days=3)))
    assert not (await _eligibility(scene, db, scene.young)).eligible  # not a hospital stay
    await add_encounter(db, doctor, scene.young.id, EncounterIn(
        encounter_class="inpatient", occurred_at=now - dt.timedelta(days=12), ended_at=now - dt.timedelta(days=5),
        reason="髋关节置换"))
    found = await _eligibility(scene, db, scene.young)
    assert found.eligible and found.met[0].code == "discharge"


async def test_a_doctors_order_qualifies_for_its_service(scene, db) -> None:  # noqa: ANN001
    doctor = await scene.p(scene.doctor)
    order = await doctor_orders.create_doctor_order(db, doctor, scene.young.id, reason="术后伤口换药",
                                                    service_code="wound_dressing")
    assert (await _eligibility(scene, db, scene.young, "wound_dressing")).eligible
    assert not (await _eligibility(scene, db, scene.young, "infusion")).eligible
    booked = await helpers.book(scene, user=scene.young_user, patient=scene.young)
    assert booked.doctor_order_id == order.id and booked.eligibility[0]["code"] == "doctor_order"
    await doctor_orders.void_doctor_order(db, doctor, order.id, "开错了患者")
    assert not (await _eligibility(scene, db, scene.young, "wound_dressing")).eligible


async def test_only_doctors_of_the_patients_facility_write_orders(scene, db) -> None:  # noqa: ANN001
    with pytest.raises(Forbidden):
        await doctor_orders.create_doctor_order(db, await scene.p(scene.nurse_a), scene.young.id, reason="换药需要")
    stranger = await scene.world.user(("doctor", scene.other_facility.id))
    with pytest.raises(NotFound):
        await doctor_orders.create_doctor_order(db, await scene.p(stranger), scene.young.id, reason="换药需要")


async def test_booking_while_not_eligible_is_refused_with_the_grounds(scene) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput) as refused:
        await helpers.book(scene, user=scene.young_user, patient=scene.young)
    assert refused.value.code == "not_eligible"
    assert [g["code"] for g in refused.value.details["grounds"]] == ["age", "disability", "discharge", "doctor_order"]
    assert "doctor" in refused.value.details["advice"]
