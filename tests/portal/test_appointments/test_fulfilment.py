"""At the facility: check-in places the order, lab results go into the record, imaging and ECG
follow their remote diagnosis order, no-shows, reminders and the day's list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.config import get_settings
from carebridge.diagnostics import claims, reports
from carebridge.diagnostics.ecg.read_wfdb import NamedFile
from carebridge.diagnostics.ecg.service import UploadRequest, upload_ecg
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.blobs import LocalBlobStore
from carebridge.network.models import Practitioner
from carebridge.notifications.models import Notification
from carebridge.portal.test_appointments import fulfilment, service, tasks, views
from carebridge.portal.test_appointments.fulfilment import ResultValue
from carebridge.portal.test_appointments.lifecycle import Party
from carebridge.portal.test_appointments.models import Booking, LabOrder, SlotCount
from carebridge.records.models import Observation, PatientRegistration
from tests.access.conftest import sign_in
from tests.portal.test_appointments.conftest import TestNet, book_and_pay

CBC = [ResultValue("6690-2", 6.2), ResultValue("789-8", 4.5), ResultValue("718-7", 98), ResultValue("777-3", 210)]


async def _booked(world, db, net: TestNet, code: str, **kw) -> Booking:  # noqa: ANN001
    test = await net.test_at(db, net.community, code)
    slot = await net.first_slot(db, test)
    return await book_and_pay(world, net.patient_user, service.BookingInput(
        patient_id=net.patient.id, test_id=test.id, starts_at=slot.starts_at, **kw))


async def test_a_lab_test_checked_in_and_resulted_lands_in_the_record(world, db, net: TestNet) -> None:
    booking = await _booked(world, db, net, "58410-2")
    tech = await world.principal(net.community_tech)
    await fulfilment.check_in(db, tech, booking.id)
    assert booking.state == "checked_in" and booking.checked_in_by_id == net.community_tech.id
    assert await db.scalar(select(PatientRegistration.mrn).where(
        PatientRegistration.patient_id == net.patient.id, PatientRegistration.facility_id == net.community.id))
    order = await fulfilment.lab_order_of(db, booking.id)
    assert (order.state, order.code, order.basis, order.ordering_user_id) == ("ordered", "58410-2", "self_booked", None)
    await fulfilment.record_results(db, tech, booking.id, CBC)
    assert booking.state == "resulted" and booking.performed_at and booking.resulted_at
    rows = (await db.scalars(select(Observation).where(Observation.id.in_(order.observation_ids)))).all()
    by_code = {o.code: o for o in rows}
    assert set(by_code) == {"6690-2", "789-8", "718-7", "777-3"}
    assert by_code["718-7"].unit == "g/L" and by_code["718-7"].interpretation == "L"  # 98 < 115
    assert by_code["777-3"].unit == "10*9/L" and by_code["777-3"].interpretation == "N"
    assert all(o.code_system == "LOINC" and o.patient_id == net.patient.id and o.facility_id == net.community.id
               for o in rows)
    told = (await db.scalars(select(Notification).where(Notification.user_id == net.patient_user.id))).all()
    assert any("/portal/tests/bookings/" in n.link and "血常规" in n.title for n in told)


async def test_results_must_be_exactly_the_tests_components(world, db, net: TestNet) -> None:
    booking = await _booked(world, db, net, "58410-2")
    tech = await world.principal(net.community_tech)
    await fulfilment.check_in(db, tech, booking.id)
    with pytest.raises(InvalidInput) as missing:
        await fulfilment.record_results(db, tech, booking.id, CBC[:2])
    assert missing.value.details["missing"] == ["718-7", "777-3"]
    with pytest.raises(InvalidInput):
        await fulfilment.record_results(db, tech, booking.id, [*CBC, ResultValue("1558-6", 5.0)])
    assert (await fulfilment.lab_order_of(db, booking.id)).state == "ordered"


async def test_only_the_facilitys_staff_check_in(world, db, net: TestNet) -> None:
    booking = await _booked(world, db, net, "58410-2")
    for user in (net.outsider, net.county_admin, net.other_user):
        with pytest.raises(NotFound):
            await fulfilment.check_in(db, await world.principal(user), booking.id)
    with pytest.raises(Forbidden):
        await fulfilment.check_in(db, await world.principal(net.patient_user), booking.id)
    with pytest.raises(NotFound):  # an administrator manages the catalogue, not patients
        await fulfilment.check_in(db, await world.principal(net.community_admin), booking.id)
    assert booking.state == "booked"


async def test_an_ecg_becomes_a_remote_diagnosis_order_and_follows_it_to_the_signed_report(
        world, db, net: TestNet, tmp_path, app, client) -> None:  # noqa: ANN001
    booking = await _booked(world, db, net, "ECG", consent_remote_reading=True, note="活动后胸闷")
    tech = await world.principal(net.community_tech)
    await fulfilment.check_in(db, tech, booking.id)
    order = await db.get(DiagnosisOrder, booking.diagnosis_order_id)
    assert (order.modality, order.requesting_facility_id) == ("ECG", net.community.id)
    assert order.hub_facility_id == net.hub.id
    assert order.requesting_user_id == net.community_tech.id and "活动后胸闷" in order.clinical_question
    assert order.state == "awaiting_study"
    blobs = LocalBlobStore(tmp_path)
    tracing = NamedFile("ecg.dcm", Path(get_testdata_file("waveform_ecg.dcm")).read_bytes())  # noqa: ASYNC240
    await upload_ecg(db, tech, order.id, UploadRequest([tracing]), blobs=blobs,
                     max_bytes=get_settings().upload_max_bytes, max_seconds=get_settings().ecg_max_seconds)
    await db.refresh(order)
    assert order.state == "ready"
    await fulfilment.follow_diagnosis(db, [booking])
    assert booking.state == "performed" and booking.performed_at == order.study_complete_at

    db.add(Practitioner(user_id=net.hub_reader.id, title="attending", license_no=f"TA-{net.hub_reader.id}"))
    await db.flush()
    reader = await world.principal(net.hub_reader)
    await claims.claim(db, reader, order.id)
    await reports.save_draft(db, reader, order.id, reports.DraftInput(
        findings={"rhythm": "sinus", "heart_rate": "72"}, impression="窦性心律，正常心电图。"))
    await reports.sign(db, reader, order.id, "final", blobs)
    await tasks.follow_reports(db, dt.datetime.now(dt.UTC))
    await db.refresh(booking)
    assert booking.state == "resulted"
    view = await views.booking_view(db, booking, frozenset({Party.patient}))
    assert view.report_document_id is not None
    told = (await db.scalars(select(Notification).where(Notification.user_id == net.patient_user.id))).all()
    assert sum("十二导联心电图" in n.title for n in told) >= 2  # booked, results ready
    app.state.blobs = blobs  # where the signed report's PDF was filed
    pdf = await client.get(f"/api/v1/documents/{view.report_document_id}/content",
                           headers=await world.token(net.patient_user))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    await sign_in(client, db, net.patient_user)
    page = await client.get(f"/portal/tests/bookings/{booking.id}")
    assert f'href="/api/v1/documents/{view.report_document_id}/content"' in page.text


async def test_check_in_of_imaging_needs_the_consent_still_in_force(world, db, net: TestNet) -> None:
    from carebridge.access.service import record_consent

    booking = await _booked(world, db, net, "US-ABDOMEN", consent_remote_reading=True)
    await record_consent(db, await world.principal(net.patient_user), net.patient.id, status="revoked")
    with pytest.raises(Conflict) as refused:
        await fulfilment.check_in(db, await world.principal(net.community_tech), booking.id)
    assert refused.value.code == "no_consent"


async def test_no_show_by_staff_after_the_start_and_by_the_sweep(world, db, net: TestNet) -> None:
    first = await _booked(world, db, net, "58410-2")
    nurse = await world.principal(net.community_nurse)
    with pytest.raises(Conflict) as early:
        await fulfilment.mark_no_show(db, nurse, first.id)
    assert early.value.code == "too_early"
    await fulfilment.mark_no_show(db, nurse, first.id, now=first.starts_at + dt.timedelta(minutes=5))
    assert first.state == "no_show"
    second = await _booked(world, db, net, "US-THYROID", consent_remote_reading=True)
    assert await tasks.mark_no_shows(db, second.ends_at) == 0
    late = second.ends_at + dt.timedelta(minutes=get_settings().test_appointments_no_show_minutes)
    assert await tasks.mark_no_shows(db, late) == 1
    await db.refresh(second)
    assert second.state == "no_show"
    for booking in (first, second):
        taken = await db.scalar(select(SlotCount.booked).where(SlotCount.test_id == booking.test_id,
                                                               SlotCount.starts_at == booking.starts_at))
        assert taken == 0


async def test_the_reminder_carries_the_preparation_once(world, db, net: TestNet) -> None:
    booking = await _booked(world, db, net, "US-ABDOMEN", consent_remote_reading=True)

    async def with_prep() -> int:
        return len((await db.scalars(select(Notification).where(
            Notification.user_id == net.patient_user.id, Notification.body.like("%空腹8小时%")))).all())

    assert await with_prep() == 1  # the booking's confirmation
    early = booking.starts_at - dt.timedelta(hours=get_settings().test_appointments_reminder_hours + 1)
    assert await tasks.send_reminders(db, early) == 0
    due = booking.starts_at - dt.timedelta(hours=3)
    assert await tasks.send_reminders(db, due) == 1
    assert await tasks.send_reminders(db, due) == 0
    assert await with_prep() == 2


async def test_the_days_list_is_for_the_facilitys_staff_and_audited(world, db, net: TestNet) -> None:
    booking = await _booked(world, db, net, "58410-2")
    day_start = booking.starts_at - dt.timedelta(hours=12)
    rows = await fulfilment.day_list(db, await world.principal(net.community_nurse), net.community.id, day_start,
                                     day_start + dt.timedelta(days=1))
    assert [(r.booking.id, r.patient_name) for r in rows] == [(booking.id, net.patient.name)]
    logged = await db.scalar(select(AuditEvent).where(AuditEvent.action == "test_day_list")
                             .order_by(AuditEvent.seq.desc()).limit(1))
    assert logged.detail["patients"] == [net.patient.id]
    for user in (net.outsider, net.community_admin, net.patient_user):
        with pytest.raises(Forbidden):
            await fulfilment.day_list(db, await world.principal(user), net.community.id, day_start,
                                      day_start + dt.timedelta(days=1))


async def test_lab_orders_of_a_doctors_order_name_the_doctor(world, db, net: TestNet) -> None:
    from carebridge.portal.test_appointments import doctor_orders

    db.add(PatientRegistration(patient_id=net.patient.id, facility_id=net.county.id, mrn="C-0101"))
    await db.flush()
    order = await doctor_orders.order_test(db, await world.principal(net.county_doctor), patient_id=net.patient.id,
                                           code="4548-4", reason="糖尿病随访")
    booking = await _booked(world, db, net, "4548-4", doctor_order_id=order.id)
    tech = await world.principal(net.community_tech)
    await fulfilment.check_in(db, tech, booking.id)
    lab = await db.scalar(select(LabOrder).where(LabOrder.booking_id == booking.id))
    assert lab.ordering_user_id == net.county_doctor.id and lab.basis == "doctor_order"
    await fulfilment.record_results(db, tech, booking.id, [ResultValue("4548-4", 7.1)])
    told = (await db.scalars(select(Notification).where(Notification.user_id == net.county_doctor.id))).all()
    assert any(n.link == f"/portal/tests/bookings/{booking.id}" for n in told)
