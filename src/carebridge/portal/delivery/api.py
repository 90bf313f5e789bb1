"""JSON routes of medicine delivery under /api/v1/delivery, and the courier webhook."""

from __future__ import annotations

from typing import Literal

from fastapi import Request, Response

from carebridge.config import get_settings
from carebridge.errors import NotFound
from carebridge.kit.i18n import N_
from carebridge.portal.delivery import addresses, billing, courier, dispensing, labels, service
from carebridge.portal.delivery import mine as _mine  # noqa: F401 - registers the "my orders" source
from carebridge.portal.delivery.lifecycle import Party, State
from carebridge.portal.delivery.schemas import (
    ActionIn,
    AddressOut,
    CourierEventIn,
    CourierOut,
    CourierReceiptOut,
    LineOut,
    OrderIn,
    OrderList,
    OrderOut,
    QuoteOut,
    TimelineOut,
)
from carebridge.web.deps import CurrentPrincipal, Db, client_ip
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1/delivery", tags=["delivery"])
SHOWS_PICKUP_CODE = frozenset({State.paid.value, State.ready_for_pickup.value})
CHARGE_FIELDS = ("charge_status", "self_pay_fen", "refunded_fen")


def order_out(view: service.OrderView) -> OrderOut:
    order = view.order
    out = OrderOut.model_validate(order).model_copy(update={
        "number": f"MD{order.id:06d}", "state_label": labels.state(order.state),
        "courier_name": get_settings().delivery_couriers.get(order.courier or "", order.courier or ""),
        "pay_url": f"/payments/charges/{order.charge_id}" if order.charge_id and order.state == "awaiting_payment"
        else None,
        # The code proves who collects: only the patient's side sees it, and only until it is used.
        "pickup_code": order.pickup_code if Party.patient in view.parties and order.state in SHOWS_PICKUP_CODE
        else None,
        "allowed_actions": view.actions,
        **(dict(zip(CHARGE_FIELDS, view.charge, strict=True)) if view.charge else {}),
        "lines": [LineOut.model_validate(line) for line in view.lines],
        "timeline": [TimelineOut.model_validate(row).model_copy(
            update={"label": labels.timeline_row(row.action, row.courier_event)}) for row in view.timeline]})
    return out


@router.get("/quote", response_model=QuoteOut)
async def quote(source_id: int, db: Db, principal: CurrentPrincipal, method: Literal["pickup", "delivery"],
                source_kind: str = "prescription") -> QuoteOut:
    """The price of fulfilling a source one way or the other, as payments would charge it."""
    found = await service.preview(db, principal, source_kind, source_id)
    price = found.prices[method]
    priced = await billing.quote_price(db, facility_id=found.dispensable.facility_id,
                                       patient_id=found.dispensable.patient_id, price=price)
    return QuoteOut(source_kind=source_kind, source_id=source_id, label=found.dispensable.label,
                    facility_id=found.dispensable.facility_id, cold_chain=price.cold_chain, method=method,
                    lines=[LineOut.model_validate(line, from_attributes=True) for line in price.lines],
                    drugs_fen=price.drugs_fen, fees_fen=price.fees_fen, total_fen=price.total_fen,
                    discount_fen=priced.discount_fen, insurance_fen=priced.insurance_fen,
                    self_pay_fen=priced.self_pay_fen, rules=list(priced.rules),
                    existing_order_id=found.existing.id if found.existing else None)


@router.post("/orders", response_model=OrderOut, status_code=201)
async def place_order(body: OrderIn, db: Db, principal: CurrentPrincipal) -> OrderOut:
    """Order a source for pickup or delivery; pay at `pay_url` (nothing to pay: paid at once)."""
    address = addresses.AddressInput(**body.address.model_dump()) if body.address else None
    order = await service.place_order(db, principal, service.OrderRequest(
        source_kind=body.source_kind, source_id=body.source_id, method=body.method, address_id=body.address_id,
        address=address))
    return order_out(await service.view_of(db, order, frozenset({Party.patient})))


@router.get("/orders", response_model=OrderList)
async def list_orders(patient_id: int, db: Db, principal: CurrentPrincipal) -> OrderList:
    """A patient's medicine orders, newest first (the patient, or family acting for them)."""
    orders, parties = await service.patient_orders(db, principal, patient_id)
    return OrderList(items=[order_out(await service.view_of(db, o, parties)) for o in orders])


@router.get("/orders/{order_id}", response_model=OrderOut)
async def get_order(order_id: int, db: Db, principal: CurrentPrincipal) -> OrderOut:
    """One order with its lines, timeline and the actions the caller may take now."""
    return order_out(await service.view_order(db, principal, order_id))


@router.post("/orders/{order_id}/actions/{action}", response_model=OrderOut)
async def act(order_id: int, action: str, db: Db, principal: CurrentPrincipal,
              body: ActionIn | None = None) -> OrderOut:
    """cancel (patient or pharmacy, before packing; refunds), and the pharmacy's pack, ship (courier,
    tracking_number), prepare (pickup) and hand_over (pickup_code)."""
    body = body or ActionIn()
    steps = {
        "cancel": lambda: service.cancel_order(db, principal, order_id, body.reason),
        "pack": lambda: dispensing.pack(db, principal, order_id, body.note),
        "prepare": lambda: dispensing.prepare(db, principal, order_id, body.note),
        "ship": lambda: dispensing.ship(db, principal, order_id, courier=body.courier,
                                        tracking_number=body.tracking_number),
        "hand_over": lambda: dispensing.hand_over(db, principal, order_id, body.pickup_code),
    }
    if action not in steps:
        raise NotFound(N_("no such action"), details={"action": action})
    await steps[action]()
    return order_out(await service.view_order(db, principal, order_id))


@router.get("/addresses", response_model=list[AddressOut])
async def list_addresses(patient_id: int, db: Db, principal: CurrentPrincipal) -> list[AddressOut]:
    """The patient's remembered delivery addresses, most recently used first."""
    await service.patient_side(db, principal, patient_id, "delivery_addresses")
    return [AddressOut.model_validate(a) for a in await addresses.remembered(db, patient_id)]


@router.delete("/addresses/{address_id}", status_code=204)
async def forget_address(address_id: int, patient_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    """Stop offering an address (orders that went there keep it)."""
    await service.patient_side(db, principal, patient_id, "delivery_address_forget")
    await addresses.forget(db, patient_id, address_id)
    return Response(status_code=204)


@router.get("/dispensing", response_model=OrderList)
async def dispensing_queue(db: Db, principal: CurrentPrincipal, facility_id: int | None = None) -> OrderList:
    """Pharmacists: the facility's paid orders to prepare and the parcels still on their way."""
    items = await dispensing.queue(db, principal, facility_id)
    return OrderList(items=[order_out(await service.view_of(db, i.order, frozenset({Party.pharmacy})))
                            for i in items])


@router.get("/couriers", response_model=list[CourierOut])
async def couriers(principal: CurrentPrincipal) -> list[CourierOut]:
    """The couriers a parcel may be handed to."""
    return [CourierOut(code=code, name=name) for code, name in get_settings().delivery_couriers.items()]


WEBHOOK_DOC = {
    "parameters": [
        {"name": courier.TIMESTAMP_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
         "description": "Unix time in seconds when the courier signed the request; refused outside the "
                        "tolerance window (CAREBRIDGE_DELIVERY_WEBHOOK_TOLERANCE_SECONDS, 300 by default)"},
        {"name": courier.SIGNATURE_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
         "description": "`sha256=` + hex HMAC-SHA256 under the courier's secret of `<timestamp>.<raw body>`"},
    ],
    "requestBody": {"required": True, "content": {"application/json": {"schema": CourierEventIn.model_json_schema()}}},
    "responses": {"401": {"description": "missing, stale or wrong signature"},
                  "404": {"description": "unknown courier or tracking number (retry later)"},
                  "422": {"description": "body not in this format"}},
}


@router.post("/courier/{courier_code}/events", response_model=CourierReceiptOut, openapi_extra=WEBHOOK_DOC)
async def courier_event(courier_code: str, request: Request, db: Db) -> CourierReceiptOut:
    """A courier reports a parcel's progress (docs/delivery-webhook.md). Idempotent on `event_id`: a
    repeated event changes nothing and is answered 200 `duplicate`. Every call is kept, refused or not."""
    receipt = await courier.receive(db, courier.Call(courier_code, request.headers, await request.body(),
                                                     client_ip(request)))
    return CourierReceiptOut(status=receipt.outcome)
