"""The booking's money through payments: a "test" charge at booking, the payment confirms it once,
refunds when cancelled in time or by the facility, nothing back for a missed appointment, unpaid
bookings released (and a late payment returned), insurance and the configurable discount rule."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from carebridge.audit.models import AuditEvent
from carebridge.config import get_settings
from carebridge.errors import Conflict
from carebridge.payments import admin as payments_admin
from carebridge.payments import service as payments
from carebridge.payments.models import Charge, PricingRule, Refund
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from carebridge.portal.test_appointments import fulfilment, offers, service, tasks
from carebridge.portal.test_appointments.models import Booking, SlotCount
from tests.portal.test_appointments.conftest import TestNet, pay


async def _booked(world, net: TestNet, code: str = "58410-2", user=None, patient=None) -> Booking:  # noqa: ANN001
    test = await net.test_at(world.db, net.community, code)
    slot = await net.first_slot(world.db, test)
    return await service.book_test(world.db, await world.principal(user or net.patient_user), service.BookingInput(
        (patient or net.patient).id, test.id, slot.starts_at, consent_remote_reading=True))


async def _charge(world, booking: Booking) -> Charge:  # noqa: ANN001
    return await world.db.get(Charge, booking.charge_id, populate_existing=True)


async def _places(world, booking: Booking) -> int:  # noqa: ANN001
    return await world.db.scalar(select(SlotCount.booked).where(SlotCount.test_id == booking.test_id,
                                                                SlotCount.starts_at == booking.starts_at))


async def test_booking_opens_a_test_charge_and_its_payment_confirms_it_once(world, net: TestNet) -> None:
    booking = await _booked(world, net)
    charge = await _charge(world, booking)
    assert booking.state == "pending_payment" and booking.confirmed_at is None
    assert (charge.purpose, charge.purpose_id, charge.status) == ("test", booking.id, "pending")
    assert (charge.total_fen, charge.discount_fen, charge.self_pay_fen) == (2000, 200, 1800)
    assert (booking.list_price_fen, booking.discount_fen, booking.self_pay_fen) == (2000, 200, 1800)
    checkout = await payments.start_payment(world.db, await world.principal(net.patient_user), charge.id)
    body = await PROVIDERS["demo"].settle(world.db, checkout.reference)
    headers = {SIGNATURE_HEADER: sign_demo_notice(body)}
    for _ in range(2):  # the provider delivers its notice twice
        await payments.receive_notice(world.db, "demo", headers, body)
    await world.db.refresh(booking)
    assert booking.state == "booked" and booking.confirmed_at is not None and booking.version == 2
    confirms = await world.db.scalar(select(func.count(AuditEvent.seq)).where(
        AuditEvent.action == "test_confirm", AuditEvent.resource_id == str(booking.id)))
    assert confirms == 1


async def test_cancelling_in_time_refunds_and_an_unpaid_cancel_closes_the_charge(world, net: TestNet) -> None:
    paid = await _booked(world, net)
    await pay(world, net.patient_user, paid.id)
    await service.cancel_booking(world.db, await world.principal(net.patient_user), paid.id, "改天再来")
    charge = await _charge(world, paid)
    assert (charge.status, charge.refunded_fen) == ("refunded", 1800)
    unpaid = await _booked(world, net, "4548-4")
    await service.cancel_booking(world.db, await world.principal(net.patient_user), unpaid.id)
    assert (await _charge(world, unpaid)).status == "cancelled"


async def test_too_late_to_cancel_keeps_the_payment_unless_the_facility_cancels(world, net: TestNet) -> None:
    booking = await _booked(world, net)
    await pay(world, net.patient_user, booking.id)
    late = service.cancel_until(booking) + dt.timedelta(minutes=5)
    with pytest.raises(Conflict):
        await service.cancel_booking(world.db, await world.principal(net.patient_user), booking.id, now=late)
    assert (await _charge(world, booking)).status == "paid"
    await service.cancel_booking(world.db, await world.principal(net.community_nurse), booking.id, "设备故障")
    assert (await _charge(world, booking)).status == "refunded"


async def test_a_missed_appointment_keeps_its_payment(world, net: TestNet) -> None:
    booking = await _booked(world, net)
    await pay(world, net.patient_user, booking.id)
    await fulfilment.mark_no_show(world.db, await world.principal(net.community_nurse), booking.id,
                                  now=booking.ends_at)
    assert booking.state == "no_show" and (await _charge(world, booking)).status == "paid"


async def test_an_unpaid_booking_is_released_and_a_late_payment_goes_back(world, net: TestNet) -> None:
    booking = await _booked(world, net)
    checkout = await payments.start_payment(world.db, await world.principal(net.patient_user), booking.charge_id)
    hold = dt.timedelta(minutes=get_settings().test_appointments_payment_hold_minutes)
    assert await tasks.release_unpaid(world.db, booking.created_at + hold - dt.timedelta(minutes=1)) == 0
    assert await tasks.release_unpaid(world.db, booking.created_at + hold) == 1
    await world.db.refresh(booking)
    assert booking.state == "cancelled" and await _places(world, booking) == 0
    assert (await _charge(world, booking)).status == "cancelled"
    body = await PROVIDERS["demo"].settle(world.db, checkout.reference)  # she paid just after the release
    await payments.receive_notice(world.db, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)
    await world.db.refresh(booking)
    assert booking.state == "cancelled"
    returned = await world.db.scalar(select(Refund.amount_fen).where(Refund.charge_id == booking.charge_id))
    assert returned == 1800


async def test_insurance_pays_its_share_of_an_insured_test(world, net: TestNet) -> None:
    await payments_admin.declare_coverage(world.db, await world.principal(net.patient_user), net.patient.id,
                                          scheme="resident", member_number="R12345")
    booking = await _booked(world, net)  # the blood count is insured
    assert (booking.list_price_fen, booking.discount_fen, booking.insurance_fen, booking.self_pay_fen) == (
        2000, 200, 900, 900)


async def test_the_community_discount_follows_the_configured_rule(world, net: TestNet) -> None:
    await world.db.execute(update(PricingRule).where(PricingRule.code == "community_discount")
                           .values(percent_off=20))
    found = await offers.find_offers(world.db, code="US-ABDOMEN", patient_id=net.patient.id,
                                     origin=await offers.resolve_origin(world.db, net.patient.id))
    centre = next(o for o in found if o.facility.id == net.community.id)
    assert (centre.price.self_pay_fen, centre.saving_fen, centre.price.rules) == (9600, 2400, ("community_discount",))
    await world.db.execute(update(PricingRule).where(PricingRule.code == "community_discount").values(active=False))
    found = await offers.find_offers(world.db, code="US-ABDOMEN", patient_id=net.patient.id, origin=None)
    assert {o.price.self_pay_fen for o in found} == {12000} and all(o.saving_fen is None for o in found)
