"""The patient's pages (phones): choose pickup or delivery and pay, follow an order's timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.config import get_settings
from carebridge.errors import CareBridgeError, NotFound
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.payments import labels as payment_labels
from carebridge.portal.delivery import addresses, billing, labels, service
from carebridge.portal.delivery import mine as _mine  # noqa: F401 - registers the "my orders" source
from carebridge.portal.delivery.api import SHOWS_PICKUP_CODE
from carebridge.portal.delivery.lifecycle import Party
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import is_htmx, render

router = make_router(include_in_schema=False)
Short = Annotated[str, Form(max_length=200)]


def _context(**extra: object) -> dict:
    return {"labels": labels, "courier_names": get_settings().delivery_couriers, **extra}


@router.get("/portal/deliveries")
async def my_deliveries(request: Request, db: Db, principal: CurrentPrincipal,
                        patient_id: int | None = None) -> Response:
    chosen = patient_id or principal.patient_id
    if chosen is None:
        raise NotFound(N_("patient not found"))
    orders, _parties = await service.patient_orders(db, principal, chosen)
    return render(request, "delivery/list.html", _context(orders=orders, patient_id=chosen))


async def _new_form(request: Request, db: Db, principal: CurrentPrincipal, kind: str, source_id: int, *,
                    form: dict | None = None, error: str | None = None, status_code: int = 200) -> Response:
    found = await service.preview(db, principal, kind, source_id)
    quotes = {method: await billing.quote_price(db, facility_id=found.dispensable.facility_id,
                                                patient_id=found.dispensable.patient_id, price=price)
              for method, price in found.prices.items()}
    return render(request, "delivery/new.html", _context(
        found=found, quotes=quotes, remembered=await addresses.remembered(db, found.dispensable.patient_id),
        form=form or {"method": "delivery"}, error=error, rule_labels=payment_labels.RULE), status_code=status_code)


@router.get("/portal/deliveries/new")
async def new_delivery(request: Request, db: Db, principal: CurrentPrincipal, prescription: int | None = None,
                       kind: str = "prescription", source_id: int | None = None) -> Response:
    """`?prescription=<id>` or `?kind=<source kind>&source_id=<id>`."""
    chosen = prescription if prescription is not None else source_id
    if chosen is None:
        raise NotFound(N_("there is no such page or resource"))
    return await _new_form(request, db, principal, "prescription" if prescription is not None else kind, chosen)


@router.post("/portal/deliveries")
async def place_order(request: Request, db: Db, principal: CurrentPrincipal,
                      source_kind: Annotated[str, Form(max_length=30)], source_id: Annotated[int, Form()],
                      method: Annotated[str, Form(max_length=10)], address_id: Annotated[str, Form(max_length=20)] = "",
                      recipient: Short = "", phone: Short = "", region: Short = "", detail: Short = "") -> Response:
    chosen = int(address_id) if address_id.isdigit() else None
    typed = None if chosen else addresses.AddressInput(recipient, phone, region, detail)
    request_ = service.OrderRequest(source_kind=source_kind, source_id=source_id, method=method, address_id=chosen,
                                    address=typed)
    try:
        order = await service.place_order(db, principal, request_)
    except CareBridgeError as problem:
        if problem.status_code not in (409, 422):
            raise
        await db.rollback()  # nothing of the refused order is kept; the form is shown again
        form = {"method": method, "address_id": address_id, "recipient": recipient, "phone": phone,
                "region": region, "detail": detail, "field": (problem.details or {}).get("field", "")}
        return await _new_form(request, db, principal, source_kind, source_id, form=form, error=_(problem.message),
                               status_code=problem.status_code)
    if order.state == "awaiting_payment" and order.charge_id:
        return RedirectResponse(f"/payments/charges/{order.charge_id}", status_code=303)
    return RedirectResponse(f"/portal/deliveries/{order.id}", status_code=303)


def _order_context(view: service.OrderView) -> dict:
    return _context(v=view, o=view.order, is_patient=Party.patient in view.parties,
                    pickup_code=view.order.pickup_code if Party.patient in view.parties
                    and view.order.state in SHOWS_PICKUP_CODE else "")


@router.get("/portal/deliveries/{order_id}")
async def order_page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    view = await service.view_order(db, principal, order_id)
    template = "delivery/order_body.html" if is_htmx(request) else "delivery/order.html"
    return render(request, template, _order_context(view))


@router.post("/portal/deliveries/{order_id}/cancel")
async def cancel(db: Db, principal: CurrentPrincipal, order_id: int,
                 reason: Annotated[str, Form(max_length=300)] = "") -> Response:
    await service.cancel_order(db, principal, order_id, reason)
    return RedirectResponse(f"/portal/deliveries/{order_id}", status_code=303)
