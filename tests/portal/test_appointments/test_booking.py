"""Booking through the services: where a test can be had and at what price, booking a block,
consent for remote reading, doctor's orders, capacity, cancelling before the cut-off."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from carebridge.access.service import current_consent
from carebridge.errors import Conflict, Forbidden, NotFound
from carebridge.notifications.models import Notification
from carebridge.portal.test_appointments import doctor_orders, offers, service, slots
from carebridge.portal.test_appointments.models import Booking, SlotCount
from carebridge.records.models import PatientRegistration
from tests.portal.test_appointments.conftest import TestNet, book_and_pay


async def _book(world, db, net: TestNet, code: str, facility=None, *, user=None, patient=None,  # noqa: ANN001, ANN202
                skip: int = 0, **kw):
    test = await net.test_at(db, facility or net.community, code)
    slot = await net.first_slot(db, test, skip)
    data = service.BookingInput(patient_id=(patient or net.patient).id, test_id=test.id, starts_at=slot.starts_at,
                                **kw)
    return await book_and_pay(world, user or net.patient_user, data)


async def test_offers_nearest_first_with_the_community_discount_and_the_saving(world, db, net: TestNet) -> None:
    origin = await offers.resolve_origin(db, net.patient.id)
    assert origin.kind == "home" and origin.facility.id == net.village.id
    found = await offers.find_offers(db, code="US-ABDOMEN", patient_id=net.patient.id, origin=origin)
    assert [o.facility.id for o in found] == [net.community.id, net.county.id]
    community, county = found
    assert community.distance_km == pytest.approx(2.0, abs=0.1) and county.distance_km == pytest.approx(15.0, abs=0.2)
    assert (county.price.list_fen, county.price.self_pay_fen, county.price.discount_fen) == (12000, 12000, 0)
    assert (community.price.self_pay_fen, community.price.discount_fen) == (10800, 1200)
    assert community.saving_fen == 1200 and community.compared_with.id == net.county.id
    assert county.saving_fen is None


async def test_from_a_phone_position_the_county_hospital_can_come_first(db, net: TestNet) -> None:
    origin = await offers.resolve_origin(db, net.patient.id, latitude=34.89, longitude=113.65)
    found = await offers.find_offers(db, code="US-ABDOMEN", patient_id=net.patient.id, origin=origin)
    assert [o.facility.id for o in found] == [net.county.id, net.community.id]
    assert found[1].saving_fen == 1200  # still compared with the hospital in the list


async def test_a_test_only_hospitals_do_is_not_offered_at_the_centre(db, net: TestNet) -> None:
    found = await offers.find_offers(db, code="CT-HEAD", patient_id=net.patient.id, origin=None)
    assert [o.facility.id for o in found] == [net.county.id]
    codes = {c.code: c for c in await offers.offered_codes(db)}
    assert codes["CT-HEAD"].self_bookable is False and codes["ECG"].self_bookable is True
    assert codes["58410-2"].facilities == 2


async def test_booking_an_ecg_at_the_centre_records_price_place_and_consent(world, db, net: TestNet) -> None:
    booking = await _book(world, db, net, "ECG", consent_remote_reading=True, note="心悸")
    assert booking.state == "booked" and booking.basis == "self_booked" and booking.confirmed_at is not None
    assert (booking.list_price_fen, booking.discount_fen, booking.self_pay_fen) == (2500, 250, 2250)
    assert booking.pricing_rules == ["community_discount"]
    assert "静坐休息" in booking.prep
    taken = await db.scalar(select(SlotCount.booked).where(SlotCount.test_id == booking.test_id,
                                                           SlotCount.starts_at == booking.starts_at))
    assert taken == 1
    consent = await current_consent(db, net.patient.id)
    assert consent.status == "granted" and not consent.scope_all and "observation" in consent.scope_kinds
    told = (await db.scalars(select(Notification).where(Notification.user_id == net.patient_user.id))).all()
    assert any("静坐休息" in n.body for n in told)


async def test_imaging_without_consent_is_refused_until_the_patient_agrees(world, db, net: TestNet) -> None:
    with pytest.raises(Conflict) as refused:
        await _book(world, db, net, "US-ABDOMEN")
    assert refused.value.code == "consent_needed"
    lab = await _book(world, db, net, "58410-2")  # a lab test stays at the facility: no consent asked
    assert lab.state == "booked" and await current_consent(db, net.patient.id) is None


async def test_ct_needs_a_doctors_order_which_is_used_once_and_given_back_on_cancel(world, db, net: TestNet) -> None:
    with pytest.raises(Conflict) as refused:
        await _book(world, db, net, "CT-HEAD", net.county, consent_remote_reading=True)
    assert refused.value.code == "doctor_order_needed"
    db.add(PatientRegistration(patient_id=net.patient.id, facility_id=net.county.id, mrn="C-0001"))
    await db.flush()
    order = await doctor_orders.order_test(db, await world.principal(net.county_doctor), patient_id=net.patient.id,
                                           code="CT-HEAD", reason="头痛两周，排除颅内病变")
    booking = await _book(world, db, net, "CT-HEAD", net.county, doctor_order_id=order.id,
                          consent_remote_reading=True)
    assert booking.basis == "doctor_order" and booking.request_id == order.id
    assert (await db.get(type(order), order.id, populate_existing=True)).state == "booked"
    with pytest.raises(Conflict) as again:
        await _book(world, db, net, "CT-HEAD", net.county, doctor_order_id=order.id, patient=net.patient)
    assert again.value.code == "already_booked"
    await service.cancel_booking(db, await world.principal(net.patient_user), booking.id, "改期")
    assert (await db.get(type(order), order.id, populate_existing=True)).state == "open"


async def test_another_patients_doctors_order_cannot_be_used(world, db, net: TestNet) -> None:
    db.add(PatientRegistration(patient_id=net.other_patient.id, facility_id=net.county.id, mrn="C-0002"))
    await db.flush()
    order = await doctor_orders.order_test(db, await world.principal(net.county_doctor),
                                           patient_id=net.other_patient.id, code="CT-HEAD", reason="外伤后头痛")
    with pytest.raises(Conflict) as refused:
        await _book(world, db, net, "CT-HEAD", net.county, doctor_order_id=order.id, consent_remote_reading=True)
    assert refused.value.code == "doctor_order_unusable"


async def test_the_last_place_goes_to_one_patient(world, db, net: TestNet) -> None:
    test = await net.test_at(db, net.community, "US-ABDOMEN")  # two places per block
    slot = await net.first_slot(db, test)
    for user, patient in ((net.patient_user, net.patient), (net.other_user, net.other_patient)):
        await service.book_test(db, await world.principal(user), service.BookingInput(
            patient_id=patient.id, test_id=test.id, starts_at=slot.starts_at, consent_remote_reading=True))
    third = await world.patient(net.village)
    third_user = await world.user(("patient", net.village.id), patient_id=third.id)
    with pytest.raises(Conflict) as full:
        await service.book_test(db, await world.principal(third_user), service.BookingInput(
            patient_id=third.id, test_id=test.id, starts_at=slot.starts_at, consent_remote_reading=True))
    assert full.value.code == "slot_full"
    listed = next(s for s in await slots.open_slots(db, test) if s.starts_at == slot.starts_at)
    assert (listed.taken, listed.free) == (2, 0)


async def test_only_published_future_blocks_can_be_booked(world, db, net: TestNet) -> None:
    test = await net.test_at(db, net.community, "58410-2")
    slot = await net.first_slot(db, test)
    principal = await world.principal(net.patient_user)
    for starts_at in (slot.starts_at + dt.timedelta(minutes=7), dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
                      slot.starts_at + dt.timedelta(days=60)):
        with pytest.raises(Exception, match="not a bookable block"):
            await service.book_test(db, principal, service.BookingInput(net.patient.id, test.id, starts_at))


async def test_cancel_before_the_cut_off_gives_the_place_back_and_not_after(world, db, net: TestNet) -> None:
    booking = await _book(world, db, net, "58410-2")
    principal = await world.principal(net.patient_user)
    late = service.cancel_until(booking) + dt.timedelta(minutes=1)
    with pytest.raises(Conflict) as refused:
        await service.cancel_booking(db, principal, booking.id, now=late)
    assert refused.value.code == "past_cutoff"
    await service.cancel_booking(db, principal, booking.id, "有事")
    assert booking.state == "cancelled" and booking.cancel_reason == "有事"
    taken = await db.scalar(select(SlotCount.booked).where(SlotCount.test_id == booking.test_id,
                                                           SlotCount.starts_at == booking.starts_at))
    assert taken == 0
    with pytest.raises(Conflict):
        await service.cancel_booking(db, principal, booking.id)


async def test_other_patients_and_other_facilities_cannot_reach_a_booking(world, db, net: TestNet) -> None:
    booking = await _book(world, db, net, "58410-2")
    for user in (net.other_user, net.outsider, net.county_admin, net.community_admin, net.hub_reader):
        with pytest.raises(NotFound):
            await service.load_booking(db, await world.principal(user), booking.id)
        with pytest.raises(NotFound):
            await service.cancel_booking(db, await world.principal(user), booking.id, "not mine")
    with pytest.raises(NotFound):  # a patient cannot book for someone else either
        await _book(world, db, net, "58410-2", user=net.other_user, patient=net.patient, skip=1)
    seen, parties = await service.load_booking(db, await world.principal(net.community_tech), booking.id)
    assert seen.id == booking.id and "staff" in parties


async def test_clinicians_do_not_book_for_patients_here(world, db, net: TestNet) -> None:
    db.add(PatientRegistration(patient_id=net.patient.id, facility_id=net.county.id, mrn="C-0003"))
    await db.flush()
    with pytest.raises(Forbidden):
        await _book(world, db, net, "58410-2", net.county, user=net.county_doctor)
    assert (await db.scalars(select(Booking).where(Booking.patient_id == net.patient.id))).all() == []
