"""One booking as the API and the pages show it, after `load_booking` has decided who may see it:
its facility, what the caller may do now, the lab results or the signed report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.diagnostics.report_models import DiagnosisReport
from carebridge.network.models import Facility
from carebridge.portal.test_appointments import fulfilment, lifecycle, service
from carebridge.portal.test_appointments.lifecycle import Party, State
from carebridge.portal.test_appointments.models import Booking, LabOrder
from carebridge.records.models import Observation

# What the staff's buttons do; results are a form of their own, and imaging is performed when its
# study arrives (the button stays for a study that never will, e.g. a film on paper).
STAFF_BUTTONS = ("check_in", "perform", "no_show", "cancel")


@dataclass
class BookingView:
    booking: Booking
    facility: Facility
    parties: frozenset[Party]
    actions: list[str] = field(default_factory=list)
    lab_order: LabOrder | None = None
    results: list[Observation] = field(default_factory=list)
    diagnosis_order: DiagnosisOrder | None = None
    report_document_id: int | None = None
    cancel_until: dt.datetime | None = None
    pay_by: dt.datetime | None = None

    @property
    def awaits_results(self) -> bool:
        return (Party.staff in self.parties and self.lab_order is not None and self.lab_order.state == "ordered"
                and self.booking.state in (State.checked_in, State.performed))


def _actions(booking: Booking, parties: frozenset[Party], now: dt.datetime) -> list[str]:
    actions: list[str] = []
    if Party.staff in parties:
        allowed = {a.value for a in lifecycle.actions_for(booking.state, {Party.staff})}
        actions += [a for a in STAFF_BUTTONS if a in allowed and not (a == "no_show" and now < booking.starts_at)]
        if booking.category == "lab" and "perform" in actions:
            actions.remove("perform")  # entering the results marks it done
    if Party.patient in parties:
        actions += [a for a in service.patient_actions(booking, now) if a not in actions]
    return actions


async def booking_view(session: AsyncSession, booking: Booking, parties: frozenset[Party],
                       now: dt.datetime | None = None) -> BookingView:
    await fulfilment.follow_diagnosis(session, [booking])
    view = BookingView(booking, await session.get(Facility, booking.facility_id), parties,
                       _actions(booking, parties, now or dt.datetime.now(dt.UTC)),
                       cancel_until=service.cancel_until(booking), pay_by=service.pay_by(booking))
    view.lab_order = await fulfilment.lab_order_of(session, booking.id)
    if view.lab_order is not None and view.lab_order.observation_ids:
        rows = (await session.scalars(select(Observation).where(Observation.id.in_(view.lab_order.observation_ids),
                                                                Observation.voided_at.is_(None)))).all()
        order = {oid: n for n, oid in enumerate(view.lab_order.observation_ids)}
        view.results = sorted(rows, key=lambda o: order[o.id])
    if booking.diagnosis_order_id is not None:
        view.diagnosis_order = await session.get(DiagnosisOrder, booking.diagnosis_order_id)
        if view.diagnosis_order.state == "reported":
            view.report_document_id = await session.scalar(select(DiagnosisReport.document_entry_id).where(
                DiagnosisReport.order_id == booking.diagnosis_order_id))
    return view
