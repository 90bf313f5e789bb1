"""Pages for diagnosis orders: the list, the order form, the order with its studies and timeline,
and a hub's reconciliation queue. They call the same services as the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.access.models import Purpose
from carebridge.access.service import WRITE, access_patient
from carebridge.auth.models import User
from carebridge.diagnostics import listing, reports, service, studies
from carebridge.diagnostics.labels import LABELS
from carebridge.diagnostics.lifecycle import OPEN, Party, State
from carebridge.diagnostics.models import DiagnosisOrder, OrderEvent, kind_of
from carebridge.network.models import Facility, ServiceKind
from carebridge.network.offerings import find_service_providers
from carebridge.records.models import Patient
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]


async def _facility_names(db: Db, ids: set[int]) -> dict[int, str]:
    rows = (await db.execute(select(Facility.id, Facility.name).where(Facility.id.in_(ids)))).all() if ids else []
    return dict(rows)


@router.get("/diagnosis")
async def my_orders(request: Request, db: Db, principal: CurrentPrincipal, cursor: str | None = None,
                    side: str = "any") -> Response:
    side = side if side in ("any", "sent", "received") else "any"
    page = await listing.list_orders(db, principal, cursor=cursor, side=side)
    names = await _facility_names(db, {o.requesting_facility_id for o in page.items}
                                  | {o.hub_facility_id for o in page.items})
    hubs = await _facility_names(db, principal.facilities_with("doctor", "technician"))
    return render(request, "diagnostics/list.html", {"page": page, "labels": LABELS, "names": names,
                                                     "side": side, "hubs": hubs})


async def _hub_choices(db: Db, facility_id: int) -> dict[str, list[Facility]]:
    """Per reading service, the hubs that offer it to this facility, nearest higher tier first."""
    out = {}
    for kind in (ServiceKind.imaging_reading, ServiceKind.ecg_reading, ServiceKind.pathology_reading):
        out[kind.value] = [m.facility for m in await find_service_providers(db, kind=kind, for_facility_id=facility_id)]
    return out


@router.get("/diagnosis/orders/new")
async def order_form(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int) -> Response:
    access = await access_patient(db, principal, patient_id, purpose=Purpose.diagnosis,
                                  action="diagnosis_order_form", mode=WRITE)
    return render(request, "diagnostics/new.html", {
        "patient": access.patient, "labels": LABELS, "hubs": await _hub_choices(db, access.facility_id)})


@router.post("/diagnosis/orders/new")
async def order_submit(db: Db, principal: CurrentPrincipal, patient_id: Annotated[int, Form()],
                       modality: Annotated[str, Form(max_length=8)], clinical_question: Text,
                       urgency: Annotated[str, Form(max_length=10)] = "routine",
                       body_part: Annotated[str, Form(max_length=64)] = "",
                       accession_number: Annotated[str, Form(max_length=16)] = "",
                       hub_facility_id: Annotated[str, Form(max_length=20)] = "",
                       frozen_section: Annotated[str, Form(max_length=5)] = "") -> Response:
    order = await service.order_diagnosis(db, principal, service.OrderRequest(
        patient_id=patient_id, modality=modality, clinical_question=clinical_question, urgency=urgency,
        body_part=body_part, accession_number=accession_number,
        hub_facility_id=int(hub_facility_id) if hub_facility_id.isdigit() else None,
        frozen_section=bool(frozen_section)))
    return RedirectResponse(f"/diagnosis/orders/{order.id}", status_code=303)


async def order_context(db: Db, order: DiagnosisOrder, parties: frozenset) -> dict:
    events = (await db.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)
                               .order_by(OrderEvent.at, OrderEvent.id))).all()
    actors = {e.actor_user_id for e in events if e.actor_user_id}
    people = dict((await db.execute(select(User.id, User.display_name).where(User.id.in_(actors)))).all()) \
        if actors else {}
    return {"order": order, "patient": await db.get(Patient, order.patient_id), "labels": LABELS,
            "studies": await studies.studies_of_order(db, order.id), "events": events, "people": people,
            "kind": kind_of(order.modality).value, "is_sender": Party.sender in parties,
            "is_reader": Party.reader in parties, "open": State(order.state) in OPEN,
            "names": await _facility_names(db, {order.requesting_facility_id, order.hub_facility_id})}


@router.get("/diagnosis/orders/{order_id}")
async def order_page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    order, parties = await service.read_order(db, principal, order_id)
    context = await order_context(db, order, parties)
    context["report"] = await reports.view_for(db, principal, order, parties)  # the report panel's context
    return render(request, "diagnostics/order.html", context)


@router.post("/diagnosis/orders/{order_id}/cancel")
async def order_cancel(db: Db, principal: CurrentPrincipal, order_id: int, reason: Text) -> Response:
    await service.cancel_order(db, principal, order_id, reason)
    return RedirectResponse(f"/diagnosis/orders/{order_id}", status_code=303)


@router.get("/diagnosis/hubs/{hub_id}/reconciliation")
async def reconciliation(request: Request, db: Db, principal: CurrentPrincipal, hub_id: int) -> Response:
    waiting = await studies.unmatched_studies(db, principal, hub_id, limit=200)
    senders = {s.sending_facility_id for s in waiting}
    candidates = (await db.scalars(select(DiagnosisOrder).where(
        DiagnosisOrder.hub_facility_id == hub_id, DiagnosisOrder.requesting_facility_id.in_(senders),
        DiagnosisOrder.state == State.awaiting_study.value).order_by(DiagnosisOrder.id.desc()).limit(500))).all() \
        if senders else []
    return render(request, "diagnostics/reconciliation.html", {
        "hub_id": hub_id, "waiting": waiting, "candidates": candidates, "labels": LABELS,
        "names": await _facility_names(db, senders | {hub_id})})


@router.post("/diagnosis/hubs/{hub_id}/reconciliation/{study_id}")
async def reconcile(db: Db, principal: CurrentPrincipal, hub_id: int, study_id: int,
                    order_id: Annotated[int, Form()]) -> Response:
    await studies.link_study(db, principal, study_id, order_id)
    return RedirectResponse(f"/diagnosis/hubs/{hub_id}/reconciliation", status_code=303)
