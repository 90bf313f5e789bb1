"""Staff pages under /nursing (nurses on phones, coordinators on laptops): the nurse's visits, one
order as its staff see it (assessment form, dispatch with ranked nurses, accept, check-in/out with
the browser's position, visit record, photos, SOS), the coordinator's desk and SOS alerts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from carebridge.auth.models import Role
from carebridge.errors import Conflict, InvalidInput
from carebridge.kit.i18n import gettext as _
from carebridge.portal.home_nursing import (
    assessment,
    catalogue,
    dispatch,
    feedback,
    labels,
    mine,  # noqa: F401 - registers the "my orders" source
    nurses,
    paying,  # noqa: F401 - registers the on_paid handler
    prices,  # noqa: F401 - registers the catalogue on the price list
    queues,
    sos,
    tasks,  # noqa: F401 - registers the timer sweeps
    visit,
)
from carebridge.portal.home_nursing.geo import WINDOW_LABELS, window_of
from carebridge.portal.home_nursing.lifecycle import Action, Party
from carebridge.portal.home_nursing.page_parts import facility_name, names, order_context, yuan
from carebridge.portal.home_nursing.service import access_order
from carebridge.portal.home_nursing.views import problem_text
from carebridge.portal.home_nursing.vitals import DEFAULT_LIMITS, LIMITS
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
Text = Annotated[str, Form(max_length=500)]
Coordinate = Annotated[str, Form(max_length=30)]


@router.get("/nursing")
async def nursing_home(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    if principal.patient_id is not None and not principal.is_clinician and not principal.is_admin:
        return RedirectResponse("/portal/nursing", status_code=303)
    board = await queues.nurse_board(db, principal)
    facilities = {f: await facility_name(db, f) for f in queues.coordinated_facilities(principal)}
    return render(request, "nursing/nurse_board.html", {
        "board": board, "labels": labels, "yuan": yuan, "coordinated": facilities,
        "is_nurse": principal.has_role(Role.nurse), "is_doctor": principal.has_role(Role.doctor)})


async def _staff_page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, *,
                      error: str | None = None, status_code: int = 200) -> Response:
    seen = await access_order(db, principal, order_id)
    if seen.parties == {Party.patient}:
        return RedirectResponse(f"/portal/nursing/{order_id}", status_code=303)
    context = await order_context(db, seen)
    order = seen.order
    day, window = window_of(order.window_start)
    extra: dict = {"candidates": [], "allergies": []}
    if Party.coordinator in seen.parties and order.state in ("assessed", "dispatched"):
        extra["candidates"] = await dispatch.candidates(db, order)
    if Party.assessor in seen.parties and order.state == "requested":
        extra["allergies"] = await assessment.record_allergies(db, principal, order)
    return render(request, "nursing/staff_order.html", {
        **context, **extra, "day": day, "window_label": WINDOW_LABELS.get(window, ""), "error": error,
        "photos": await visit.photos_of(db, order_id), "complaints": await feedback.complaints_of_order(db, order_id),
        "problem_text": problem_text, "procedures": catalogue.procedures_for(order.service_code),
        "default_limits": DEFAULT_LIMITS, "limit_names": LIMITS, "risks": assessment.RISKS,
        "environments": assessment.ENVIRONMENTS, "assessment_labels": assessment.LABELS,
        "nurse_names": await names(db, {order.nurse_user_id} if order.nurse_user_id else set()),
        "credential_label": catalogue.credential_label}, status_code=status_code)


@router.get("/nursing/orders/{order_id}")
async def staff_order(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    return await _staff_page(request, db, principal, order_id)


async def _then(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                work: Callable[[], Awaitable[object]], back: str | None = None) -> Response:
    """Runs the use case; a refusal is shown on the order page with nothing of it kept."""
    try:
        await work()
    except (InvalidInput, Conflict) as problem:
        await db.rollback()
        return await _staff_page(request, db, principal, order_id, error=_(problem.message),
                                 status_code=problem.status_code)
    return RedirectResponse(back or f"/nursing/orders/{order_id}", status_code=303)


def _number(value: str) -> float | None:
    try:
        return float(value) if value.strip() else None
    except ValueError:
        raise InvalidInput(_("enter numbers only"), details={"value": value}) from None


@router.post("/nursing/orders/{order_id}/assess")
async def assess(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                 fall_risk: Annotated[str, Form(max_length=10)], infection_risk: Annotated[str, Form(max_length=10)],
                 home_environment: Annotated[str, Form(max_length=20)], outcome: Annotated[str, Form(max_length=10)],
                 home_notes: Text = "", allergies: Text = "", reason: Text = "") -> Response:
    form = await request.form()

    async def work() -> None:
        limits = {name: _number(str(form.get(f"limit_{name}", ""))) for name in LIMITS}
        await assessment.assess(db, principal, order_id, assessment.AssessmentInput(
            fall_risk=fall_risk, infection_risk=infection_risk, home_environment=home_environment, outcome=outcome,
            home_notes=home_notes, allergies=allergies, limits=limits, reason=reason))
    return await _then(request, db, principal, order_id, work)


@router.post("/nursing/orders/{order_id}/dispatch")
async def dispatch_order(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    chosen = [int(v) for v in (await request.form()).getlist("practitioner_id") if str(v).isdigit()]
    return await _then(request, db, principal, order_id, lambda: dispatch.dispatch(db, principal, order_id, chosen))


@router.post("/nursing/orders/{order_id}/actions/{action}")
async def coordinate(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, action: Action,
                     reason: Text = "") -> Response:
    if action == Action.cancel:
        from carebridge.portal.home_nursing.booking import cancel

        return await _then(request, db, principal, order_id, lambda: cancel(db, principal, order_id, reason))
    return await _then(request, db, principal, order_id,
                       lambda: dispatch.coordinate(db, principal, order_id, action, reason))


@router.post("/nursing/orders/{order_id}/accept")
async def accept(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    return await _then(request, db, principal, order_id, lambda: dispatch.accept(db, principal, order_id))


@router.post("/nursing/orders/{order_id}/decline")
async def decline(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, reason: Text = "") -> Response:
    return await _then(request, db, principal, order_id, lambda: dispatch.decline(db, principal, order_id, reason),
                       back="/nursing")


@router.post("/nursing/orders/{order_id}/depart")
async def depart(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    return await _then(request, db, principal, order_id, lambda: visit.depart(db, principal, order_id))


def _position(latitude: str, longitude: str, accuracy: str) -> visit.Position:
    lat, lon = _number(latitude), _number(longitude)
    if lat is None or lon is None:
        raise InvalidInput(_("the position is missing: allow this page to use your location and try again"),
                           details={"field": "latitude"})
    return visit.Position(lat, lon, _number(accuracy))


@router.post("/nursing/orders/{order_id}/check-in")
async def check_in(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, latitude: Coordinate = "",
                   longitude: Coordinate = "", accuracy: Coordinate = "", reason: Text = "") -> Response:
    return await _then(request, db, principal, order_id, lambda: visit.check_in(
        db, principal, order_id, _position(latitude, longitude, accuracy), reason))


@router.post("/nursing/orders/{order_id}/check-out")
async def check_out(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, latitude: Coordinate = "",
                    longitude: Coordinate = "", accuracy: Coordinate = "") -> Response:
    return await _then(request, db, principal, order_id, lambda: visit.check_out(
        db, principal, order_id, _position(latitude, longitude, accuracy)))


@router.post("/nursing/orders/{order_id}/record")
async def save_record(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                      notes: Annotated[str, Form(max_length=4000)] = "",
                      other: Annotated[str, Form(max_length=100)] = "") -> Response:
    form = await request.form()

    async def work() -> None:
        procedures = [str(p) for p in form.getlist("procedure")] + ([other] if other.strip() else [])
        vitals = {key: _number(str(form.get(f"vital_{key}", ""))) for key in visit.VITALS}
        await visit.save_record(db, principal, order_id, visit.RecordInput(
            procedures=procedures, vitals={k: v for k, v in vitals.items() if v is not None}, notes=notes))
    return await _then(request, db, principal, order_id, work)


@router.post("/nursing/orders/{order_id}/photos")
async def add_photo(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                    file: Annotated[UploadFile, File()]) -> Response:
    max_bytes = request.app.state.settings.upload_max_bytes
    data = await file.read(max_bytes + 1)
    return await _then(request, db, principal, order_id, lambda: visit.add_photo(
        db, principal, order_id, blobs=request.app.state.blobs, data=data, filename=file.filename or "",
        content_type=file.content_type or "", max_bytes=max_bytes))


@router.post("/nursing/position")
async def update_position(db: Db, principal: CurrentPrincipal, latitude: Coordinate = "",
                          longitude: Coordinate = "") -> Response:
    at = _position(latitude, longitude, "")
    await nurses.update_my_position(db, principal, at.latitude, at.longitude)
    return RedirectResponse("/nursing", status_code=303)


# --- SOS -------------------------------------------------------------------------------------

@router.post("/nursing/sos")
async def raise_sos(db: Db, principal: CurrentPrincipal, latitude: Coordinate = "", longitude: Coordinate = "",
                    accuracy: Coordinate = "", note: Text = "",
                    order_id: Annotated[int | None, Form()] = None) -> Response:
    lat, lon = _number(latitude), _number(longitude)
    alert = await sos.raise_sos(db, principal, latitude=lat if lon is not None else None,
                                longitude=lon if lat is not None else None, accuracy_m=_number(accuracy),
                                note=note, order_id=order_id)
    return RedirectResponse(f"/nursing/sos/{alert.id}", status_code=303)


@router.get("/nursing/sos/{sos_id}")
async def sos_page(request: Request, db: Db, principal: CurrentPrincipal, sos_id: int) -> Response:
    alert = await sos.access_sos(db, principal, sos_id)
    people = await names(db, {alert.nurse_user_id, alert.acknowledged_by_id or 0})
    return render(request, "nursing/sos.html", {
        "alert": alert, "people": people, "facility_name": await facility_name(db, alert.facility_id),
        "may_acknowledge": principal.has_role(Role.facility_admin, alert.facility_id)})


@router.post("/nursing/sos/{sos_id}/acknowledge")
async def acknowledge(db: Db, principal: CurrentPrincipal, sos_id: int, note: Text = "") -> Response:
    await sos.acknowledge(db, principal, sos_id, note)
    return RedirectResponse(f"/nursing/sos/{sos_id}", status_code=303)


# --- the coordinator's desk ------------------------------------------------------------------

@router.get("/nursing/desk")
async def desk(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int | None = None) -> Response:
    facilities = queues.coordinated_facilities(principal)
    facility_id = facility_id if facility_id is not None else (facilities[0] if facilities else 0)
    found = await queues.coordination_desk(db, principal, facility_id)
    alerts = await sos.open_alerts(db, principal, facility_id)
    complaints = await feedback.open_complaints(db, principal, facility_id)
    people = await names(db, {a.nurse_user_id for a in alerts}
                         | {o.nurse_user_id for o in found.open if o.nurse_user_id})
    return render(request, "nursing/desk.html", {
        "desk": found, "alerts": alerts, "complaints": complaints, "people": people, "labels": labels,
        "yuan": yuan, "facility_id": facility_id, "facility_name": await facility_name(db, facility_id),
        "facilities": {f: await facility_name(db, f) for f in facilities}})


@router.post("/nursing/complaints/{complaint_id}/response")
async def respond(db: Db, principal: CurrentPrincipal, complaint_id: int,
                  text: Annotated[str, Form(max_length=1000)]) -> Response:
    complaint = await feedback.respond(db, principal, complaint_id, text)
    return RedirectResponse(f"/nursing/desk?facility_id={complaint.facility_id}", status_code=303)
