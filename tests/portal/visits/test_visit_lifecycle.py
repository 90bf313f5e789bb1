"""A visit from booking to the doctor's note, and the ways it ends early: cancellation before and
after the cut-off, a patient who does not come."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.clock import utcnow
from carebridge.notifications.models import Notification
from carebridge.portal.visits import eligibility, notes, service, slots
from carebridge.portal.visits.models import Visit, VisitDay
from carebridge.records.models import Condition, Encounter, PatientRegistration
from tests.portal.visits.conftest import move_visit_to, publish


async def _book(world, net, slot, user=None, patient=None, condition=None) -> Visit:  # noqa: ANN001
    user, patient = user or net.patient_user, patient or net.patient
    return await service.book_visit(world.db, await world.principal(user), service.BookingInput(
        patient.id, slot.id, condition or net.conditions["eligible"], "血压最近偏高"))


async def _titles(world, user) -> list[str]:  # noqa: ANN001
    return list((await world.db.scalars(select(Notification.title).where(Notification.user_id == user.id)
                                        .order_by(Notification.id))).all())


async def test_booking_registers_the_patient_at_the_visits_hospital_and_tells_both(world, net):  # noqa: ANN001
    first, _ = await publish(world, net)
    visit = await _book(world, net, first)
    assert visit.state == "booked" and visit.registered_by_booking and visit.facility_id == net.county.id
    assert visit.cancel_until == visit.starts_at - dt.timedelta(hours=2)
    assert await world.db.scalar(select(PatientRegistration.mrn).where(
        PatientRegistration.patient_id == net.patient.id, PatientRegistration.facility_id == net.county.id))
    assert len(await _titles(world, net.doctor)) == 1 and len(await _titles(world, net.patient_user)) == 1
    await world.db.refresh(first)
    assert first.taken and await world.db.scalar(select(VisitDay.booked).where(VisitDay.id == first.day_id)) == 1


async def test_a_taken_slot_and_a_double_booked_patient_are_refused(world, net):  # noqa: ANN001
    first, second = await publish(world, net)
    await _book(world, net, first)
    with pytest.raises(Conflict) as taken:
        await _book(world, net, first, net.other_patient_user, net.other_patient, net.other_condition)
    assert taken.value.code == "slot_taken"
    await move_visit_to(world.db, (await world.db.scalars(select(Visit))).one(), second.starts_at)
    with pytest.raises(Conflict) as busy:
        await _book(world, net, second)
    assert busy.value.code == "patient_busy"


async def test_the_patient_cancels_before_the_cut_off_and_the_time_is_free_again(world, net):  # noqa: ANN001
    first, _ = await publish(world, net)
    visit = await _book(world, net, first)
    await service.cancel_visit(world.db, await world.principal(net.patient_user), visit.id)
    assert visit.state == "cancelled" and visit.ended_at is not None
    assert first.id in {s.id for s in await slots.open_slots(world.db, net.doctor.id)}
    assert await world.db.scalar(select(VisitDay.booked).where(VisitDay.id == first.day_id)) == 0
    assert "cancelled" in (await _titles(world, net.doctor))[-1]


async def test_after_the_cut_off_the_patient_is_refused_with_the_time_it_closed(world, net):  # noqa: ANN001
    first, _ = await publish(world, net)
    visit = await _book(world, net, first)
    await move_visit_to(world.db, visit, utcnow() + dt.timedelta(hours=1))  # the 2-hour cut-off has passed
    with pytest.raises(Conflict) as refused:
        await service.cancel_visit(world.db, await world.principal(net.patient_user), visit.id)
    assert refused.value.code == "cancellation_closed"
    assert service.local_text(visit.cancel_until) in refused.value.message
    assert (await world.db.get(Visit, visit.id)).state == "booked"


async def test_the_doctor_cancels_with_a_reason_the_patient_reads(world, net):  # noqa: ANN001
    first, _ = await publish(world, net)
    visit = await _book(world, net, first)
    doctor = await world.principal(net.doctor)
    with pytest.raises(InvalidInput):
        await service.cancel_visit(world.db, doctor, visit.id, "")
    await service.cancel_visit(world.db, doctor, visit.id, "临时手术，请改约")
    assert visit.state == "cancelled" and visit.state_reason == "临时手术，请改约"
    assert "cancelled" in (await _titles(world, net.patient_user))[-1]


async def test_waiting_room_start_and_the_note_written_into_the_record(world, net):  # noqa: ANN001
    first, _ = await publish(world, net)
    visit = await _book(world, net, first)
    patient, doctor = await world.principal(net.patient_user), await world.principal(net.doctor)
    with pytest.raises(Conflict) as early:
        await service.check_in(world.db, patient, visit.id)
    assert early.value.code == "waiting_room_not_open"
    with pytest.raises(Conflict) as not_waiting:
        await service.start_visit(world.db, doctor, visit.id)
    assert not_waiting.value.code == "patient_not_waiting"

    await move_visit_to(world.db, visit, utcnow() + dt.timedelta(minutes=10))
    await service.check_in(world.db, patient, visit.id)
    assert visit.state == "checked_in" and "waiting room" in (await _titles(world, net.doctor))[-1]
    await service.check_in(world.db, patient, visit.id)  # entering again changes nothing
    assert visit.version == 2
    with pytest.raises(Forbidden):
        await service.start_visit(world.db, patient, visit.id)
    await service.start_visit(world.db, doctor, visit.id)
    assert visit.state == "in_progress" and visit.started_at is not None

    with pytest.raises(InvalidInput):
        await notes.complete_visit(world.db, doctor, visit.id, "ok", [notes.Diagnosis("I10")])
    with pytest.raises(InvalidInput):
        await notes.complete_visit(world.db, doctor, visit.id, "血压控制欠佳，调整用药。", [notes.Diagnosis("XYZ")])
    await notes.complete_visit(world.db, doctor, visit.id, "血压控制欠佳，加用氨氯地平，两周后复诊。",
                               [notes.Diagnosis("I10", "高血压"), notes.Diagnosis("R51", "头痛")])
    assert visit.state == "completed" and visit.note.startswith("血压控制欠佳")
    encounter = await world.db.get(Encounter, visit.encounter_id)
    assert encounter.encounter_class == "teleconsultation" and encounter.facility_id == net.county.id
    assert encounter.ended_at is not None and encounter.author_id == net.doctor.id
    written = list((await world.db.scalars(select(Condition).where(Condition.encounter_id == encounter.id)
                                           .order_by(Condition.id))).all())
    assert [(c.code, c.display, c.note[:6]) for c in written] == [("I10", "高血压", "血压控制欠佳"),
                                                                 ("R51", "头痛", "血压控制欠佳")]
    assert [c.code for c in await notes.diagnoses_of(world.db, visit)] == ["I10", "R51"]
    # An online diagnosis never makes its own next online visit eligible; the in-person one still does.
    assert (await eligibility.check_condition(world.db, net.patient.id, written[0].id)).reason == "diagnosed_online"
    assert (await eligibility.check_condition(world.db, net.patient.id, net.conditions["eligible"])).eligible
    assert "complete" in (await _titles(world, net.patient_user))[-1]


async def test_no_show_only_after_the_start_and_only_by_the_doctor(world, net):  # noqa: ANN001
    first, _ = await publish(world, net)
    visit = await _book(world, net, first)
    doctor = await world.principal(net.doctor)
    with pytest.raises(Conflict) as early:
        await service.mark_no_show(world.db, doctor, visit.id)
    assert early.value.code == "too_early_for_no_show"
    await move_visit_to(world.db, visit, utcnow() - dt.timedelta(minutes=5))
    with pytest.raises(Forbidden):
        await service.mark_no_show(world.db, await world.principal(net.patient_user), visit.id)
    await service.mark_no_show(world.db, doctor, visit.id)
    assert visit.state == "no_show"
    await world.db.refresh(first)
    assert first.taken  # a missed time is not offered again


async def test_a_stale_version_loses(world, net):  # noqa: ANN001
    first, _ = await publish(world, net)
    visit = await _book(world, net, first)
    # Someone else moved it after this copy was read.
    await world.db.execute(update(Visit).where(Visit.id == visit.id).values(version=Visit.version + 1)
                           .execution_options(synchronize_session=False))
    with pytest.raises(Conflict) as stale:
        await service.move(world.db, visit, service.Action.cancel, {service.Party.system})
    assert stale.value.code == "stale_visit"
