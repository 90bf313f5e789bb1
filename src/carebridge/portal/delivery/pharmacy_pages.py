"""The pharmacy's dispensing page (laptops): paid orders to pack or put aside, parcels to hand to a
courier, pickups to hand over against the patient's code."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.config import get_settings
from carebridge.errors import CareBridgeError
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Facility
from carebridge.portal.delivery import dispensing, labels, service
from carebridge.portal.delivery.models import DeliveryOrder
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
SECTIONS = [  # (title, state, method) in the order the work is done
    (N_("To pack"), "paid", "delivery"), (N_("To hand to the courier"), "packed", "delivery"),
    (N_("Pickups to put aside"), "paid", "pickup"), (N_("Waiting at the counter"), "ready_for_pickup", "pickup"),
    (N_("On the way"), "shipped", "delivery"), (N_("Delivery failed"), "failed", "delivery"),
]


async def _page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int | None, *,
                error: str = "", error_order: int | None = None, status_code: int = 200) -> Response:
    chosen = dispensing.require_pharmacist(principal, facility_id)
    items = await dispensing.queue(db, principal, chosen)
    facilities = (await db.scalars(select(Facility).where(
        Facility.id.in_(dispensing.pharmacy_facilities(principal))).order_by(Facility.name))).all()
    sections = [(title, [i for i in items if i.order.state == state and i.order.method == method])
                for title, state, method in SECTIONS]
    return render(request, "delivery/dispensing.html", {
        "sections": sections, "facilities": facilities, "facility_id": chosen, "labels": labels,
        "couriers": get_settings().delivery_couriers, "error": error, "error_order": error_order},
        status_code=status_code)


@router.get("/pharmacy/dispensing")
async def dispensing_page(request: Request, db: Db, principal: CurrentPrincipal,
                          facility_id: int | None = None) -> Response:
    return await _page(request, db, principal, facility_id)


@router.post("/pharmacy/dispensing/{order_id}/{action}")
async def dispensing_action(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, action: str,
                            courier: Annotated[str, Form(max_length=20)] = "",
                            tracking_number: Annotated[str, Form(max_length=40)] = "",
                            pickup_code: Annotated[str, Form(max_length=6)] = "",
                            reason: Annotated[str, Form(max_length=300)] = "") -> Response:
    steps = {
        "pack": lambda: dispensing.pack(db, principal, order_id),
        "prepare": lambda: dispensing.prepare(db, principal, order_id),
        "ship": lambda: dispensing.ship(db, principal, order_id, courier=courier, tracking_number=tracking_number),
        "hand_over": lambda: dispensing.hand_over(db, principal, order_id, pickup_code),
        "cancel": lambda: service.cancel_order(db, principal, order_id, reason),
    }
    if action not in steps:
        return await _page(request, db, principal, None, error=_("no such action"), status_code=404)
    try:
        order = await steps[action]()
    except CareBridgeError as problem:
        if problem.status_code not in (409, 422):
            raise
        await db.rollback()  # nothing of the refused step is kept; the list is shown again with why
        order_facility = await _facility_of(db, order_id)
        return await _page(request, db, principal, order_facility, error=_(problem.message), error_order=order_id,
                           status_code=problem.status_code)
    return RedirectResponse(f"/pharmacy/dispensing?facility_id={order.facility_id}#order-{order.id}", status_code=303)


async def _facility_of(db: Db, order_id: int) -> int | None:
    return await db.scalar(select(DeliveryOrder.facility_id).where(DeliveryOrder.id == order_id))
