"""Doctors publish slot series; patients find doctors and free slots; the daily maximum holds."""

from __future__ import annotations

import datetime as dt

import pytest

from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit import clock
from carebridge.portal.visits import service, slots
from carebridge.portal.visits.models import VisitDay
from tests.portal.visits.conftest import publish, series_input, tomorrow


async def test_a_series_makes_slots_at_local_times_with_the_buffer_between(world, net):  # noqa: ANN001
    made = await publish(world, net)
    local = [s.starts_at.astimezone(clock.local_zone()).strftime("%H:%M") for s in made]
    assert local == ["09:00", "09:30"]  # 20-minute visits, 10 minutes of buffer, nothing after 10:00
    assert all(s.ends_at - s.starts_at == dt.timedelta(minutes=20) for s in made)
    day = await world.db.get(VisitDay, made[0].day_id)
    assert (day.day, day.capacity, day.booked) == (tomorrow(), 2, 0)


@pytest.mark.parametrize(("change", "field"), [
    ({"start": "10:00", "end": "10:10"}, "end"),
    ({"first_day": dt.date(2020, 1, 1), "last_day": dt.date(2020, 1, 2)}, "first_day"),
    ({"mode": "phone"}, "mode"),
    ({"price_fen": -1}, "price_fen"),
    ({"daily_max": 0}, "daily_max"),
    ({"start": "9h"}, "start"),
])
async def test_a_bad_series_is_refused_naming_the_field(world, net, change, field):  # noqa: ANN001
    with pytest.raises(InvalidInput) as refused:
        await slots.publish_series(world.db, await world.principal(net.doctor), series_input(net, **change))
    assert refused.value.details["field"] == field


async def test_a_doctor_publishes_only_where_they_are_a_doctor(world, net):  # noqa: ANN001
    with pytest.raises(Forbidden):
        await slots.publish_series(world.db, await world.principal(net.outsider), series_input(net))


async def test_overlapping_publications_are_refused(world, net):  # noqa: ANN001
    await publish(world, net)
    with pytest.raises(InvalidInput) as refused:
        await slots.publish_series(world.db, await world.principal(net.doctor),
                                   series_input(net, start="09:40", end="11:00", mode="text"))
    assert refused.value.details["field"] == "start"
    # Right after the last visit is fine.
    await slots.publish_series(world.db, await world.principal(net.doctor), series_input(net, start="09:50",
                                                                                             end="10:30"))


async def test_patients_find_the_doctor_by_department_and_by_name(world, net):  # noqa: ANN001
    await publish(world, net, department_id=net.department.id, price_fen=2500)
    found = await slots.find_doctors(world.db, department_id=net.department.id)
    assert [(d.doctor_user_id, d.free_slots, d.price_fen, d.modes) for d in found] == [
        (net.doctor.id, 2, 2500, ("video",))]
    assert found[0].facility_name == net.county.name and found[0].department_name == "心血管内科"
    by_name = await slots.find_doctors(world.db, name=net.doctor.display_name)
    assert [d.doctor_user_id for d in by_name] == [net.doctor.id]
    assert await slots.find_doctors(world.db, name="没有这个医生") == []


async def test_the_daily_maximum_closes_the_day_before_the_slots_run_out(world, net):  # noqa: ANN001
    made = await publish(world, net, end="11:00", daily_max=2)  # four slots, two visits a day
    assert len(made) == 4
    booker = service.BookingInput
    first = await service.book_visit(world.db, await world.principal(net.patient_user),
                                     booker(net.patient.id, made[0].id, net.conditions["eligible"]))
    await service.book_visit(world.db, await world.principal(net.other_patient_user),
                             booker(net.other_patient.id, made[1].id, net.other_condition))
    assert await slots.open_slots(world.db, net.doctor.id) == []  # the day is full though two slots are free
    third = await world.user(("patient", net.township.id), patient_id=net.patient.id)
    with pytest.raises(Conflict) as refused:
        await service.book_visit(world.db, await world.principal(third),
                                 booker(net.patient.id, made[3].id, net.conditions["eligible"]))
    assert refused.value.code == "day_full"
    await service.cancel_visit(world.db, await world.principal(net.patient_user), first.id)
    assert [s.id for s in await slots.open_slots(world.db, net.doctor.id)] == [made[0].id, made[2].id, made[3].id]


async def test_withdrawing_keeps_booked_visits_and_hides_the_free_slots(world, net):  # noqa: ANN001
    made = await publish(world, net)
    visit = await service.book_visit(world.db, await world.principal(net.patient_user), service.BookingInput(
        net.patient.id, made[0].id, net.conditions["eligible"]))
    assert await slots.withdraw_series(world.db, await world.principal(net.doctor), made[0].series_id) == 1
    assert net.doctor.id not in {d.doctor_user_id for d in await slots.find_doctors(world.db)}
    await world.db.refresh(visit)
    assert visit.state == "booked"
    with pytest.raises(Conflict) as refused:
        await service.book_visit(world.db, await world.principal(net.other_patient_user), service.BookingInput(
            net.other_patient.id, made[1].id, net.other_condition))
    assert refused.value.code == "slot_withdrawn"


async def test_only_the_publisher_withdraws(world, net):  # noqa: ANN001
    from carebridge.errors import NotFound

    made = await publish(world, net)
    with pytest.raises(NotFound):
        await slots.withdraw_series(world.db, await world.principal(net.colleague), made[0].series_id)
