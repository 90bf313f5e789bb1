"""The order's slides page: the viewer (`pathology/slide_viewer.html`, which the reading page
includes beside the report form) and, for the sender while the order takes slides, the upload
form (`pathology/slide_upload.html`). Both partials need only `order` in their context: the
viewer lists the slides from the JSON API, the form posts to it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from carebridge.diagnostics.lifecycle import Party
from carebridge.diagnostics.pathology.service import UPLOAD_STATES, slides_of
from carebridge.diagnostics.service import read_order
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)


@router.get("/diagnosis/orders/{order_id}/slides")
async def slides_page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    order, parties = await read_order(db, principal, order_id, action="diagnosis_slides_view")
    can_upload = Party.sender in parties and order.modality == "SM" and order.state in UPLOAD_STATES
    return render(request, "pathology/slides.html", {
        "order": order, "slide_count": len(await slides_of(db, order.id)), "can_upload": can_upload})
