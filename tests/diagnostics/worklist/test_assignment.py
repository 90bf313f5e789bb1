"""Automatic assignment when an order enters the worklist (subspecialty, on duty, load, least
recently assigned), assignment by hand, and reader profiles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebridge.auth.models import Role
from carebridge.diagnostics import assignment
from carebridge.diagnostics.assignment import ProfileInput
from carebridge.diagnostics.models import OrderEvent
from carebridge.diagnostics.reading_models import ReadingAssignment
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.notifications.models import Notification
from tests.diagnostics.worklist.conftest import hub_admin, on_duty, practitioner, ready_order


async def _profile(world, db, dnet, user, **kw) -> None:  # noqa: ANN001
    admin = await world.principal(await hub_admin(world, dnet))
    data = ProfileInput(kw.pop("modalities", []), kw.pop("body_parts", []), kw.pop("can_sign_final", True), **kw)
    await assignment.set_profile(db, admin, dnet.hub.id, user.id, data)


async def test_the_reader_whose_subspecialty_fits_gets_it(world, db, dnet):
    cardio = await world.user((Role.doctor, dnet.hub.id))
    await _profile(world, db, dnet, dnet.reader, modalities=["CT", "MR"], body_parts=["head"])
    await _profile(world, db, dnet, dnet.reader2, modalities=["CT", "MR", "DX"])
    await _profile(world, db, dnet, cardio, modalities=["ECG"])
    ecg = await ready_order(world, db, dnet, "ECG")
    head = await ready_order(world, db, dnet, "CT", body_part="Head")
    chest = await ready_order(world, db, dnet, "CT", body_part="CHEST")
    slide = await ready_order(world, db, dnet, "SM")
    assert ecg.assigned_reader_id == cardio.id
    assert head.assigned_reader_id == dnet.reader.id  # named both modality and body part: the closest fit
    assert chest.assigned_reader_id == dnet.reader2.id  # the neuroradiologist does not read chests
    assert slide.assigned_reader_id is None  # nobody at this hub reads slides
    event = await db.scalar(select(OrderEvent).where(OrderEvent.order_id == ecg.id, OrderEvent.action == "assign"))
    assert event.party == "system" and event.note == cardio.display_name
    told = (await db.scalars(select(Notification).where(Notification.user_id == cardio.id))).all()
    assert [n.title for n in told] == [f"diagnosis #{ecg.id}: assigned to you"]


async def test_on_duty_beats_off_duty_and_the_lighter_load_wins(world, db, dnet):
    await on_duty(db, dnet.reader2, dnet.hub.id)
    first = await ready_order(world, db, dnet, "CT")
    assert first.assigned_reader_id == dnet.reader2.id  # the only one rostered now
    await on_duty(db, dnet.reader, dnet.hub.id)
    second = await ready_order(world, db, dnet, "CT")
    assert second.assigned_reader_id == dnet.reader.id  # both on duty: reader2 already has one open
    third = await ready_order(world, db, dnet, "CT")
    # One open each: the tie goes to whoever was assigned least recently.
    assert third.assigned_reader_id == dnet.reader2.id
    readers = {r.user_id: r for r in await assignment.hub_readers(db, dnet.hub.id)}
    assert readers[dnet.reader2.id].load == 2 and readers[dnet.reader.id].load == 1
    assert readers[dnet.reader.id].on_duty and readers[dnet.reader2.id].on_duty


async def test_an_off_duty_reader_elsewhere_does_not_count_as_on_duty_here(world, db, dnet):
    await on_duty(db, dnet.reader, dnet.other_hub.id)  # rostered at another hospital
    await on_duty(db, dnet.reader2, dnet.hub.id)
    order = await ready_order(world, db, dnet, "CT")
    assert order.assigned_reader_id == dnet.reader2.id


async def test_a_resident_gets_only_preliminary_reads(world, db, dnet):
    resident = await world.user((Role.doctor, dnet.hub.id))
    await practitioner(db, resident, title="resident")
    await on_duty(db, resident, dnet.hub.id)
    for user in (dnet.reader, dnet.reader2):
        await _profile(world, db, dnet, user, reads=False)
    one_step = await ready_order(world, db, dnet, "CT")
    assert one_step.assigned_reader_id is None  # nobody left who may sign it final
    two_step = await ready_order(world, db, dnet, "CT")
    two_step.two_step = True
    two_step.assigned_reader_id = None
    await db.flush()
    assert await assignment.on_ready(db, two_step) == resident.id
    assert not await assignment.may_sign_final(db, resident.id, dnet.hub.id)
    assert await assignment.may_sign_final(db, dnet.reader.id, dnet.hub.id)


async def test_assigning_by_hand(world, db, dnet):
    order = await ready_order(world, db, dnet, "CT")
    coordinator = await world.principal(dnet.reader)
    await assignment.assign_by_hand(db, coordinator, order.id, dnet.reader2.id, "knows the patient")
    assert order.assigned_reader_id == dnet.reader2.id
    history = (await db.scalars(select(ReadingAssignment).where(ReadingAssignment.order_id == order.id)
                                .order_by(ReadingAssignment.id))).all()
    assert history[-1].assigned_by_id == dnet.reader.id and history[-1].note == "knows the patient"
    admin = await world.principal(await hub_admin(world, dnet))
    await assignment.assign_by_hand(db, admin, order.id, None)
    assert order.assigned_reader_id is None
    with pytest.raises(InvalidInput):  # not a doctor of the hub
        await assignment.assign_by_hand(db, admin, order.id, dnet.sender.id)
    for stranger in (dnet.sender, dnet.outsider, dnet.hub_tech):
        with pytest.raises(NotFound):
            await assignment.assign_by_hand(db, await world.principal(stranger), order.id, dnet.reader.id)
    order.state = "reported"
    await db.flush()
    with pytest.raises(Conflict):
        await assignment.assign_by_hand(db, coordinator, order.id, dnet.reader.id)


async def test_reader_profiles_are_set_by_the_hubs_administrators(world, db, dnet):
    with pytest.raises(Forbidden):  # a doctor cannot make themselves (or anyone) a final signer
        await assignment.set_profile(db, await world.principal(dnet.reader), dnet.hub.id, dnet.reader.id,
                                     ProfileInput(["CT"], [], True))
    admin = await world.principal(await hub_admin(world, dnet))
    with pytest.raises(InvalidInput) as bad:
        await assignment.set_profile(db, admin, dnet.hub.id, dnet.reader.id, ProfileInput(["XR"], [], True))
    assert bad.value.details["field"] == "modalities"
    with pytest.raises(NotFound):  # not a doctor of this hub
        await assignment.set_profile(db, admin, dnet.hub.id, dnet.sender.id, ProfileInput([], [], True))
    await assignment.set_profile(db, admin, dnet.hub.id, dnet.reader.id,
                                 ProfileInput(["ct", "MR"], [" chest ", "Head", "head"], False))
    reader = next(r for r in await assignment.hub_readers(db, dnet.hub.id) if r.user_id == dnet.reader.id)
    assert reader.modalities == ("CT", "MR") and reader.body_parts == ("CHEST", "HEAD")
    assert reader.has_profile and not reader.can_sign_final
