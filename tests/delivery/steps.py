"""What people do, over HTTP: the patient orders and pays, the pharmacy acts, the courier reports."""

from __future__ import annotations

import datetime as dt

from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from tests.delivery.conftest import ADDRESS, event, signed


async def order(client, world, user, statement, method: str = "delivery", **body) -> object:  # noqa: ANN001
    payload = {"source_kind": "medication", "source_id": statement.id, "method": method, **body}
    if method == "delivery" and "address_id" not in body and "address" not in body:
        payload["address"] = ADDRESS
    return await client.post("/api/v1/delivery/orders", json=payload, headers=await world.token(user))


async def pay(client, world, user, charge_id: int) -> None:  # noqa: ANN001
    """Checkout, the provider books the money, and its signed notice arrives."""
    checkout = await client.post(f"/api/v1/payments/charges/{charge_id}/pay", headers=await world.token(user))
    assert checkout.status_code == 200, checkout.text
    reference = checkout.json()["reference"]
    body = await PROVIDERS["demo"].settle(world.db, reference)
    headers = {SIGNATURE_HEADER: sign_demo_notice(body), "content-type": "application/json"}
    response = await client.post("/api/v1/payments/providers/demo/notify", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def paid_order(client, world, pharmacy, statement=None, method: str = "delivery") -> dict:  # noqa: ANN001
    statement = statement or await pharmacy.refill()
    placed = await order(client, world, pharmacy.patient_user, statement, method)
    assert placed.status_code == 201, placed.text
    await pay(client, world, pharmacy.patient_user, placed.json()["charge_id"])
    return await get(client, world, pharmacy.patient_user, placed.json()["id"])


async def get(client, world, user, order_id: int) -> dict:  # noqa: ANN001
    response = await client.get(f"/api/v1/delivery/orders/{order_id}", headers=await world.token(user))
    assert response.status_code == 200, response.text
    return response.json()


async def act(client, world, user, order_id: int, action: str, **body) -> object:  # noqa: ANN001
    return await client.post(f"/api/v1/delivery/orders/{order_id}/actions/{action}", json=body or None,
                             headers=await world.token(user))


async def shipped_order(client, world, pharmacy, tracking: str = "SF1234567890") -> dict:  # noqa: ANN001
    made = await paid_order(client, world, pharmacy)
    assert (await act(client, world, pharmacy.pharmacist, made["id"], "pack")).status_code == 200
    shipped = await act(client, world, pharmacy.pharmacist, made["id"], "ship", courier="sf", tracking_number=tracking)
    assert shipped.status_code == 200, shipped.text
    return shipped.json()


async def courier_says(client, tracking: str, kind: str, event_id: str, when: dt.datetime | None = None,
                       courier: str = "sf", **kw) -> object:  # noqa: ANN001
    body, headers = signed(event(tracking, kind, event_id, when or dt.datetime.now(dt.UTC), **kw))
    return await client.post(f"/api/v1/delivery/courier/{courier}/events", content=body, headers=headers)
