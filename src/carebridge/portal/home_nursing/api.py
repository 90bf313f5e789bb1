"""JSON routes for home nursing under /api/v1/nursing: catalogue and nurses (facility admins),
booking and feedback (patients and their family), assessment and visits (nurses), dispatch,
SOS and complaints (the facility's coordinators), doctors' home-nursing orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Request, UploadFile

from carebridge.errors import Forbidden
from carebridge.kit.i18n import N_
from carebridge.portal.home_nursing import (
    assessment,
    booking,
    catalogue,
    dispatch,
    doctor_orders,
    feedback,
    mine,  # noqa: F401 - registers the "my orders" source
    nurses,
    paying,  # noqa: F401 - registers the on_paid handler
    prices,  # noqa: F401 - registers the catalogue on the price list
    queues,
    sos,
    tasks,  # noqa: F401 - registers the timer sweeps
    visit,
)
from carebridge.portal.home_nursing.eligibility import check_eligibility
from carebridge.portal.home_nursing.lifecycle import Action, Party
from carebridge.portal.home_nursing.schemas import (
    AckIn,
    AssessmentIn,
    BookingIn,
    CandidateOut,
    CheckInIn,
    ComplaintIn,
    ComplaintOut,
    CredentialIn,
    CredentialOut,
    DispatchIn,
    DoctorOrderIn,
    DoctorOrderOut,
    EligibilityOut,
    FacilityOut,
    GroundOut,
    NurseBoardOut,
    NurseOut,
    OrderList,
    OrderOut,
    PhotoOut,
    PositionIn,
    ProfileIn,
    RatingIn,
    ReasonIn,
    RecordIn,
    RecordOut,
    ServiceIn,
    ServiceOut,
    SosIn,
    SosOut,
)
from carebridge.portal.home_nursing.service import access_order, events_of
from carebridge.portal.home_nursing.views import candidate_out, nurse_out, order_out, seen_out
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1/nursing", tags=["home nursing"])


async def _order(db: Db, principal: CurrentPrincipal, order_id: int, with_events: bool = False) -> OrderOut:
    seen = await access_order(db, principal, order_id)
    return seen_out(seen, await events_of(db, order_id) if with_events else None)


# --- catalogue and nurses --------------------------------------------------------------------

@router.get("/facilities", response_model=list[FacilityOut])
async def facilities_offering(db: Db, _principal: CurrentPrincipal) -> list[FacilityOut]:
    """Facilities with a home-nursing catalogue."""
    return [FacilityOut(id=f.id, name=f.name, name_en=f.name_en) for f in await catalogue.facilities_offering(db)]


@router.get("/facilities/{facility_id}/services", response_model=list[ServiceOut])
async def list_services(db: Db, _principal: CurrentPrincipal, facility_id: int,
                        include_inactive: bool = False) -> list[ServiceOut]:
    services = await catalogue.list_services(db, facility_id, active_only=not include_inactive)
    return [ServiceOut.model_validate(s) for s in services]


@router.post("/facilities/{facility_id}/services", response_model=ServiceOut, status_code=201)
async def create_service(db: Db, principal: CurrentPrincipal, facility_id: int, body: ServiceIn) -> ServiceOut:
    service = await catalogue.create_service(db, principal, facility_id, catalogue.ServiceInput(**body.model_dump()))
    return ServiceOut.model_validate(service)


@router.post("/facilities/{facility_id}/services/starter", response_model=list[ServiceOut])
async def install_starter(db: Db, principal: CurrentPrincipal, facility_id: int) -> list[ServiceOut]:
    """Adds the bundled starter services the facility lacks (existing prices are kept)."""
    return [ServiceOut.model_validate(s) for s in await catalogue.install_starter(db, principal, facility_id)]


@router.put("/services/{service_id}", response_model=ServiceOut)
async def update_service(db: Db, principal: CurrentPrincipal, service_id: int, body: ServiceIn) -> ServiceOut:
    service = await catalogue.update_service(db, principal, service_id, catalogue.ServiceInput(**body.model_dump()))
    return ServiceOut.model_validate(service)


@router.get("/facilities/{facility_id}/nurses", response_model=list[NurseOut])
async def list_nurses(db: Db, principal: CurrentPrincipal, facility_id: int) -> list[NurseOut]:
    from carebridge.network.service import check_facility_admin

    check_facility_admin(principal, facility_id)
    return [nurse_out(n) for n in await nurses.nurses_of(db, facility_id)]


@router.put("/nurses/{practitioner_id}/profile", response_model=NurseOut)
async def set_profile(db: Db, principal: CurrentPrincipal, practitioner_id: int, body: ProfileIn) -> NurseOut:
    """Licence validity, start of practice and base position of a nurse of your facility."""
    await nurses.set_profile(db, principal, practitioner_id, nurses.ProfileInput(**body.model_dump()))
    return nurse_out(await nurses.nurse_by_id(db, practitioner_id))


@router.put("/nurses/{practitioner_id}/credentials/{credential}", response_model=CredentialOut)
async def set_credential(db: Db, principal: CurrentPrincipal, practitioner_id: int, credential: str,
                         body: CredentialIn) -> CredentialOut:
    row = await nurses.set_credential(db, principal, practitioner_id, credential, **body.model_dump())
    return CredentialOut(credential=row.credential, certificate_no=row.certificate_no, valid_until=row.valid_until)


@router.delete("/nurses/{practitioner_id}/credentials/{credential}", status_code=204)
async def remove_credential(db: Db, principal: CurrentPrincipal, practitioner_id: int, credential: str) -> None:
    await nurses.remove_credential(db, principal, practitioner_id, credential)


@router.put("/me/position", status_code=204)
async def update_my_position(db: Db, principal: CurrentPrincipal, body: PositionIn) -> None:
    """A nurse's current position (browser geolocation), used by dispatch while fresh."""
    await nurses.update_my_position(db, principal, body.latitude, body.longitude)


# --- patients --------------------------------------------------------------------------------

@router.get("/eligibility", response_model=EligibilityOut)
async def eligibility(db: Db, principal: CurrentPrincipal, patient_id: int,
                      service_code: str | None = None) -> EligibilityOut:
    """Whether the patient may book, each ground explained (age, disability, discharge, doctor's order)."""
    access = await booking.access_as_patient(db, principal, patient_id, "nursing_eligibility")
    found = await check_eligibility(db, access, service_code)
    return EligibilityOut(eligible=found.eligible,
                          grounds=[GroundOut(code=g.code, met=g.met, text=g.text) for g in found.grounds])


@router.post("/orders", response_model=OrderOut, status_code=201)
async def book(db: Db, principal: CurrentPrincipal, body: BookingIn) -> OrderOut:
    """Book a home visit for yourself or the family member you act for; 422 `not_eligible` explains why not."""
    order = await booking.book(db, principal, booking.BookingInput(**body.model_dump()))
    return await _order(db, principal, order.id)


@router.get("/orders", response_model=OrderList)
async def patient_orders(db: Db, principal: CurrentPrincipal, patient_id: int) -> OrderList:
    _access, orders = await booking.orders_of_patient(db, principal, patient_id)
    return OrderList(items=[order_out(o, {"patient"}) for o in orders])


@router.get("/orders/{order_id}", response_model=OrderOut)
async def get_order(db: Db, principal: CurrentPrincipal, order_id: int) -> OrderOut:
    """One order with its timeline; patients, the facility's coordinators and the nurses it concerns."""
    return await _order(db, principal, order_id, with_events=True)


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
async def cancel(db: Db, principal: CurrentPrincipal, order_id: int, body: ReasonIn) -> OrderOut:
    """Patient or coordinator, before check-in; the refund follows the configured rules."""
    await booking.cancel(db, principal, order_id, body.reason)
    return await _order(db, principal, order_id, with_events=True)


@router.post("/orders/{order_id}/rating", response_model=OrderOut)
async def rate(db: Db, principal: CurrentPrincipal, order_id: int, body: RatingIn) -> OrderOut:
    await feedback.rate(db, principal, order_id, body.stars, body.comment)
    return await _order(db, principal, order_id, with_events=True)


@router.post("/orders/{order_id}/complaints", response_model=ComplaintOut, status_code=201)
async def complain(db: Db, principal: CurrentPrincipal, order_id: int, body: ComplaintIn) -> ComplaintOut:
    return ComplaintOut.model_validate(await feedback.complain(db, principal, order_id, body.text))


# --- nurses ----------------------------------------------------------------------------------

@router.get("/visits", response_model=NurseBoardOut)
async def my_visits(db: Db, principal: CurrentPrincipal) -> NurseBoardOut:
    """The calling nurse's open offers, visits, recent visits and (assessors) orders to assess."""
    board = await queues.nurse_board(db, principal)

    def outs(orders: list, parties: set) -> list[OrderOut]:
        return [order_out(o, parties) for o in orders]
    return NurseBoardOut(offers=outs(board.offers, {"offered"}), visits=outs(board.visits, {"nurse"}),
                         done=outs(board.done, {"nurse"}), to_assess=outs(board.to_assess, {"assessor"}))


@router.post("/orders/{order_id}/assessment", response_model=OrderOut)
async def assess(db: Db, principal: CurrentPrincipal, order_id: int, body: AssessmentIn) -> OrderOut:
    await assessment.assess(db, principal, order_id, assessment.AssessmentInput(**body.model_dump()))
    return await _order(db, principal, order_id)


@router.post("/orders/{order_id}/accept", response_model=OrderOut)
async def accept(db: Db, principal: CurrentPrincipal, order_id: int) -> OrderOut:
    """The offered nurse takes the visit; of two nurses accepting at once one gets 409 `taken`."""
    await dispatch.accept(db, principal, order_id)
    return await _order(db, principal, order_id)


@router.post("/orders/{order_id}/decline", response_model=OrderOut)
async def decline(db: Db, principal: CurrentPrincipal, order_id: int, body: ReasonIn) -> OrderOut:
    await dispatch.decline(db, principal, order_id, body.reason)
    return await _order(db, principal, order_id)


@router.post("/orders/{order_id}/depart", response_model=OrderOut)
async def depart(db: Db, principal: CurrentPrincipal, order_id: int) -> OrderOut:
    await visit.depart(db, principal, order_id)
    return await _order(db, principal, order_id)


@router.post("/orders/{order_id}/check-in", response_model=OrderOut)
async def check_in(db: Db, principal: CurrentPrincipal, order_id: int, body: CheckInIn) -> OrderOut:
    """Position from the browser, time from the server; far from the address needs a reason (422 `too_far`)."""
    at = visit.Position(body.latitude, body.longitude, body.accuracy_m)
    await visit.check_in(db, principal, order_id, at, body.reason)
    return await _order(db, principal, order_id)


@router.put("/orders/{order_id}/record", response_model=RecordOut)
async def save_record(db: Db, principal: CurrentPrincipal, order_id: int, body: RecordIn) -> RecordOut:
    record = await visit.save_record(db, principal, order_id, visit.RecordInput(**body.model_dump()))
    return RecordOut.model_validate(record)


@router.post("/orders/{order_id}/photos", response_model=PhotoOut, status_code=201)
async def add_photo(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                    file: Annotated[UploadFile, File()]) -> PhotoOut:
    """A JPEG or PNG of the visit, filed as a document in the patient's record."""
    max_bytes = request.app.state.settings.upload_max_bytes
    data = await file.read(max_bytes + 1)
    photo = await visit.add_photo(db, principal, order_id, blobs=request.app.state.blobs, data=data,
                                  filename=file.filename or "", content_type=file.content_type or "",
                                  max_bytes=max_bytes)
    return PhotoOut.model_validate(photo)


@router.post("/orders/{order_id}/check-out", response_model=OrderOut)
async def check_out(db: Db, principal: CurrentPrincipal, order_id: int, body: PositionIn) -> OrderOut:
    """Needs the visit record; files vital signs and the procedure into the patient's record."""
    await visit.check_out(db, principal, order_id, visit.Position(body.latitude, body.longitude, body.accuracy_m))
    return await _order(db, principal, order_id)


@router.post("/sos", response_model=SosOut, status_code=201)
async def raise_sos(db: Db, principal: CurrentPrincipal, body: SosIn) -> SosOut:
    """The nurse's SOS: the facility's coordinators are alerted at once, with the position if given."""
    alert = await sos.raise_sos(db, principal, latitude=body.latitude, longitude=body.longitude,
                                accuracy_m=body.accuracy_m, note=body.note, order_id=body.order_id)
    return SosOut.model_validate(alert)


# --- coordinators ----------------------------------------------------------------------------

@router.get("/facilities/{facility_id}/desk", response_model=OrderList)
async def desk(db: Db, principal: CurrentPrincipal, facility_id: int) -> OrderList:
    """The facility's open orders (then the last ended ones) for its coordinators."""
    found = await queues.coordination_desk(db, principal, facility_id)
    return OrderList(items=[order_out(o, {"coordinator"}) for o in [*found.open, *found.ended]])


@router.get("/orders/{order_id}/candidates", response_model=list[CandidateOut])
async def candidates(db: Db, principal: CurrentPrincipal, order_id: int) -> list[CandidateOut]:
    """Nurses ranked for this visit, each with why they are or are not offered it."""
    seen = await access_order(db, principal, order_id, action="candidates")
    if Party.coordinator not in seen.parties:
        raise Forbidden(N_("only the facility's coordinators dispatch visits"))
    return [candidate_out(c) for c in await dispatch.candidates(db, seen.order)]


@router.post("/orders/{order_id}/dispatch", response_model=OrderOut)
async def dispatch_order(db: Db, principal: CurrentPrincipal, order_id: int, body: DispatchIn) -> OrderOut:
    await dispatch.dispatch(db, principal, order_id, body.practitioner_ids)
    return await _order(db, principal, order_id)


@router.post("/orders/{order_id}/actions/{action}", response_model=OrderOut)
async def coordinate(db: Db, principal: CurrentPrincipal, order_id: int, action: Action, body: ReasonIn) -> OrderOut:
    """recall (take back open offers), reassign (release the nurse), refuse, close (coordinators)."""
    await dispatch.coordinate(db, principal, order_id, action, body.reason)
    return await _order(db, principal, order_id)


@router.get("/facilities/{facility_id}/sos", response_model=list[SosOut])
async def open_sos(db: Db, principal: CurrentPrincipal, facility_id: int) -> list[SosOut]:
    return [SosOut.model_validate(a) for a in await sos.open_alerts(db, principal, facility_id)]


@router.post("/sos/{sos_id}/acknowledge", response_model=SosOut)
async def acknowledge_sos(db: Db, principal: CurrentPrincipal, sos_id: int, body: AckIn) -> SosOut:
    return SosOut.model_validate(await sos.acknowledge(db, principal, sos_id, body.note))


@router.get("/facilities/{facility_id}/complaints", response_model=list[ComplaintOut])
async def open_complaints(db: Db, principal: CurrentPrincipal, facility_id: int) -> list[ComplaintOut]:
    return [ComplaintOut.model_validate(c) for c in await feedback.open_complaints(db, principal, facility_id)]


@router.post("/complaints/{complaint_id}/response", response_model=ComplaintOut)
async def respond(db: Db, principal: CurrentPrincipal, complaint_id: int, body: ComplaintIn) -> ComplaintOut:
    return ComplaintOut.model_validate(await feedback.respond(db, principal, complaint_id, body.text))


# --- doctors ---------------------------------------------------------------------------------

@router.post("/doctor-orders", response_model=DoctorOrderOut, status_code=201)
async def create_doctor_order(db: Db, principal: CurrentPrincipal, body: DoctorOrderIn) -> DoctorOrderOut:
    """A doctor orders home nursing for a patient of their facility (a ground of eligibility)."""
    order = await doctor_orders.create_doctor_order(db, principal, body.patient_id, reason=body.reason,
                                                    service_code=body.service_code, valid_days=body.valid_days)
    return DoctorOrderOut.model_validate(order)


@router.get("/doctor-orders", response_model=list[DoctorOrderOut])
async def list_doctor_orders(db: Db, principal: CurrentPrincipal, patient_id: int) -> list[DoctorOrderOut]:
    return [DoctorOrderOut.model_validate(o) for o in await doctor_orders.list_doctor_orders(db, principal, patient_id)]


@router.post("/doctor-orders/{order_id}/void", response_model=DoctorOrderOut)
async def void_doctor_order(db: Db, principal: CurrentPrincipal, order_id: int, body: ReasonIn) -> DoctorOrderOut:
    return DoctorOrderOut.model_validate(await doctor_orders.void_doctor_order(db, principal, order_id, body.reason))
