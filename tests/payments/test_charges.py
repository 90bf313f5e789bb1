"""Paying a charge through the provider, the provider's notices, refunds, and who may see what."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from carebridge.payments import ledger, service
from carebridge.payments.models import Charge, LedgerEntry, Refund
from carebridge.payments.providers import PROVIDERS
from tests.access.conftest import sign_in
from tests.payments.conftest import PAID_LOG, open_fee, signed_notice


async def _checkout(client, world, scene, charge: Charge) -> str:  # noqa: ANN001
    response = await client.post(f"/api/v1/payments/charges/{charge.id}/pay",
                                 headers=await world.token(scene.patient_user))
    assert response.status_code == 200, response.text
    return response.json()["reference"]


async def _notify(client, reference: str, amount: int, *, world=None, **kw):  # noqa: ANN001, ANN202
    """The provider's notice; with `world`, the provider first books the payment in its own record
    (a real provider only notifies about money it holds)."""
    if world is not None:
        await PROVIDERS["demo"].settle(world.db, reference)
    body, headers = signed_notice(reference, amount, **kw)
    return await client.post("/api/v1/payments/providers/demo/notify", content=body, headers=headers)


async def test_paying_moves_the_charge_once_even_when_the_notice_repeats(client, world, scene):
    charge = await open_fee(world, scene)
    assert charge.status == "pending" and charge.self_pay_fen == 13_000
    reference = await _checkout(client, world, scene, charge)
    for _ in range(3):
        response = await _notify(client, reference, 13_000, world=world)
        assert response.status_code == 200
    await world.db.refresh(charge)
    assert charge.status == "paid" and PAID_LOG == [charge.id]
    assert await world.db.scalar(select(func.count()).select_from(LedgerEntry)
                                 .where(LedgerEntry.charge_id == charge.id)) == 2
    assert (await ledger.reconcile(world.db)).ok


async def test_a_second_checkout_that_also_pays_is_given_back(client, world, scene):
    charge = await open_fee(world, scene)
    first, second = await _checkout(client, world, scene, charge), await _checkout(client, world, scene, charge)
    await _notify(client, first, 13_000, world=world)
    await _notify(client, second, 13_000, world=world)
    await world.db.refresh(charge)
    refunds = (await world.db.scalars(select(Refund).where(Refund.charge_id == charge.id))).all()
    assert charge.status == "paid" and PAID_LOG == [charge.id]
    assert [(r.amount_fen, r.reason) for r in refunds] == [(13_000, "paid twice")]
    books = await ledger.reconcile(world.db)
    assert books.ok and books.balances["provider:demo"] >= 13_000


async def test_forged_stale_or_unknown_notices_change_nothing(client, world, scene):
    charge = await open_fee(world, scene)
    reference = await _checkout(client, world, scene, charge)
    body, headers = signed_notice(reference, 13_000)
    forged = await client.post("/api/v1/payments/providers/demo/notify", content=body.replace(b"13000", b"1"),
                               headers=headers)
    stale = await _notify(client, reference, 13_000, at=int(time.time()) - 3600)
    unknown = await _notify(client, "demo_nobody", 13_000)
    wrong_amount = await _notify(client, reference, 1)
    assert (forged.status_code, stale.status_code, unknown.status_code) == (401, 401, 404)
    assert wrong_amount.json()["payment_status"] == "failed"
    await world.db.refresh(charge)
    assert charge.status == "pending" and PAID_LOG == []


async def test_full_refund_reverses_cash_insurance_and_discount(client, world, scene):
    await client.put(f"/api/v1/payments/coverage/{scene.patient.id}", headers=await world.token(scene.patient_user),
                     json={"scheme": "employee", "member_number": "E7654321"})
    charge = await open_fee(world, scene, facility=scene.community)
    await _notify(client, await _checkout(client, world, scene, charge), charge.self_pay_fen, world=world)
    partly = await client.post(f"/api/v1/payments/charges/{charge.id}/refund", json={
        "amount_fen": 500, "reason": "late start"}, headers=await world.token(scene.community_admin))
    assert partly.json()["status"] == "partly_refunded"
    await service.refund_charge(world.db, None, charge_id=charge.id, reason="visit cancelled by the centre")
    await world.db.refresh(charge)
    assert (charge.status, charge.refunded_fen) == ("refunded", charge.self_pay_fen)
    books = await ledger.reconcile(world.db)
    assert books.ok
    assert books.balances.get(f"facility:{scene.community.id}:revenue", 0) == 0
    assert books.balances.get("insurance:employee", 0) == 0


async def test_an_unpaid_charge_is_cancelled_not_refunded(world, scene):
    charge = await open_fee(world, scene)
    await service.refund_charge(world.db, None, charge_id=charge.id, reason="patient cancelled")
    assert charge.status == "cancelled"
    assert await world.db.scalar(select(func.count()).select_from(Refund).where(Refund.charge_id == charge.id)) == 0


async def test_refunds_are_for_the_charging_facilitys_administrators(client, world, scene):
    charge = await open_fee(world, scene)
    await _notify(client, await _checkout(client, world, scene, charge), 13_000, world=world)
    for user in (scene.patient_user, scene.county_doctor, scene.community_admin):
        response = await client.post(f"/api/v1/payments/charges/{charge.id}/refund", json={"reason": "because"},
                                     headers=await world.token(user))
        assert response.status_code == 404
    too_much = await client.post(f"/api/v1/payments/charges/{charge.id}/refund", json={
        "amount_fen": 20_000, "reason": "typo"}, headers=await world.token(scene.county_admin))
    assert too_much.status_code == 422 and too_much.json()["details"]["refundable_fen"] == 13_000


async def test_a_charge_is_seen_by_its_patient_and_the_charging_facility_only(client, world, scene):
    charge = await open_fee(world, scene)
    url = f"/api/v1/payments/charges/{charge.id}"
    seen = {name: (await client.get(url, headers=await world.token(getattr(scene, name)))).status_code
            for name in ("patient_user", "county_doctor", "other_patient_user", "community_admin")}
    assert seen == {"patient_user": 200, "county_doctor": 200, "other_patient_user": 404, "community_admin": 404}
    assert (await client.get(url)).status_code == 401
    other_pays = await client.post(f"{url}/pay", headers=await world.token(scene.other_patient_user))
    assert other_pays.status_code == 404


async def test_the_patient_pays_on_the_page_and_gets_a_receipt(client, world, scene):
    charge = await open_fee(world, scene, facility=scene.community)
    csrf = await sign_in(client, world.db, scene.patient_user)
    page = await client.get(f"/payments/charges/{charge.id}")
    assert "¥117.00" in page.text and "-¥13.00" in page.text  # 120 + 10, less 10 % at a community centre
    to_provider = await client.post(f"/payments/charges/{charge.id}/pay", data={"csrf_token": csrf})
    checkout = to_provider.headers["location"]
    assert "¥117.00" in (await client.get(checkout)).text
    back = await client.post(checkout, data={"csrf_token": csrf})
    assert back.headers["location"] == f"/payments/charges/{charge.id}"
    receipt = await client.get(f"/payments/charges/{charge.id}/receipt")
    assert receipt.status_code == 200 and charge.receipt_number in receipt.text
    assert PAID_LOG == [charge.id]
    listing = await client.get("/payments")
    assert f"charge-{charge.id}" in listing.text


async def test_the_books_page_is_for_platform_administrators(client, world, scene):
    await sign_in(client, world.db, scene.county_admin)
    assert (await client.get("/payments/admin")).status_code == 403
    await sign_in(client, world.db, scene.platform_admin)
    page = await client.get("/payments/admin")
    assert page.status_code == 200 and 'data-testid="books-ok"' in page.text


async def test_the_books_name_a_payment_the_provider_never_received(client, world, scene):
    charge = await open_fee(world, scene)
    await _notify(client, await _checkout(client, world, scene, charge), 13_000)  # no money at the provider
    books = await ledger.reconcile(world.db)
    assert not books.ok and any(f"charge {charge.id}" in problem for problem in books.problems)


async def test_outside_demo_mode_the_demo_provider_takes_no_money(client, world, scene, settings, monkeypatch):
    charge = await open_fee(world, scene)
    reference = await _checkout(client, world, scene, charge)
    monkeypatch.setattr(settings, "payments_demo_provider_enabled", False)
    monkeypatch.setattr(settings, "demo_mode", False)
    refused = await client.post(f"/api/v1/payments/charges/{charge.id}/pay",
                                headers=await world.token(scene.patient_user))
    assert refused.status_code == 409 and refused.json()["code"] == "payments_not_configured"
    assert (await _notify(client, reference, 13_000)).status_code == 404
    csrf = await sign_in(client, world.db, scene.patient_user)
    confirm = await client.post(f"/payments/demo-provider/{reference}", data={"csrf_token": csrf})
    assert confirm.status_code == 404
    await world.db.refresh(charge)
    assert charge.status == "pending" and PAID_LOG == []


async def test_only_someone_who_may_pay_the_charge_confirms_it_at_the_provider(client, world, scene):
    charge = await open_fee(world, scene)
    reference = await _checkout(client, world, scene, charge)
    csrf = await sign_in(client, world.db, scene.other_patient_user)
    assert (await client.post(f"/payments/demo-provider/{reference}", data={"csrf_token": csrf})).status_code == 404
    await world.db.refresh(charge)
    assert charge.status == "pending"
