"""Who may upload and read an order's ECG: the sending site uploads, the sender and the hub read,
anyone else gets the same 404 as for a missing order. Every read is in the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from tests.diagnostics.ecg import samples
from tests.diagnostics.ecg.conftest import upload

READS = ("", "/signal", "/original")


async def test_anonymous_callers_are_asked_to_sign_in(client, ecg_order):
    assert (await upload(client, {}, ecg_order.id, [("e.dcm", samples.dicom_ecg())])).status_code == 401
    for path in READS:
        assert (await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg{path}")).status_code == 401
    page = await client.get(f"/diagnosis/orders/{ecg_order.id}/ecg")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    posted = await client.post(f"/diagnosis/orders/{ecg_order.id}/ecg",
                               files=[("file", ("e.dcm", samples.dicom_ecg(), "application/dicom"))])
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login")


async def test_another_facility_sees_nothing(client, world, dnet, ecg_order):
    outsider = await world.token(dnet.outsider)
    refused = await upload(client, outsider, ecg_order.id, [("e.dcm", samples.dicom_ecg())])
    assert refused.status_code == 404
    posted = await client.post(f"/diagnosis/orders/{ecg_order.id}/ecg", headers=outsider,
                               files=[("file", ("e.dcm", samples.dicom_ecg(), "application/dicom"))])
    assert posted.status_code == 404
    assert (await upload(client, await world.token(dnet.sender), ecg_order.id,
                         [("e.dcm", samples.dicom_ecg())])).status_code == 201
    for path in READS:
        assert (await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg{path}", headers=outsider)).status_code \
            == 404
    assert (await client.get(f"/diagnosis/orders/{ecg_order.id}/ecg", headers=outsider)).status_code == 404
    missing = await client.get("/api/v1/diagnosis/orders/999999/ecg", headers=outsider)
    assert missing.status_code == 404 and missing.json()["message"] == \
        (await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg", headers=outsider)).json()["message"]


async def test_the_hub_reads_but_does_not_upload(client, world, dnet, ecg_order):
    reader = await world.token(dnet.reader)
    refused = await upload(client, reader, ecg_order.id, [("e.dcm", samples.dicom_ecg())])
    assert refused.status_code == 403
    before = await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg", headers=reader)
    assert before.status_code == 404 and "no ECG" in before.json()["message"]
    assert (await upload(client, await world.token(dnet.sender_tech), ecg_order.id,
                         [("e.dcm", samples.dicom_ecg())])).status_code == 201
    for user in (dnet.reader, dnet.reader2, dnet.hub_tech, dnet.sender):
        page = await client.get(f"/diagnosis/orders/{ecg_order.id}/ecg", headers=await world.token(user))
        assert page.status_code == 200 and 'data-testid="ecg-viewer"' in page.text
        for path in READS:
            got = await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg{path}",
                                   headers=await world.token(user))
            assert got.status_code == 200, (user.username, path, got.text[:200])


async def test_every_read_of_the_tracing_is_audited(client, world, db, dnet, ecg_order):
    assert (await upload(client, await world.token(dnet.sender), ecg_order.id,
                         [("e.dcm", samples.dicom_ecg())])).status_code == 201
    reader = await world.token(dnet.reader)
    for path in READS:
        assert (await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg{path}", headers=reader)).status_code \
            == 200
    rows = (await db.scalars(select(AuditEvent).where(AuditEvent.resource_type == "DiagnosisOrder",
                                                      AuditEvent.resource_id == str(ecg_order.id)))).all()
    by_reader = {r.action for r in rows if r.actor_user_id == dnet.reader.id}
    assert {"diagnosis_ecg_read", "diagnosis_ecg_signal", "diagnosis_ecg_export"} <= by_reader
    assert any(r.action == "diagnosis_ecg_upload" and r.actor_user_id == dnet.sender.id for r in rows)
    denied = await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg", headers=await world.token(dnet.outsider))
    assert denied.status_code == 404
