"""The pages through a browser-like client (cookie session and CSRF): the patient books at the
community centre seeing the saving, cancels; the facility checks in and enters results; the
administrator keeps the catalogue; nobody reaches another's booking or another facility's tests."""

from __future__ import annotations

import re

from sqlalchemy import select

from carebridge.kit import clock
from carebridge.portal.test_appointments.models import Booking
from tests.access.conftest import sign_in
from tests.portal.test_appointments.conftest import TestNet, book_and_pay


async def test_the_patient_books_an_ecg_at_the_centre_and_cancels(client, world, net: TestNet) -> None:
    csrf = await sign_in(client, world.db, net.patient_user)
    client.headers["Accept-Language"] = "zh-CN"  # the patient's phone
    home = await client.get("/portal/tests")
    assert home.status_code == 200 and 'data-code="ECG"' in home.text and '<a href="/portal/tests">' in home.text
    found = await client.get("/portal/tests/find", params={"code": "ECG"})
    offers = re.findall(r'data-facility-id="(\d+)"', found.text)
    assert offers == [str(net.community.id), str(net.county.id)]  # nearest first from the home clinic
    assert "¥22.50" in found.text and "¥25.00" in found.text and 'data-testid="saving"' in found.text
    test = await net.test_at(world.db, net.community, "ECG")
    offer = await client.get(f"/portal/tests/offer/{test.id}")
    assert "静坐休息5分钟" in offer.text and 'data-testid="consent"' in offer.text
    slot = (await net.first_slot(world.db, test)).starts_at.isoformat()
    local_day = (await net.first_slot(world.db, test)).starts_at.astimezone(clock.local_zone()).date()
    that_day = await client.get(f"/portal/tests/offer/{test.id}", params={"day": local_day.isoformat()})
    assert f'value="{slot}"' in that_day.text
    refused = await client.post("/portal/tests/book", data={"csrf_token": csrf, "patient_id": net.patient.id,
                                                            "test_id": test.id, "starts_at": slot})
    assert refused.status_code == 422 and 'data-testid="booking-error"' in refused.text  # consent not given
    assert await world.db.scalar(select(Booking.id).where(Booking.patient_id == net.patient.id)) is None
    booked = await client.post("/portal/tests/book", data={"csrf_token": csrf, "patient_id": net.patient.id,
                                                           "test_id": test.id, "starts_at": slot, "consent": "on"})
    assert booked.status_code == 303
    page = await client.get(booked.headers["location"])
    assert 'data-state="pending_payment"' in page.text and "静坐休息5分钟" in page.text and "¥22.50" in page.text
    booking_id = int(booked.headers["location"].rsplit("/", 1)[1])
    charge_id = (await world.db.get(Booking, booking_id)).charge_id
    assert f'href="/payments/charges/{charge_id}"' in page.text
    checkout = await client.post(f"/payments/charges/{charge_id}/pay", data={"csrf_token": csrf})
    paid = await client.post(checkout.headers["location"], data={"csrf_token": csrf})  # the demo provider's page
    assert paid.status_code == 303
    page = await client.get(booked.headers["location"])
    assert 'data-state="booked"' in page.text and 'data-testid="cancel-form"' in page.text
    cancelled = await client.post(f"/portal/tests/bookings/{booking_id}/cancel", data={"csrf_token": csrf})
    assert 'data-state="cancelled"' in (await client.get(cancelled.headers["location"])).text


async def test_forms_need_the_csrf_token(client, world, net: TestNet) -> None:
    await sign_in(client, world.db, net.patient_user)
    test = await net.test_at(world.db, net.community, "58410-2")
    slot = (await net.first_slot(world.db, test)).starts_at.isoformat()
    response = await client.post("/portal/tests/book", data={"patient_id": net.patient.id, "test_id": test.id,
                                                             "starts_at": slot})
    assert response.status_code == 403


async def test_another_patients_booking_page_is_not_found(client, world, net: TestNet) -> None:
    from carebridge.portal.test_appointments import service

    test = await net.test_at(world.db, net.community, "58410-2")
    booking = await book_and_pay(world, net.patient_user, service.BookingInput(
        net.patient.id, test.id, (await net.first_slot(world.db, test)).starts_at))
    csrf = await sign_in(client, world.db, net.other_user)
    assert (await client.get(f"/portal/tests/bookings/{booking.id}")).status_code == 404
    cancel = await client.post(f"/portal/tests/bookings/{booking.id}/cancel", data={"csrf_token": csrf})
    assert cancel.status_code == 404
    theirs = {"patient_id": net.patient.id}
    assert (await client.get("/portal/tests", params=theirs)).status_code == 404
    assert (await client.get(f"/portal/tests/offer/{test.id}", params=theirs)).status_code == 404


async def test_the_facility_checks_in_and_enters_lab_results(client, world, net: TestNet) -> None:
    from carebridge.portal.test_appointments import service

    test = await net.test_at(world.db, net.community, "57698-3")
    booking = await book_and_pay(world, net.patient_user, service.BookingInput(
        net.patient.id, test.id, (await net.first_slot(world.db, test)).starts_at))
    day = booking.starts_at.astimezone(clock.local_zone()).date().isoformat()
    csrf = await sign_in(client, world.db, net.community_tech)
    listing = await client.get(f"/facilities/{net.community.id}/tests/appointments/day", params={"day": day})
    assert net.patient.name in listing.text and 'data-action="check_in"' in listing.text
    base = f"/facilities/{net.community.id}/tests/appointments/{booking.id}"
    checked = await client.post(f"{base}/check_in", data={"csrf_token": csrf, "day": day})
    assert checked.status_code == 303
    form = await client.get(f"{base}/results")
    assert all(code in form.text for code in ("2093-3", "14927-8", "14646-4", "13457-7"))
    incomplete = await client.post(f"{base}/results", data={"csrf_token": csrf, "value_2093-3": "5.9"})
    assert incomplete.status_code == 422
    saved = await client.post(f"{base}/results", data={
        "csrf_token": csrf, "value_2093-3": "5.9", "value_14927-8": "2.1", "value_14646-4": "1.2",
        "value_13457-7": "3.8"})
    assert saved.status_code == 303
    await sign_in(client, world.db, net.patient_user)
    page = await client.get(f"/portal/tests/bookings/{booking.id}")
    assert 'data-state="resulted"' in page.text and 'data-testid="results"' in page.text and "5.9" in page.text
    assert (await client.get(f"{base}/results")).status_code == 404  # the patient is not staff


async def test_other_facilities_staff_get_no_appointments_or_actions(client, world, net: TestNet) -> None:
    from carebridge.portal.test_appointments import service

    test = await net.test_at(world.db, net.community, "58410-2")
    booking = await book_and_pay(world, net.patient_user, service.BookingInput(
        net.patient.id, test.id, (await net.first_slot(world.db, test)).starts_at))
    csrf = await sign_in(client, world.db, net.outsider)
    assert (await client.get(f"/facilities/{net.community.id}/tests/appointments/day")).status_code == 403
    base = f"/facilities/{net.community.id}/tests/appointments/{booking.id}"
    assert (await client.post(f"{base}/check_in", data={"csrf_token": csrf})).status_code == 404
    assert (await client.get(f"{base}/results")).status_code == 404


async def test_the_administrator_keeps_the_catalogue_and_others_only_look(client, world, net: TestNet) -> None:
    csrf = await sign_in(client, world.db, net.community_admin)
    page = await client.get(f"/facilities/{net.community.id}/tests")
    assert 'data-code="US-ABDOMEN"' in page.text and 'data-testid="new-test"' in page.text
    assert f'<a href="/facilities/{net.community.id}/tests">' in page.text  # the administrator's menu link
    created = await client.post(f"/facilities/{net.community.id}/tests/new", data={
        "csrf_token": csrf, "code": "US-BREAST", "name": "乳腺超声", "category": "ultrasound", "list_price": "90.5",
        "insured": "on", "self_bookable": "on"})
    assert created.status_code == 303
    test = await net.test_at(world.db, net.community, "US-BREAST")
    assert (test.list_price_fen, test.modality, test.body_part) == (9050, "US", "BREAST")
    bad = await client.post(f"/facilities/{net.community.id}/tests/new", data={
        "csrf_token": csrf, "code": "US-LIVER", "name": "肝脏超声", "category": "ultrasound", "list_price": "9.999"})
    assert bad.status_code == 422 and 'data-testid="catalogue-error"' in bad.text
    hours = await client.post(f"/facilities/{net.community.id}/tests/{test.id}/hours", data={
        "csrf_token": csrf, "weekdays_0": "246", "opens_0": "13:00", "closes_0": "15:00", "block_0": "30",
        "capacity_0": "3"})
    assert hours.status_code == 303
    edit = await client.get(f"/facilities/{net.community.id}/tests/{test.id}")
    assert 'value="246"' in edit.text and 'value="13:00"' in edit.text
    county_test = await net.test_at(world.db, net.county, "ECG")
    assert (await client.get(f"/facilities/{net.community.id}/tests/{county_test.id}")).status_code == 404
    csrf = await sign_in(client, world.db, net.county_admin)
    looked = await client.get(f"/facilities/{net.community.id}/tests")
    assert looked.status_code == 200 and 'data-testid="new-test"' not in looked.text
    assert (await client.get(f"/facilities/{net.community.id}/tests/{test.id}")).status_code == 404
    refused = await client.post(f"/facilities/{net.community.id}/tests/new", data={
        "csrf_token": csrf, "code": "US-NECK", "name": "颈部超声", "category": "ultrasound", "list_price": "80"})
    assert refused.status_code == 403
    refused = await client.post(f"/facilities/{net.community.id}/tests/{test.id}/hours", data={
        "csrf_token": csrf, "weekdays_0": "1", "opens_0": "08:00", "closes_0": "09:00", "capacity_0": "9"})
    assert refused.status_code == 403
