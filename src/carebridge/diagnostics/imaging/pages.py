"""Pages: the technician's DICOM upload (pick an order or none, choose files or a folder, watch
each file go) and the facility admin's list of DICOM peers. Both call the same services as the API;
the upload page sends each file to the JSON upload routes, one request per file."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select

from carebridge.diagnostics import service as diagnosis
from carebridge.diagnostics.imaging import peers
from carebridge.diagnostics.lifecycle import State
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.errors import NotFound
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.network.service import check_facility_admin
from carebridge.network.web_forms import Outcome, attempt, checked, localized, redirect, render_page, text
from carebridge.records.models import Patient
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(include_in_schema=False)
ORDERS_SHOWN = 50


async def _waiting_orders(db: Db, principal: CurrentPrincipal) -> list[tuple[DiagnosisOrder, Patient]]:
    """The caller's facilities' orders waiting for images, newest first; showing one is audited."""
    facilities = principal.facilities_with(*diagnosis.SENDER_ROLES)
    rows = (await db.execute(select(DiagnosisOrder, Patient).join(Patient, Patient.id == DiagnosisOrder.patient_id)
                             .where(DiagnosisOrder.requesting_facility_id.in_(facilities),
                                    DiagnosisOrder.state == State.awaiting_study.value)
                             .order_by(DiagnosisOrder.created_at.desc()).limit(ORDERS_SHOWN))).all()
    for order, _patient in rows:
        await diagnosis.audit_order(db, principal.actor(order.requesting_facility_id), order, "upload_list",
                                    outcome="allowed")
    return [(order, patient) for order, patient in rows]


@router.get("/diagnosis/imaging/upload")
async def upload_page(request: Request, db: Db, principal: CurrentPrincipal, order: int | None = None) -> Response:
    facilities = principal.facilities_with(*diagnosis.SENDER_ROLES)
    if not facilities:
        raise NotFound(N_("page not found"))
    orders = await _waiting_orders(db, principal)
    names = {f.id: f for f in (await db.scalars(select(Facility).where(Facility.id.in_(facilities)))).all()}
    return render_page(request, "imaging/upload.html", {
        "orders": orders, "chosen": order, "facilities": [names[i] for i in sorted(names)],
        "upload_js": "/static/imaging-upload.js"})


# --- DICOM peers -----------------------------------------------------------------------------

async def _peers_page(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int,
                      outcome: Outcome | None = None, form: Any = None) -> Response:
    check_facility_admin(principal, facility_id)
    facility = await db.get(Facility, facility_id)
    hubs = await peers.reading_hubs(db, facility_id)
    return render_page(request, "imaging/peers.html", {
        "facility": facility, "peers": await peers.list_peers(db, principal, facility_id), "hubs": hubs,
        "hub_names": {h.id: localized(h) for h in hubs}, "error": outcome.error if outcome else None,
        "saved": request.query_params.get("saved"), "form": form or {}},
        status_code=outcome.status_code if outcome and outcome.error else 200)


@router.get("/facilities/{facility_id}/dicom-peers")
async def peers_page(request: Request, facility_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    return await _peers_page(request, db, principal, facility_id)


def _peer_data(form: Any) -> peers.PeerData:
    port, hub = text(form, "port"), text(form, "hub_facility_id")
    return peers.PeerData(ae_title=text(form, "ae_title"), description=text(form, "description"),
                          host=text(form, "host"), port=int(port) if port.isdigit() else None,
                          hub_facility_id=int(hub) if hub.isdigit() else None, active=checked(form, "active"))


@router.post("/facilities/{facility_id}/dicom-peers")
async def register_peer(request: Request, facility_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    outcome = await attempt(db, lambda: peers.register_peer(db, principal, facility_id, _peer_data(form)))
    if outcome.error is None:
        return redirect(f"/facilities/{facility_id}/dicom-peers?saved=1")
    return await _peers_page(request, db, principal, facility_id, outcome, form)


@router.post("/dicom-peers/{peer_id}")
async def update_peer(request: Request, peer_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    peer = await peers.get_peer(db, principal, peer_id)
    facility_id = peer.facility_id
    outcome = await attempt(db, lambda: peers.update_peer(db, principal, peer_id, _peer_data(form)))
    if outcome.error is None:
        return redirect(f"/facilities/{facility_id}/dicom-peers?saved=1")
    return await _peers_page(request, db, principal, facility_id, outcome)


