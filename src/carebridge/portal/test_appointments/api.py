"""JSON routes for test appointments under /api/v1/test-appointments: the catalogue (facility
administrators), where and when a test can be had, bookings (patients and family), the facility's
side (check-in, done, results, no-show) and doctor's orders."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query

from carebridge.auth.principal import Principal
from carebridge.network.service import can_manage_facility, get_facility
from carebridge.portal.test_appointments import (
    catalogue,
    doctor_orders,
    fulfilment,
    offers,
    service,
    slots,
    tasks,  # noqa: F401 - registers the sweeps
    views,
)
from carebridge.portal.test_appointments import mine as _mine  # noqa: F401 - registers "my orders"
from carebridge.portal.test_appointments.lifecycle import Party
from carebridge.portal.test_appointments.models import CatalogueTest
from carebridge.portal.test_appointments.schemas import (
    BookingIn,
    BookingOut,
    CancelIn,
    CatalogueTestIn,
    CatalogueTestOut,
    CatalogueTestUpdate,
    CodeOut,
    DoctorOrderIn,
    DoctorOrderOut,
    HoursIn,
    HoursOut,
    OfferOut,
    PriceOut,
    ResultOut,
    ResultsIn,
    SlotOut,
    StaffBookingOut,
)
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1/test-appointments", tags=["test appointments"])


# ---- catalogue -----------------------------------------------------------------------------------

async def _test_out(db: Db, tests: list[CatalogueTest]) -> list[CatalogueTestOut]:
    hours = await catalogue.hours_of(db, [t.id for t in tests])
    out = []
    for test in tests:
        rows = [HoursOut(weekdays=h.weekdays, opens=catalogue.hours_text(h)[0], closes=catalogue.hours_text(h)[1],
                         block_minutes=h.block_minutes, capacity=h.capacity) for h in hours[test.id]]
        out.append(CatalogueTestOut.model_validate(test).model_copy(update={"hours": rows}))
    return out


@router.get("/facilities/{facility_id}/tests", response_model=list[CatalogueTestOut])
async def list_tests(facility_id: int, db: Db, principal: CurrentPrincipal,
                     include_inactive: bool = False) -> list[CatalogueTestOut]:
    """A facility's tests with their hours; inactive ones only for its administrators."""
    facility = await get_facility(db, facility_id)
    everything = include_inactive and can_manage_facility(principal, facility.id)
    return await _test_out(db, await catalogue.list_tests(db, facility.id, include_inactive=everything))


@router.post("/facilities/{facility_id}/tests", response_model=CatalogueTestOut, status_code=201)
async def create_test(facility_id: int, body: CatalogueTestIn, db: Db, principal: CurrentPrincipal) -> CatalogueTestOut:
    """Add a test to your facility's catalogue (facility administrators)."""
    return (await _test_out(db, [await catalogue.create_test(db, principal, facility_id, body)]))[0]


@router.post("/facilities/{facility_id}/tests/starter", response_model=list[CatalogueTestOut], status_code=201)
async def load_starter(facility_id: int, db: Db, principal: CurrentPrincipal) -> list[CatalogueTestOut]:
    """Add the bundled starter tests your facility's tier performs (those it lists already are kept)."""
    added = await catalogue.load_starter(db, principal, await get_facility(db, facility_id))
    return await _test_out(db, added)


@router.patch("/tests/{test_id}", response_model=CatalogueTestOut)
async def update_test(test_id: int, body: CatalogueTestUpdate, db: Db, principal: CurrentPrincipal) -> CatalogueTestOut:
    return (await _test_out(db, [await catalogue.update_test(db, principal, test_id, body)]))[0]


@router.put("/tests/{test_id}/hours", response_model=CatalogueTestOut)
async def set_hours(test_id: int, body: list[HoursIn], db: Db, principal: CurrentPrincipal) -> CatalogueTestOut:
    """Replace the test's opening hours (blocks and places per block)."""
    await catalogue.set_hours(db, principal, test_id, body)
    return (await _test_out(db, [await catalogue.get_test(db, test_id)]))[0]


@router.get("/tests/{test_id}/slots", response_model=list[SlotOut])
async def list_slots(test_id: int, db: Db, principal: CurrentPrincipal) -> list[SlotOut]:  # noqa: ARG001
    """Blocks from the booking lead time to the horizon, full ones included (free = 0)."""
    test = await service.bookable_test(db, test_id)
    return [SlotOut(starts_at=s.starts_at, ends_at=s.ends_at, capacity=s.capacity, free=s.free)
            for s in await slots.open_slots(db, test)]


# ---- where and at what price ---------------------------------------------------------------------

@router.get("/codes", response_model=list[CodeOut])
async def list_codes(db: Db, principal: CurrentPrincipal) -> list[CodeOut]:  # noqa: ARG001
    """Every test some facility offers, once per code."""
    return [CodeOut(**vars(c)) for c in await offers.offered_codes(db)]


@router.get("/offers", response_model=list[OfferOut])
async def list_offers(db: Db, principal: CurrentPrincipal, code: str, patient_id: int,
                      near_facility_id: int | None = None, latitude: float | None = None,
                      longitude: float | None = None) -> list[OfferOut]:
    """Facilities offering the test, nearest first from the patient's home facility, a facility they
    pick or their position, each with the patient's price; centres show the saving against the
    nearest hospital."""
    access = await service.access_as_patient(db, principal, patient_id, "test_offers")
    origin = await offers.resolve_origin(db, access.patient.id, facility_id=near_facility_id, latitude=latitude,
                                         longitude=longitude)
    found = await offers.find_offers(db, code=code, patient_id=access.patient.id, origin=origin)
    return [_offer_out(o) for o in found]


def _offer_out(o: offers.Offer) -> OfferOut:
    price = PriceOut(list_fen=o.price.list_fen, discount_fen=o.price.discount_fen,
                     insurance_fen=o.price.insurance_fen, self_pay_fen=o.price.self_pay_fen, rules=list(o.price.rules))
    return OfferOut(test_id=o.test.id, facility_id=o.facility.id, facility_name=o.facility.name,
                    facility_name_en=o.facility.name_en, facility_tier=o.facility.tier, address=o.facility.address,
                    distance_km=o.distance_km, price=price, saving_fen=o.saving_fen,
                    compared_with_facility_id=o.compared_with.id if o.compared_with else None,
                    self_bookable=catalogue.may_self_book(o.test), prep=o.test.prep,
                    duration_minutes=o.test.duration_minutes)


# ---- bookings ------------------------------------------------------------------------------------

def _out(view: views.BookingView, model: type[BookingOut] = BookingOut, **extra: object) -> BookingOut:
    results = [ResultOut(code=o.code, display=o.display, value=o.value_num, value_text=o.value_text, unit=o.unit,
                         interpretation=o.interpretation, entry_id=o.id) for o in view.results]
    return model.model_validate(view.booking).model_copy(update={
        "allowed_actions": view.actions, "cancel_until": view.cancel_until, "results": results,
        "lab_order_id": view.lab_order.id if view.lab_order else None,
        "report_document_id": view.report_document_id, **extra})


async def _view(db: Db, principal: Principal, booking_id: int, action: str = "test_read") -> BookingOut:
    booking, parties = await service.load_booking(db, principal, booking_id, action=action)
    return _out(await views.booking_view(db, booking, parties))


@router.post("/bookings", response_model=BookingOut, status_code=201)
async def book_test(body: BookingIn, db: Db, principal: CurrentPrincipal) -> BookingOut:
    """Book a block of a facility's test for yourself or a family member you act for."""
    booking = await service.book_test(db, principal, service.BookingInput(**body.model_dump()))
    return _out(await views.booking_view(db, booking, frozenset({Party.patient})))


@router.get("/bookings", response_model=list[BookingOut])
async def list_bookings(db: Db, principal: CurrentPrincipal, patient_id: int) -> list[BookingOut]:
    """A patient's bookings, latest appointment first."""
    bookings = await service.patient_bookings(db, principal, patient_id)
    await fulfilment.follow_diagnosis(db, bookings)
    return [BookingOut.model_validate(b).model_copy(update={
        "allowed_actions": service.patient_actions(b), "cancel_until": service.cancel_until(b)}) for b in bookings]


@router.get("/bookings/{booking_id}", response_model=BookingOut)
async def get_booking(booking_id: int, db: Db, principal: CurrentPrincipal) -> BookingOut:
    return await _view(db, principal, booking_id)


@router.post("/bookings/{booking_id}/cancel", response_model=BookingOut)
async def cancel_booking(booking_id: int, db: Db, principal: CurrentPrincipal,
                         body: CancelIn | None = None) -> BookingOut:
    """The patient until the cut-off (paid bookings are refunded); the facility's staff with a reason."""
    booking = await service.cancel_booking(db, principal, booking_id, body.reason if body else "")
    return await _view(db, principal, booking.id)


@router.post("/bookings/{booking_id}/check-in", response_model=BookingOut)
async def check_in(booking_id: int, db: Db, principal: CurrentPrincipal) -> BookingOut:
    """The patient has arrived: registers them here if needed and places the lab or diagnosis order."""
    await fulfilment.check_in(db, principal, booking_id)
    return await _view(db, principal, booking_id)


@router.post("/bookings/{booking_id}/performed", response_model=BookingOut)
async def mark_performed(booking_id: int, db: Db, principal: CurrentPrincipal) -> BookingOut:
    await fulfilment.mark_performed(db, principal, booking_id)
    return await _view(db, principal, booking_id)


@router.post("/bookings/{booking_id}/no-show", response_model=BookingOut)
async def mark_no_show(booking_id: int, db: Db, principal: CurrentPrincipal) -> BookingOut:
    await fulfilment.mark_no_show(db, principal, booking_id)
    return await _view(db, principal, booking_id)


@router.post("/bookings/{booking_id}/results", response_model=BookingOut)
async def record_results(booking_id: int, body: ResultsIn, db: Db, principal: CurrentPrincipal) -> BookingOut:
    """A lab test's results, one value per result component (LOINC); they go into the record."""
    values = [fulfilment.ResultValue(v.code, v.value, v.value_text, v.unit) for v in body.results]
    await fulfilment.record_results(db, principal, booking_id, values)
    return await _view(db, principal, booking_id)


@router.get("/facilities/{facility_id}/bookings", response_model=list[StaffBookingOut])
async def day_list(facility_id: int, db: Db, principal: CurrentPrincipal,
                   day: Annotated[dt.date | None, Query(description="local date; today if empty")] = None,
                   ) -> list[StaffBookingOut]:
    """The facility's appointments of one day, for its doctors, nurses and technicians."""
    start, end = slots.local_day_bounds(day)
    rows = await fulfilment.day_list(db, principal, facility_id, start, end)
    return [StaffBookingOut.model_validate(r.booking).model_copy(update={"patient_name": r.patient_name})
            for r in rows]


# ---- doctor's orders -----------------------------------------------------------------------------

@router.post("/doctor-orders", response_model=DoctorOrderOut, status_code=201)
async def order_test(body: DoctorOrderIn, db: Db, principal: CurrentPrincipal) -> DoctorOrderOut:
    """A doctor orders a test for a patient registered at their facility; the patient books it."""
    order = await doctor_orders.order_test(db, principal, patient_id=body.patient_id, code=body.code,
                                           reason=body.reason)
    return DoctorOrderOut.model_validate(order)


@router.get("/doctor-orders", response_model=list[DoctorOrderOut])
async def open_doctor_orders(db: Db, principal: CurrentPrincipal, patient_id: int) -> list[DoctorOrderOut]:
    """The patient's open doctor's orders (for the patient and family)."""
    access = await service.access_as_patient(db, principal, patient_id, "test_doctor_orders")
    return [DoctorOrderOut.model_validate(o) for o in await doctor_orders.open_orders(db, access.patient.id)]
