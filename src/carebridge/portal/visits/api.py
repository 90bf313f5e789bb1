"""JSON routes of online follow-up visits under /api/v1/visits: slots (doctors publish, patients
find), eligibility, booking, the lifecycle moves, the room token and the visit's chat."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from carebridge.kit import i18n
from carebridge.portal.visits import eligibility, notes, room, service, slots
from carebridge.portal.visits import mine as _mine  # noqa: F401 - registers the patient's "my orders" source
from carebridge.portal.visits import paid as _paid  # noqa: F401 - confirms a booking when its charge is paid
from carebridge.portal.visits import prices as _prices  # noqa: F401 - puts visits on the public price list
from carebridge.portal.visits.lifecycle import Party, actions_for
from carebridge.portal.visits.models import Visit
from carebridge.portal.visits.schemas import (
    BookIn,
    CompleteIn,
    ConditionOut,
    DoctorList,
    DoctorOut,
    EligibilityOut,
    MessageIn,
    MessageList,
    MessageOut,
    ReasonIn,
    RoomTokenOut,
    SeriesIn,
    SeriesList,
    SeriesOut,
    SlotList,
    SlotOut,
    VisitList,
    VisitOut,
    WithdrawOut,
)
from carebridge.realtime.api import IceConfigOut, hub_for
from carebridge.realtime.ice import ice_config
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1/visits", tags=["visits"])


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _series_out(view: slots.SeriesView) -> SeriesOut:
    s = view.series
    return SeriesOut(id=s.id, facility_id=s.facility_id, facility_name=view.facility_name,
                     department_id=s.department_id, first_day=s.first_day, last_day=s.last_day,
                     weekdays=[int(d) for d in s.weekdays], start=_clock(s.start_minute), end=_clock(s.end_minute),
                     visit_minutes=s.visit_minutes, buffer_minutes=s.buffer_minutes, daily_max=s.daily_max,
                     cancel_cutoff_hours=s.cancel_cutoff_hours, mode=s.mode, price_fen=s.price_fen,
                     withdrawn_at=s.withdrawn_at, slots=view.slots, booked=view.booked)


def visit_out(visit: Visit, parties: frozenset[Party]) -> VisitOut:
    out = VisitOut.model_validate(visit)
    return out.model_copy(update={"allowed_actions": [a.value for a in actions_for(visit.state, parties)]})


@router.post("/series", response_model=SeriesOut, status_code=201)
async def publish_series(body: SeriesIn, db: Db, principal: CurrentPrincipal) -> SeriesOut:
    """Publish visit slots at a facility where you are a doctor (times in the network's time zone)."""
    data = slots.SeriesInput(**{**body.model_dump(), "weekdays": tuple(body.weekdays)})
    series, _count = await slots.publish_series(db, principal, data)
    views = await slots.my_series(db, principal)
    return _series_out(next(v for v in views if v.series.id == series.id))


@router.get("/series", response_model=SeriesList)
async def list_series(db: Db, principal: CurrentPrincipal) -> SeriesList:
    """Your own publications, newest first."""
    return SeriesList(items=[_series_out(v) for v in await slots.my_series(db, principal)])


@router.post("/series/{series_id}/withdraw", response_model=WithdrawOut)
async def withdraw_series(series_id: int, db: Db, principal: CurrentPrincipal) -> WithdrawOut:
    """Withdraw the free future slots of a publication; booked visits stay."""
    return WithdrawOut(series_id=series_id, withdrawn_slots=await slots.withdraw_series(db, principal, series_id))


@router.get("/doctors", response_model=DoctorList)
async def find_doctors(db: Db, _principal: CurrentPrincipal, department_id: int | None = None,
                       q: Annotated[str, Query(max_length=50)] = "") -> DoctorList:
    """Doctors with a free follow-up slot in the booking window, by department and/or name."""
    found = await slots.find_doctors(db, department_id=department_id, name=q)
    return DoctorList(items=[DoctorOut(**{**vars(d), "modes": list(d.modes)}) for d in found])


@router.get("/slots", response_model=SlotList)
async def open_slots(db: Db, _principal: CurrentPrincipal, doctor_user_id: int,
                     facility_id: int | None = None) -> SlotList:
    """A doctor's free slots that can be booked now."""
    found = await slots.open_slots(db, doctor_user_id, facility_id=facility_id)
    return SlotList(items=[SlotOut(**vars(s)) for s in found])


@router.get("/eligibility", response_model=EligibilityOut)
async def conditions(db: Db, principal: CurrentPrincipal, patient_id: int) -> EligibilityOut:
    """The patient's conditions, each with whether an online follow-up may be booked for it and why not."""
    access = await service.access_for_patient(db, principal, patient_id, action="visit_eligibility")
    found = await eligibility.conditions_to_follow_up(db, access)
    return EligibilityOut(rule=i18n.gettext(eligibility.RULE), items=[
        ConditionOut(**vars(e), eligible=e.eligible, explanation=e.explanation) for e in found])


@router.post("", response_model=VisitOut, status_code=201)
async def book(body: BookIn, db: Db, principal: CurrentPrincipal) -> VisitOut:
    """Book a slot for a follow-up of a condition diagnosed in person (422 not_eligible explains why
    not; 409 slot_taken or day_full when someone was quicker)."""
    visit = await service.book_visit(db, principal, service.BookingInput(**body.model_dump()))
    return visit_out(visit, frozenset({Party.patient}))


@router.get("", response_model=VisitList)
async def patient_visits(db: Db, principal: CurrentPrincipal, patient_id: int) -> VisitList:
    """A patient's visits, newest first (the patient or family acting for them)."""
    _access, visits = await service.list_for_patient(db, principal, patient_id)
    return VisitList(items=[visit_out(v, frozenset({Party.patient})) for v in visits])


@router.get("/{visit_id}", response_model=VisitOut)
async def get_visit(visit_id: int, db: Db, principal: CurrentPrincipal) -> VisitOut:
    found = await service.access_visit(db, principal, visit_id)
    return visit_out(found.visit, found.parties)


def _side(visit: Visit, principal: CurrentPrincipal) -> frozenset[Party]:
    """After a move the caller's part is known: access_visit decided it."""
    return frozenset({Party.doctor if visit.doctor_user_id == principal.user_id else Party.patient})


@router.post("/{visit_id}/cancel", response_model=VisitOut)
async def cancel(visit_id: int, db: Db, principal: CurrentPrincipal, body: ReasonIn | None = None) -> VisitOut:
    """The patient until the cut-off (409 cancellation_closed after it); the doctor before the visit
    starts, with a reason. Any payment is refunded in full."""
    visit = await service.cancel_visit(db, principal, visit_id, body.reason if body else "")
    return visit_out(visit, _side(visit, principal))


@router.post("/{visit_id}/check-in", response_model=VisitOut)
async def check_in(visit_id: int, db: Db, principal: CurrentPrincipal) -> VisitOut:
    """The patient enters the waiting room; the doctor is told."""
    visit = await service.check_in(db, principal, visit_id)
    return visit_out(visit, frozenset({Party.patient}))


@router.post("/{visit_id}/start", response_model=VisitOut)
async def start(visit_id: int, db: Db, principal: CurrentPrincipal) -> VisitOut:
    """The doctor starts the visit of a waiting patient."""
    visit = await service.start_visit(db, principal, visit_id)
    return visit_out(visit, frozenset({Party.doctor}))


@router.post("/{visit_id}/no-show", response_model=VisitOut)
async def no_show(visit_id: int, db: Db, principal: CurrentPrincipal) -> VisitOut:
    """The doctor marks a patient who did not come (after the start time)."""
    visit = await service.mark_no_show(db, principal, visit_id)
    return visit_out(visit, frozenset({Party.doctor}))


@router.post("/{visit_id}/complete", response_model=VisitOut)
async def complete(visit_id: int, body: CompleteIn, db: Db, principal: CurrentPrincipal) -> VisitOut:
    """The doctor ends the visit with the note and ICD-10 diagnoses; they are written into the
    patient's record as an internet encounter with its conditions."""
    diagnoses = [notes.Diagnosis(**d.model_dump()) for d in body.diagnoses]
    visit = await notes.complete_visit(db, principal, visit_id, body.note, diagnoses)
    return visit_out(visit, frozenset({Party.doctor}))


@router.post("/{visit_id}/room/token", response_model=RoomTokenOut)
async def room_token(visit_id: int, request: Request, db: Db, principal: CurrentPrincipal) -> RoomTokenOut:
    """Enter the visit's room: the patient asking while booked enters the waiting room, the doctor
    asking while the patient waits starts the visit. 409 room_not_open otherwise."""
    settings = request.app.state.settings
    granted = await room.join_room(db, principal, visit_id, settings)
    ice = ice_config(settings, principal.user_id)
    return RoomTokenOut(room=granted.room_id, token=granted.token, expires_in=granted.expires_in,
                        ws_path=f"/ws/rooms/{granted.room_id}", state=granted.visit.state,
                        case_state=granted.visit.state, session_started_at=granted.visit.started_at,
                        ice=IceConfigOut.model_validate(ice, from_attributes=True))


@router.get("/{visit_id}/messages", response_model=MessageList)
async def list_messages(visit_id: int, db: Db, principal: CurrentPrincipal,
                        after: Annotated[int, Query(ge=0)] = 0,
                        limit: Annotated[int, Query(ge=1, le=room.PAGE_MAX)] = 200) -> MessageList:
    found = await room.list_messages(db, principal, visit_id, after=after, limit=limit)
    return MessageList(items=[MessageOut.model_validate(room.message_payload(m)) for m in found])


@router.post("/{visit_id}/messages", response_model=MessageOut, status_code=201)
async def post_message(visit_id: int, body: MessageIn, request: Request, db: Db,
                       principal: CurrentPrincipal) -> MessageOut:
    """A chat message; saved, then pushed to the visit's room."""
    message = await room.post_message(db, principal, visit_id, body.text, hub=hub_for(request.app))
    return MessageOut.model_validate(room.message_payload(message))
