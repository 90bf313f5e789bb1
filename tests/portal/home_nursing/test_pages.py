"""The pages: a patient books with a cookie session and the form, staff act through their pages,
refusals are shown on the page with nothing kept, and every page renders for the people it is for."""

from __future__ import annotations

from sqlalchemy import func, select

from carebridge.portal.home_nursing.models import NursingOrder
from tests.auth.conftest import login_as
from tests.portal.home_nursing import helpers
from tests.portal.home_nursing.scene import PATIENT_AT


def _form(scene, **changes) -> dict:  # noqa: ANN001
    return {"patient_id": scene.patient.id, "service_id": scene.services["wound_dressing"].id,
            "address": "长治市潞州区英雄中路88号", "latitude": str(PATIENT_AT[0]), "longitude": str(PATIENT_AT[1]),
            "day": scene.day.isoformat(), "window": "afternoon", "contact_phone": "13800000000", **changes}


async def test_patient_books_on_the_page(client, scene, db) -> None:  # noqa: ANN001
    csrf = await login_as(client, db, scene.patient_user)
    home = await client.get("/portal/nursing")
    assert home.status_code == 200 and "Book a home visit" in home.text
    form = await client.get(f"/portal/nursing/new?patient_id={scene.patient.id}")
    assert form.status_code == 200 and "Wound dressing" in form.text and "¥120.00" in form.text
    assert "You can book home nursing: Aged 76" in form.text
    missing = await client.post("/portal/nursing/new", data={**_form(scene, latitude=""), "csrf_token": csrf})
    assert missing.status_code == 422 and "Use my location" in missing.text
    assert await db.scalar(select(func.count()).select_from(NursingOrder)) == 0
    booked = await client.post("/portal/nursing/new", data={**_form(scene), "csrf_token": csrf})
    assert booked.status_code == 303, booked.text
    page = await client.get(booked.headers["location"])
    assert page.status_code == 200 and 'data-state="requested"' in page.text and "英雄中路88号" in page.text
    listed = await client.get("/portal/nursing")
    assert "Waiting for assessment" in listed.text


async def test_a_patient_who_does_not_qualify_sees_why(client, scene, db) -> None:  # noqa: ANN001
    await login_as(client, db, scene.young_user)
    page = await client.get("/portal/nursing/new")
    assert page.status_code == 200
    assert "Home nursing cannot be booked yet" in page.text and "Aged 40" in page.text
    assert "ask your doctor for a home-nursing order" in page.text


async def test_another_patient_gets_404_on_pages(client, scene, db) -> None:  # noqa: ANN001
    order = await helpers.book(scene)
    await login_as(client, db, scene.young_user)
    assert (await client.get(f"/portal/nursing/{order.id}")).status_code == 404
    assert (await client.get(f"/nursing/orders/{order.id}")).status_code == 404
    assert (await client.get(f"/portal/nursing?patient_id={scene.patient.id}")).status_code == 404
    assert (await client.get(f"/portal/nursing/new?patient_id={scene.patient.id}")).status_code == 404


async def test_assessor_and_coordinator_pages(client, scene, db) -> None:  # noqa: ANN001
    order = await helpers.book(scene)
    csrf = await login_as(client, db, scene.nurse_a)
    board = await client.get("/nursing")
    assert board.status_code == 200 and f"visit-{order.id}" in board.text
    page = await client.get(f"/nursing/orders/{order.id}")
    assert 'data-testid="assess-form"' in page.text
    limits = {f"limit_{k}": v for k, v in {"systolic_max": "180", "spo2_min": "92"}.items()}
    refused = await client.post(f"/nursing/orders/{order.id}/assess", data={
        "csrf_token": csrf, "fall_risk": "low", "infection_risk": "low", "home_environment": "suitable",
        "outcome": "refuse", **limits})
    assert refused.status_code == 422 and "give a reason" in refused.text
    done = await client.post(f"/nursing/orders/{order.id}/assess", data={
        "csrf_token": csrf, "fall_risk": "medium", "infection_risk": "low", "home_environment": "suitable",
        "outcome": "accept", "allergies": "青霉素", **limits})
    assert done.status_code == 303
    await db.refresh(order)
    await login_as(client, db, scene.patient_user)
    patient_page = await client.get(f"/portal/nursing/{order.id}")
    assert f'href="/payments/charges/{order.charge_id}"' in patient_page.text and "Pay ¥108.00" in patient_page.text
    csrf = await login_as(client, db, scene.coordinator)
    unpaid = await client.get(f"/nursing/orders/{order.id}")
    assert "not paid yet" in unpaid.text
    await helpers.pay(scene, order)
    desk = await client.get(f"/nursing/desk?facility_id={scene.facility.id}")
    assert desk.status_code == 200 and f"desk-{order.id}" in desk.text
    page = await client.get(f"/nursing/orders/{order.id}")
    assert f'candidate-{scene.practitioner["a"]}' in page.text and "Lacks the credential" in page.text
    sent = await client.post(f"/nursing/orders/{order.id}/dispatch",
                             data={"csrf_token": csrf, "practitioner_id": str(scene.practitioner["b"])})
    assert sent.status_code == 303
    await db.refresh(order)
    assert order.state == "dispatched"
    other = await scene.world.user(("facility_admin", scene.other_facility.id))
    await login_as(client, db, other)
    assert (await client.get(f"/nursing/desk?facility_id={scene.facility.id}")).status_code == 404
    assert (await client.get(f"/nursing/orders/{order.id}")).status_code == 404


async def test_nurse_visit_pages_and_check_in_without_position(client, scene, db) -> None:  # noqa: ANN001
    order = await helpers.accepted(scene)
    csrf = await login_as(client, db, scene.nurse_a)
    page = await client.get(f"/nursing/orders/{order.id}")
    assert 'data-testid="check-in-form"' in page.text and 'data-testid="sos"' in page.text
    blind = await client.post(f"/nursing/orders/{order.id}/check-in", data={"csrf_token": csrf})
    assert blind.status_code == 422 and "position is missing" in blind.text
    here = {"csrf_token": csrf, "latitude": str(PATIENT_AT[0]), "longitude": str(PATIENT_AT[1]), "accuracy": "10"}
    assert (await client.post(f"/nursing/orders/{order.id}/check-in", data=here)).status_code == 303
    saved = await client.post(f"/nursing/orders/{order.id}/record", data={
        "csrf_token": csrf, "procedure": ["Wound assessed", "Dressing applied"], "vital_systolic": "128",
        "vital_temperature": "36.6", "notes": "伤口干燥"})
    assert saved.status_code == 303
    photo = await client.post(f"/nursing/orders/{order.id}/photos", data={"csrf_token": csrf},
                              files={"file": ("w.png", helpers.PNG, "image/png")})
    assert photo.status_code == 303
    out = await client.post(f"/nursing/orders/{order.id}/check-out", data={**here})
    assert out.status_code == 303
    await db.refresh(order)
    assert order.state == "checked_out"
    sos = await client.post("/nursing/sos", data={"csrf_token": csrf, "order_id": str(order.id)})
    assert sos.status_code == 303 and "/nursing/sos/" in sos.headers["location"]
    assert "Your facility has been alerted" in (await client.get(sos.headers["location"])).text


async def test_patient_rates_and_complains_on_the_page(client, scene, db) -> None:  # noqa: ANN001
    order = await helpers.checked_out(scene)
    csrf = await login_as(client, db, scene.patient_user)
    page = await client.get(f"/portal/nursing/{order.id}")
    assert 'data-testid="rate-form"' in page.text and "Dressing applied" in page.text
    assert (await client.post(f"/portal/nursing/{order.id}/rate",
                              data={"csrf_token": csrf, "stars": "5"})).status_code == 303
    short = await client.post(f"/portal/nursing/{order.id}/complain", data={"csrf_token": csrf, "text": "差"})
    assert short.status_code == 422
    assert (await client.post(f"/portal/nursing/{order.id}/complain",
                              data={"csrf_token": csrf, "text": "护士没有洗手就换药"})).status_code == 303
    page = await client.get(f"/portal/nursing/{order.id}")
    assert "★★★★★" in page.text and "Waiting for the facility's answer" in page.text


async def test_admin_and_doctor_pages(client, scene, db) -> None:  # noqa: ANN001
    csrf = await login_as(client, db, scene.coordinator)
    catalogue = await client.get(f"/nursing/facilities/{scene.facility.id}/catalogue")
    assert catalogue.status_code == 200 and "PICC" in catalogue.text
    wound = scene.services["wound_dressing"]
    saved = await client.post(f"/nursing/facilities/{scene.facility.id}/catalogue", data={
        "csrf_token": csrf, "service_id": str(wound.id), "code": wound.code, "name": wound.name,
        "price": "99.5", "duration_minutes": "40", "required_credential": "wound", "active": "true"})
    assert saved.status_code == 303
    await db.refresh(wound)
    assert wound.price_fen == 9950 and wound.duration_minutes == 40
    nurses = await client.get(f"/nursing/facilities/{scene.facility.id}/nurses")
    assert nurses.status_code == 200 and "Home-care risk assessor" in nurses.text
    assert (await client.get(f"/nursing/facilities/{scene.other_facility.id}/catalogue")).status_code == 403
    csrf = await login_as(client, db, scene.doctor)
    page = await client.get(f"/nursing/doctor-orders?patient_id={scene.young.id}")
    assert page.status_code == 200 and 'data-testid="doctor-order-form"' in page.text
    made = await client.post("/nursing/doctor-orders", data={
        "csrf_token": csrf, "patient_id": str(scene.young.id), "reason": "糖尿病足伤口需每日换药",
        "service_code": "wound_dressing", "valid_days": "14"})
    assert made.status_code == 303
    await login_as(client, db, scene.young_user)
    assert "You can book home nursing" in (await client.get("/portal/nursing/new")).text
