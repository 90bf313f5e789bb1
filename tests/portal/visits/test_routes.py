"""The visit routes over HTTP: the JSON API end to end, and who may do what when they change an id
(anonymous, another patient, another doctor of the same hospital, a doctor elsewhere, allowed)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.kit.clock import utcnow
from carebridge.portal.mine import my_items
from carebridge.portal.visits import service
from carebridge.portal.visits.models import Visit
from tests.access.conftest import sign_in
from tests.portal.visits.conftest import move_visit_to, publish, tomorrow


async def _booked(world, net) -> Visit:  # noqa: ANN001
    first, _ = await publish(world, net)
    return await service.book_visit(world.db, await world.principal(net.patient_user), service.BookingInput(
        net.patient.id, first.id, net.conditions["eligible"], "头晕两天"))


async def test_a_patient_books_through_the_api_and_the_doctor_finishes_it(client, world, net):  # noqa: ANN001
    doctor, patient = await world.token(net.doctor), await world.token(net.patient_user)
    day = tomorrow().isoformat()
    published = await client.post("/api/v1/visits/series", headers=doctor, json={
        "facility_id": net.county.id, "first_day": day, "last_day": day, "weekdays": [tomorrow().isoweekday()],
        "start": "15:00", "end": "16:00", "visit_minutes": 15, "buffer_minutes": 5, "daily_max": 3,
        "cancel_cutoff_hours": 4, "mode": "text", "price_fen": 0})
    assert published.status_code == 201, published.text
    assert published.json()["slots"] == 3 and published.json()["start"] == "15:00"
    found = (await client.get("/api/v1/visits/doctors", headers=patient, params={"q": net.doctor.display_name})).json()
    assert [d["doctor_user_id"] for d in found["items"]] == [net.doctor.id]
    free = (await client.get("/api/v1/visits/slots", headers=patient, params={"doctor_user_id": net.doctor.id})).json()
    assert len(free["items"]) == 3
    conditions = (await client.get("/api/v1/visits/eligibility", headers=patient,
                                   params={"patient_id": net.patient.id})).json()
    eligible = [c for c in conditions["items"] if c["eligible"]]
    assert [c["code"] for c in eligible] == ["I10"] and "follow-up only" in conditions["rule"]
    online = next(c for c in conditions["items"] if c["code"] == "E11")
    refused = await client.post("/api/v1/visits", headers=patient, json={
        "patient_id": net.patient.id, "slot_id": free["items"][0]["id"], "condition_id": online["condition_id"]})
    assert refused.status_code == 422 and refused.json()["code"] == "not_eligible"
    assert "made online, not in person" in refused.json()["message"]

    booked = await client.post("/api/v1/visits", headers=patient, json={
        "patient_id": net.patient.id, "slot_id": free["items"][0]["id"], "condition_id": eligible[0]["condition_id"],
        "complaint": "血压 150/95"})
    assert booked.status_code == 201, booked.text
    visit = booked.json()
    assert visit["state"] == "booked" and visit["mode"] == "text" and "cancel" in visit["allowed_actions"]
    row = await world.db.get(Visit, visit["id"])
    await move_visit_to(world.db, row, utcnow() + dt.timedelta(minutes=5))

    entered = await client.post(f"/api/v1/visits/{visit['id']}/room/token", headers=patient)
    assert entered.status_code == 200 and entered.json()["state"] == "checked_in"
    assert entered.json()["ws_path"] == f"/ws/rooms/visit-{visit['id']}"
    said = await client.post(f"/api/v1/visits/{visit['id']}/messages", headers=patient, json={"text": "医生您好"})
    assert said.status_code == 201
    started = await client.post(f"/api/v1/visits/{visit['id']}/start", headers=doctor)
    assert started.json()["state"] == "in_progress"
    chat = (await client.get(f"/api/v1/visits/{visit['id']}/messages", headers=doctor)).json()
    assert [m["text"] for m in chat["items"]] == ["医生您好"]
    done = await client.post(f"/api/v1/visits/{visit['id']}/complete", headers=doctor, json={
        "note": "血压偏高，氨氯地平加量。", "diagnoses": [{"code": "I10", "display": "原发性高血压"}]})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "completed" and done.json()["encounter_id"]
    mine = (await client.get("/api/v1/visits", headers=patient, params={"patient_id": net.patient.id})).json()
    assert [(v["id"], v["note"]) for v in mine["items"]] == [(visit["id"], "血压偏高，氨氯地平加量。")]
    world.db.expire(row)  # the requests ran in sessions of their own
    listed = await my_items(world.db, net.patient.id)
    assert [(i.kind, i.status, i.url) for i in listed] == [("visit", "completed", f"/portal/visits/{visit['id']}")]


async def test_the_cut_off_refusal_reaches_the_patient_with_its_reason(client, world, net):  # noqa: ANN001
    visit = await _booked(world, net)
    await move_visit_to(world.db, visit, utcnow() + dt.timedelta(minutes=90))
    refused = await client.post(f"/api/v1/visits/{visit.id}/cancel", headers=await world.token(net.patient_user))
    assert refused.status_code == 409 and refused.json()["code"] == "cancellation_closed"
    assert service.local_text(visit.cancel_until) in refused.json()["message"]


@pytest.mark.parametrize("who", ["anonymous", "other_patient_user", "colleague", "outsider"])
async def test_changing_the_id_reveals_nothing(client, world, net, who):  # noqa: ANN001
    visit = await _booked(world, net)
    headers = {} if who == "anonymous" else await world.token(getattr(net, who))
    expected = 401 if who == "anonymous" else 404
    for method, path in [("GET", f"/api/v1/visits/{visit.id}"), ("POST", f"/api/v1/visits/{visit.id}/cancel"),
                         ("POST", f"/api/v1/visits/{visit.id}/check-in"), ("POST", f"/api/v1/visits/{visit.id}/start"),
                         ("POST", f"/api/v1/visits/{visit.id}/room/token"),
                         ("GET", f"/api/v1/visits/{visit.id}/messages"),
                         ("GET", f"/api/v1/visits?patient_id={net.patient.id}"),
                         ("GET", f"/api/v1/visits/eligibility?patient_id={net.patient.id}")]:
        answer = await client.request(method, path, headers=headers)
        assert answer.status_code == expected, (method, path, answer.text)
    await world.db.refresh(visit)
    assert visit.state == "booked"
    missing = await client.get("/api/v1/visits/999999", headers=headers)
    assert missing.status_code == expected  # the same answer as for a visit that exists


async def test_a_patient_cannot_book_for_someone_else(client, world, net):  # noqa: ANN001
    first, _ = await publish(world, net)
    answer = await client.post("/api/v1/visits", headers=await world.token(net.other_patient_user), json={
        "patient_id": net.patient.id, "slot_id": first.id, "condition_id": net.conditions["eligible"]})
    assert answer.status_code == 404
    # A doctor who can read the patient's record still does not book on the patient's side.
    answer = await client.post("/api/v1/visits", headers=await world.token(net.township_doctor), json={
        "patient_id": net.patient.id, "slot_id": first.id, "condition_id": net.conditions["eligible"]})
    assert answer.status_code == 404


async def test_only_doctors_publish_and_only_where_they_work(client, world, net):  # noqa: ANN001
    day = tomorrow().isoformat()
    body = {"facility_id": net.county.id, "first_day": day, "last_day": day, "weekdays": [tomorrow().isoweekday()],
            "start": "09:00", "end": "10:00", "visit_minutes": 20, "daily_max": 2, "cancel_cutoff_hours": 2,
            "mode": "video", "price_fen": 0}
    assert (await client.post("/api/v1/visits/series", json=body)).status_code == 401
    assert (await client.post("/api/v1/visits/series", json=body,
                              headers=await world.token(net.patient_user))).status_code == 403
    assert (await client.post("/api/v1/visits/series", json=body,
                              headers=await world.token(net.outsider))).status_code == 403
    assert (await client.post("/api/v1/visits/series", json={**body, "price_fen": 12.5},
                              headers=await world.token(net.doctor))).status_code == 422


async def test_the_doctor_reads_the_patient_through_the_access_check(client, world, net):  # noqa: ANN001
    visit = await _booked(world, net)
    answer = await client.get(f"/api/v1/visits/{visit.id}", headers=await world.token(net.doctor))
    assert answer.status_code == 200 and answer.json()["complaint"] == "头晕两天"
    rows = (await world.db.scalars(select(AuditEvent).where(
        AuditEvent.patient_id == net.patient.id, AuditEvent.actor_user_id == net.doctor.id,
        AuditEvent.resource_type == "Visit"))).all()
    assert [(r.action, r.outcome, r.detail.get("basis")) for r in rows] == [("visit_read", "allowed", "registration")]


async def test_pages_for_each_side(client, world, net):  # noqa: ANN001
    visit = await _booked(world, net)
    await sign_in(client, world.db, net.patient_user)
    for path in ["/portal/visits", "/portal/visits/doctors", f"/portal/visits/doctors/{net.doctor.id}",
                 f"/portal/visits/{visit.id}", f"/portal/visits/{visit.id}/room"]:
        page = await client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
    assert "头晕两天" in (await client.get(f"/portal/visits/{visit.id}")).text
    assert (await client.get(f"/visits/{visit.id}")).status_code == 404  # the console is the doctor's

    await sign_in(client, world.db, net.other_patient_user)
    assert (await client.get(f"/portal/visits/{visit.id}")).status_code == 404
    assert (await client.get(f"/portal/visits/{visit.id}/room")).status_code == 404

    await sign_in(client, world.db, net.colleague)
    assert (await client.get(f"/visits/{visit.id}")).status_code == 404
    assert net.patient.name not in (await client.get(f"/visits?day={tomorrow().isoformat()}")).text

    await sign_in(client, world.db, net.doctor)
    day = await client.get(f"/visits?day={tomorrow().isoformat()}")
    assert day.status_code == 200 and net.patient.name in day.text
    console = await client.get(f"/visits/{visit.id}")
    assert console.status_code == 200 and "高血压" in console.text
    assert f"/prescriptions/new?patient={net.patient.id}&amp;visit={visit.id}" not in console.text  # not started yet
    assert (await client.get("/visits/slots")).status_code == 200
    assert (await client.get(f"/portal/visits/{visit.id}")).status_code == 404  # the patient's page is theirs


async def test_the_booking_form_explains_the_rule_and_keeps_the_choice(client, world, net):  # noqa: ANN001
    first, _ = await publish(world, net)
    csrf = await sign_in(client, world.db, net.patient_user)
    form = await client.get(f"/portal/visits/book?slot={first.id}")
    assert form.status_code == 200 and "made online, not in person" in form.text
    refused = await client.post("/portal/visits/book", data={
        "csrf_token": csrf, "patient_id": net.patient.id, "slot_id": first.id,
        "condition_id": net.conditions["not_active"], "complaint": "咳嗽"})
    assert refused.status_code == 422 and "no longer active" in refused.text
    assert await world.db.scalar(select(Visit.id)) is None
    booked = await client.post("/portal/visits/book", data={
        "csrf_token": csrf, "patient_id": net.patient.id, "slot_id": first.id,
        "condition_id": net.conditions["eligible"], "complaint": "头晕"})
    assert booked.status_code == 303
    visit_id = int(booked.headers["location"].rsplit("/", 1)[1])
    cancelled = await client.post(f"/portal/visits/{visit_id}/cancel", data={"csrf_token": csrf})
    assert cancelled.status_code == 303
    assert (await world.db.get(Visit, visit_id)).state == "cancelled"


async def test_the_doctor_publishes_from_the_page_with_the_price_in_yuan(client, world, net):  # noqa: ANN001
    csrf = await sign_in(client, world.db, net.doctor)
    day = tomorrow().isoformat()
    answer = await client.post("/visits/slots", data={
        "csrf_token": csrf, "facility_id": net.county.id, "first_day": day, "last_day": day,
        "weekdays": [str(tomorrow().isoweekday())], "start": "08:00", "end": "09:00", "visit_minutes": "15",
        "buffer_minutes": "0", "daily_max": "4", "cancel_cutoff_hours": "6", "mode": "video", "price": "25.5"})
    assert answer.status_code == 200 and "4" in answer.text
    assert "¥25.50" in answer.text
    bad = await client.post("/visits/slots", data={
        "csrf_token": csrf, "facility_id": net.county.id, "first_day": day, "last_day": day,
        "weekdays": [str(tomorrow().isoweekday())], "start": "08:00", "end": "09:00", "visit_minutes": "15",
        "buffer_minutes": "0", "daily_max": "4", "cancel_cutoff_hours": "6", "mode": "video", "price": "25.555"})
    assert bad.status_code == 422
