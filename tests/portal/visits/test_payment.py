"""A priced visit through the payments contract: the booking opens a charge and holds the slot, the
payment (the demo provider's signed notice, delivered twice) confirms it once, a cancellation before
the cut-off refunds in full, an unpaid hold runs out and frees the slot."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from carebridge.kit.clock import utcnow
from carebridge.notifications.models import Notification
from carebridge.payments import service as payments
from carebridge.payments.models import Charge
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from carebridge.portal.visits import billing, service, slots, tasks
from carebridge.portal.visits.models import Visit
from tests.portal.visits.conftest import publish

PRICE = 3000  # 30 yuan


async def _book(world, net) -> Visit:  # noqa: ANN001
    first, _ = await publish(world, net, price_fen=PRICE)
    return await service.book_visit(world.db, await world.principal(net.patient_user), service.BookingInput(
        net.patient.id, first.id, net.conditions["eligible"]))


async def _pay(world, net, charge_id: int, times: int = 1) -> None:  # noqa: ANN001
    checkout = await payments.start_payment(world.db, await world.principal(net.patient_user), charge_id)
    body = await PROVIDERS["demo"].settle(world.db, checkout.reference)
    for _ in range(times):  # providers repeat their notices
        await payments.receive_notice(world.db, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)


async def test_a_priced_booking_holds_the_slot_until_paid_and_the_payment_confirms_it_once(world, net):  # noqa: ANN001
    visit = await _book(world, net)
    assert visit.state == "awaiting_payment" and visit.charge_id is not None
    charge = await world.db.get(Charge, visit.charge_id)
    assert (charge.status, charge.purpose, charge.purpose_id, charge.total_fen) == ("pending", "visit", visit.id, PRICE)
    assert visit.slot_id not in {s.id for s in await slots.open_slots(world.db, net.doctor.id)}
    booked_notes = select(func.count(Notification.id)).where(Notification.user_id == net.doctor.id)
    assert await world.db.scalar(booked_notes) == 0  # the doctor hears of it once it is paid

    await _pay(world, net, charge.id, times=2)
    await world.db.refresh(visit)
    assert visit.state == "booked" and visit.version == 2
    assert await world.db.scalar(booked_notes) == 1


async def test_cancelling_before_the_cut_off_refunds_in_full(world, net):  # noqa: ANN001
    visit = await _book(world, net)
    await _pay(world, net, visit.charge_id)
    await service.cancel_visit(world.db, await world.principal(net.patient_user), visit.id, "出差")
    charge = await world.db.get(Charge, visit.charge_id, populate_existing=True)
    assert (charge.status, charge.refunded_fen) == ("refunded", charge.self_pay_fen)
    assert charge.self_pay_fen == PRICE


async def test_an_unpaid_booking_cancelled_by_the_patient_cancels_the_charge(world, net):  # noqa: ANN001
    visit = await _book(world, net)
    await service.cancel_visit(world.db, await world.principal(net.patient_user), visit.id)
    charge = await world.db.get(Charge, visit.charge_id, populate_existing=True)
    assert charge.status == "cancelled" and charge.refunded_fen == 0


async def test_an_unpaid_hold_runs_out_and_the_slot_is_free_again(world, net):  # noqa: ANN001
    visit = await _book(world, net)
    assert await tasks.expire_unpaid(world.db, utcnow() + dt.timedelta(minutes=5)) == 0
    assert await tasks.expire_unpaid(world.db, utcnow() + dt.timedelta(minutes=16)) == 1
    await world.db.refresh(visit)
    assert visit.state == "cancelled" and "Not paid in time" in visit.state_reason
    assert visit.slot_id in {s.id for s in await slots.open_slots(world.db, net.doctor.id)}
    assert (await world.db.get(Charge, visit.charge_id, populate_existing=True)).status == "cancelled"


async def test_the_booking_form_price_follows_the_payments_quote(world, net):  # noqa: ANN001
    quoted = await billing.price_for(world.db, facility_id=net.county.id, patient_id=net.patient.id,
                                     price_fen=PRICE)
    assert quoted.total_fen == PRICE and quoted.lines[0].self_pay_fen <= PRICE
