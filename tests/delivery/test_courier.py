"""The courier webhook: signed, replay-proof, idempotent on the event id, never backwards, and every
call kept, refused or not."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select

from carebridge.portal.delivery import courier
from carebridge.portal.delivery.models import CourierEvent, DeliveryEvent
from carebridge.records.models import MedicationStatement
from tests.delivery.conftest import COURIER_SECRET, event, signed
from tests.delivery.steps import courier_says, get, shipped_order


def later(minutes: int) -> dt.datetime:
    """A courier's time after the parcel was handed over (our clock, give or take)."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)


async def _log(world) -> list[tuple[str, str]]:  # noqa: ANN001
    rows = (await world.db.scalars(select(CourierEvent).order_by(CourierEvent.id))).all()
    return [(row.outcome, row.event_id) for row in rows]


async def test_a_signed_delivered_event_completes_the_order_and_dispenses_the_source(client, world, pharmacy):
    made = await shipped_order(client, world, pharmacy)
    scan = await courier_says(client, "SF1234567890", "in_transit", "sf-1", later(60), location="太原转运中心")
    done = await courier_says(client, "SF1234567890", "delivered", "sf-2", later(180),
                              location="太原市小店区坞城路", note="本人签收")
    assert (scan.status_code, scan.json(), done.json()) == (200, {"status": "applied"}, {"status": "applied"})
    body = await get(client, world, pharmacy.patient_user, made["id"])
    assert body["state"] == "delivered" and body["closed_at"]
    last = body["timeline"][-1]
    assert (last["label"], last["party"], last["actor_name"], last["location"], last["note"]) == (
        "Delivered", "courier", "顺丰速运", "太原市小店区坞城路", "本人签收")
    statement = await world.db.get(MedicationStatement, made["source_id"])
    await world.db.refresh(statement)
    assert statement.status == "active"
    assert await _log(world) == [("applied", "sf-1"), ("applied", "sf-2")]


async def test_a_replayed_event_changes_nothing_and_is_answered_200(client, world, pharmacy):
    made = await shipped_order(client, world, pharmacy)
    first = await courier_says(client, "SF1234567890", "picked_up", "sf-9", later(5))
    again = await courier_says(client, "SF1234567890", "picked_up", "sf-9", later(5))
    assert (first.json(), again.status_code, again.json()) == ({"status": "applied"}, 200, {"status": "duplicate"})
    rows = (await world.db.scalars(select(DeliveryEvent.courier_event).where(
        DeliveryEvent.order_id == made["id"], DeliveryEvent.courier_event != ""))).all()
    assert rows == ["picked_up"]
    assert await _log(world) == [("applied", "sf-9"), ("duplicate", "sf-9")]


async def test_out_of_order_events_never_move_a_delivered_parcel_back(client, world, pharmacy):
    made = await shipped_order(client, world, pharmacy)
    await courier_says(client, "SF1234567890", "delivered", "d", later(120))
    late_scan = await courier_says(client, "SF1234567890", "in_transit", "t-early", later(60), location="晋中分拨中心")
    bogus = await courier_says(client, "SF1234567890", "in_transit", "t-after", later(150))
    also_failed = await courier_says(client, "SF1234567890", "failed", "f-after", later(160))
    assert (late_scan.json(), bogus.json(), also_failed.json()) == (
        {"status": "timeline"}, {"status": "out_of_order"}, {"status": "out_of_order"})
    body = await get(client, world, pharmacy.patient_user, made["id"])
    assert body["state"] == "delivered"
    # The late report of an earlier scan sits at its own time, before the delivery.
    courier_rows = [(r["courier_event"], r["location"]) for r in body["timeline"] if r["party"] == "courier"]
    assert courier_rows == [("in_transit", "晋中分拨中心"), ("delivered", "太原转运中心")]


async def test_a_failed_attempt_can_still_end_delivered_or_returned(client, world, pharmacy):
    made = await shipped_order(client, world, pharmacy)
    await courier_says(client, "SF1234567890", "failed", "f1", later(60), note="电话无人接听")
    assert (await get(client, world, pharmacy.patient_user, made["id"]))["state"] == "failed"
    await courier_says(client, "SF1234567890", "delivered", "d1", later(120))
    assert (await get(client, world, pharmacy.patient_user, made["id"]))["state"] == "delivered"


async def test_refused_calls_change_nothing_and_are_kept(client, world, pharmacy):
    made = await shipped_order(client, world, pharmacy)
    url = "/api/v1/delivery/courier/sf/events"
    body, headers = signed(event("SF1234567890", "delivered", "x1", later(5)))
    forged = await client.post(url, content=body.replace(b"x1", b"x2"), headers=headers)
    wrong_key = await client.post(url, content=body, headers={
        **headers, courier.SIGNATURE_HEADER: courier.signature(b"guessed-secret-000000", headers[
            courier.TIMESTAMP_HEADER], body)})
    stale_body, stale_headers = signed(event("SF1234567890", "delivered", "x3", later(5)), at=int(time.time()) - 3600)
    stale = await client.post(url, content=stale_body, headers=stale_headers)
    unsigned = await client.post(url, content=body, headers={"Content-Type": "application/json"})
    unknown = await courier_says(client, "SF0000000000", "delivered", "x4")
    nobody = await courier_says(client, "SF1234567890", "delivered", "x5", courier="pigeon")
    garbled_body, garbled_headers = signed(b'{"event": "teleported"}')
    garbled = await client.post(url, content=garbled_body, headers=garbled_headers)
    codes = [r.status_code for r in (forged, wrong_key, stale, unsigned, unknown, nobody, garbled)]
    assert codes == [401, 401, 401, 401, 404, 404, 422]
    assert forged.json()["code"] == "bad_signature" and stale.json()["code"] == "stale_timestamp"
    assert (await get(client, world, pharmacy.patient_user, made["id"]))["state"] == "shipped"
    outcomes = [o for o, _ in await _log(world)]
    assert outcomes == ["bad_signature", "bad_signature", "stale", "refused", "unknown_tracking", "refused", "invalid"]
    kept = await world.db.scalar(select(CourierEvent).where(CourierEvent.outcome == "unknown_tracking"))
    assert kept.tracking_number == "SF0000000000" and '"x4"' in kept.body and kept.dedupe_key is None
    # The real event, sent after all that, still applies: refused copies reserve no event id.
    real = await courier_says(client, "SF1234567890", "delivered", "x1", later(5))
    assert real.json() == {"status": "applied"}


async def test_without_a_configured_secret_a_courier_is_refused_outside_demo_mode(client, world, pharmacy, settings,
                                                                                 monkeypatch):
    await shipped_order(client, world, pharmacy)
    monkeypatch.setattr(settings, "delivery_courier_secrets", {})
    refused = await courier_says(client, "SF1234567890", "in_transit", "e1")
    assert refused.status_code == 401 and refused.json()["code"] == "courier_not_configured"
    monkeypatch.setattr(settings, "demo_mode", True)
    body, headers = signed(event("SF1234567890", "in_transit", "e2", later(5)),
                           secret=courier.demo_secret(settings, "sf"))
    accepted = await client.post("/api/v1/delivery/courier/sf/events", content=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert courier.demo_secret(settings, "sf") != COURIER_SECRET
    assert courier.demo_secret(settings, "sf") != courier.demo_secret(settings, "ems")


async def test_the_webhook_is_documented_in_the_openapi(client):
    spec = (await client.get("/api/v1/openapi.json")).json()
    operation = spec["paths"]["/api/v1/delivery/courier/{courier_code}/events"]["post"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {courier.SIGNATURE_HEADER, courier.TIMESTAMP_HEADER}
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"event_id", "tracking_number", "event", "time"} <= set(schema["required"])


async def test_the_send_event_tool_signs_what_the_webhook_accepts(client, world, pharmacy, capsys):
    import argparse

    from carebridge.portal.delivery import send_event

    await shipped_order(client, world, pharmacy)
    args = argparse.Namespace(courier="sf", tracking="SF1234567890", event="in_transit", location="太原", note="",
                              event_id="tool-1", url="http://testserver", demo=False, send=False)
    url, body, headers = send_event.build(args)
    sent = await client.post(url.removeprefix("http://testserver"), content=body, headers=headers)
    assert sent.status_code == 200 and sent.json() == {"status": "applied"}
    send_event.main(["--courier", "sf", "--tracking", "SF1234567890", "--event", "delivered"])
    printed = capsys.readouterr().out
    assert printed.startswith("curl -sS -X POST http://127.0.0.1:8000/api/v1/delivery/courier/sf/events")
    assert courier.SIGNATURE_HEADER in printed and '"event": "delivered"' in printed
