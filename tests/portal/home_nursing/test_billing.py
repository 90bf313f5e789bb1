"""Paying for a visit and getting money back: the charge opens at assessment, the visit is offered
only once paid, cancellation refunds follow the configured shares, a refusal by the facility gives
everything back, and an unpaid charge is cancelled with its order."""

from __future__ import annotations

import pytest

from carebridge.errors import Conflict
from carebridge.payments.models import Charge
from carebridge.portal.home_nursing import billing, booking, dispatch
from carebridge.portal.home_nursing.lifecycle import Action, Party
from tests.portal.home_nursing import helpers


def test_refund_shares(settings) -> None:  # noqa: ANN001
    assert billing.refund_percent("requested", Party.patient) == 100
    assert billing.refund_percent("assessed", Party.patient) == 100
    assert billing.refund_percent("dispatched", Party.patient) == settings.nursing_refund_dispatched_percent == 100
    assert billing.refund_percent("accepted", Party.patient) == settings.nursing_refund_accepted_percent == 50
    assert billing.refund_percent("en_route", Party.coordinator) == 100
    assert billing.refund_amount(12345, 50) == 6172  # integer fen, never a float


async def test_the_charge_opens_at_assessment_and_dispatch_waits_for_payment(scene, db) -> None:  # noqa: ANN001
    order = await helpers.book(scene)
    assert order.charge_id is None
    order = await helpers.assessed(scene, "injection", paid=False)
    charge = await db.get(Charge, order.charge_id)
    assert charge.status == "pending" and charge.purpose == "nursing" and charge.total_fen == 8000
    with pytest.raises(Conflict) as unpaid:
        await dispatch.dispatch(db, await scene.p(scene.coordinator), order.id)
    assert unpaid.value.code == "unpaid"
    order = await helpers.pay(scene, order)
    assert order.paid_at is not None
    assert (await dispatch.dispatch(db, await scene.p(scene.coordinator), order.id)).state == "dispatched"


async def test_cancelling_before_a_nurse_refunds_everything(scene, db) -> None:  # noqa: ANN001
    order = await helpers.assessed(scene)
    order = await booking.cancel(db, await scene.p(scene.patient_user), order.id, "已经住院了")
    charge = await db.get(Charge, order.charge_id)
    assert charge.self_pay_fen == 10800  # the community centre's 10 % discount
    assert order.refund_fen == 10800 and charge.status == "refunded" and charge.refunded_fen == 10800


async def test_cancelling_after_acceptance_refunds_half(scene, db) -> None:  # noqa: ANN001
    order = await helpers.accepted(scene)
    order = await booking.cancel(db, await scene.p(scene.patient_user), order.id, "家人临时回来了")
    charge = await db.get(Charge, order.charge_id)
    assert order.refund_fen == 5400 and charge.status == "partly_refunded" and charge.refunded_fen == 5400


async def test_the_refund_share_is_configurable(scene, db, settings, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(settings, "nursing_refund_accepted_percent", 0)
    order = await helpers.accepted(scene)
    order = await booking.cancel(db, await scene.p(scene.patient_user), order.id, "不需要了")
    assert order.refund_fen == 0 and (await db.get(Charge, order.charge_id)).status == "paid"


async def test_a_facility_cancelling_refunds_everything(scene, db) -> None:  # noqa: ANN001
    order = await helpers.accepted(scene)
    order = await booking.cancel(db, await scene.p(scene.coordinator), order.id, "护士生病，无人可派")
    assert order.refund_fen == 10800


async def test_a_refusal_after_payment_refunds_and_unpaid_charges_are_cancelled(scene, db) -> None:  # noqa: ANN001
    order = await helpers.assessed(scene)
    order = await dispatch.coordinate(db, await scene.p(scene.coordinator), order.id, Action.refuse,
                                      "本周无持证护士")
    assert order.state == "refused" and order.refund_fen == 10800
    unpaid = await helpers.assessed(scene, "injection", paid=False)
    unpaid = await booking.cancel(db, await scene.p(scene.patient_user), unpaid.id, "改去社区医院")
    assert (await db.get(Charge, unpaid.charge_id)).status == "cancelled" and unpaid.refund_fen == 0
