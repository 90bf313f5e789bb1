"""Every report, double-read and reading-settings route over HTTP: anonymous callers are sent to
sign in, another facility's doctor gets 404 as if nothing existed, the sender reads but does not
write, the reader writes and signs; the reading page and autosave work as a browser uses them."""

from __future__ import annotations

import io
import random

from pypdf import PdfReader
from sqlalchemy import select

from carebridge.auth.models import Role
from carebridge.diagnostics import quality, reports
from carebridge.diagnostics.report_models import DoubleRead, ReadingHubSettings
from tests.auth.conftest import login_as
from tests.diagnostics.reports.helpers import (
    CT_HEAD_DRAFT,
    MemoryBlobs,
    claimed,
    ecg_order_with_preread,
    hub_doctor,
    ready_order,
    write_and_sign,
)

DRAFT_JSON = {"findings": {"haemorrhage": "subdural", "midline_shift": 6}, "impression": "左侧急性硬膜下血肿。",
              "critical": True, "critical_note": "急性硬膜下血肿"}


def order_routes(order_id: int) -> list[tuple[str, str, dict | None]]:
    base = f"/api/v1/diagnosis/orders/{order_id}/report"
    return [("GET", base, None), ("GET", f"{base}/draft", None), ("PUT", f"{base}/draft", DRAFT_JSON),
            ("POST", f"{base}/sign", {"kind": "final"}), ("POST", f"{base}/addenda", {"text": "补充说明。"}),
            ("POST", f"{base}/critical-acknowledgement", {}), ("GET", f"{base}.pdf", None)]


def page_routes(order_id: int) -> list[tuple[str, str]]:
    base = f"/diagnosis/orders/{order_id}"
    return [("GET", f"{base}/read"), ("POST", f"{base}/read/claim"), ("POST", f"{base}/read/draft"),
            ("POST", f"{base}/read"), ("GET", f"{base}/report"), ("GET", f"{base}/report/panel"),
            ("POST", f"{base}/report/addenda"), ("POST", f"{base}/report/acknowledge")]


async def _call(client, method: str, url: str, body=None, headers=None):  # noqa: ANN001, ANN202
    return await client.request(method, url, json=body, headers=headers or {})


async def test_anonymous_callers_are_refused_everywhere(client, world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    for method, url, body in order_routes(order.id) + [
            ("GET", "/api/v1/diagnosis/qa", None), ("GET", "/api/v1/diagnosis/qa/1", None),
            ("POST", "/api/v1/diagnosis/qa/1/reading", {"impression": "abc"}),
            ("GET", f"/api/v1/diagnosis/hubs/{dnet.hub.id}/qa", None),
            ("PUT", f"/api/v1/diagnosis/hubs/{dnet.hub.id}/reading-settings",
             {"two_step": True, "double_read_percent": 5}),
            ("GET", "/api/v1/diagnosis/report-templates", None)]:
        assert (await _call(client, method, url, body)).status_code == 401, url
    hub = f"/diagnosis/hubs/{dnet.hub.id}"
    for method, url in page_routes(order.id) + [("GET", "/diagnosis/qa"), ("GET", f"{hub}/qa"),
                                                ("GET", f"{hub}/reading-settings")]:
        got = await client.request(method, url, headers={"Accept": "text/html"})
        assert got.status_code in (303, 401) and "/login" in got.headers.get("location", "/login"), url


async def test_another_facility_gets_404_on_every_order_route(client, world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    auth = await world.token(dnet.outsider)
    for method, url, body in order_routes(order.id):
        got = await _call(client, method, url, body, auth)
        assert got.status_code == 404, (url, got.text)
    csrf = await login_as(client, db, dnet.outsider)
    for method, url in page_routes(order.id):
        got = await client.request(method, url, data={"csrf_token": csrf} if method == "POST" else None)
        assert got.status_code == 404, url


async def test_the_sender_reads_and_acknowledges_but_never_writes(client, world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    reader = await hub_doctor(world, db, dnet)
    draft = reports.DraftInput(**{**vars(CT_HEAD_DRAFT), "critical": True, "critical_note": "急性硬膜下血肿"})
    await write_and_sign(world, db, dnet, order, reader, MemoryBlobs(), draft=draft)
    sender = await world.token(dnet.sender)
    base = f"/api/v1/diagnosis/orders/{order.id}/report"
    report = (await client.get(base, headers=sender)).json()
    assert report["verified"] and report["final"] and report["critical"]["state"] == "unacknowledged"
    assert report["can"] == ["acknowledge"]
    assert report["versions"][0]["content"]["impression"] == CT_HEAD_DRAFT.impression
    for method, url, body in [("GET", f"{base}/draft", None), ("PUT", f"{base}/draft", DRAFT_JSON),
                              ("POST", f"{base}/sign", {"kind": "final"}),
                              ("POST", f"{base}/addenda", {"text": "x" * 5})]:
        assert (await _call(client, method, url, body, sender)).status_code == 403, url
    tech = await world.token(dnet.sender_tech)
    assert (await client.post(f"{base}/critical-acknowledgement", json={}, headers=tech)).status_code == 403
    acked = await client.post(f"{base}/critical-acknowledgement", json={"note": "已收到"}, headers=sender)
    assert acked.status_code == 200 and acked.json()["critical"]["acknowledged_by_id"] == dnet.sender.id
    pdf = await client.get(f"{base}.pdf", headers=sender)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "左侧急性硬膜下血肿" in text and "Imaging report" in text and "影像诊断报告" in text
    assert "已确认 / Acknowledged" in text and "SHA-256" in text
    assert (await client.get(base, headers=await world.token(dnet.hub_tech))).status_code == 403


async def test_the_reader_drafts_and_signs_over_the_api(client, world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    reader = await hub_doctor(world, db, dnet)
    auth = await world.token(reader)
    base = f"/api/v1/diagnosis/orders/{order.id}/report"
    refused = await client.put(f"{base}/draft", json=DRAFT_JSON, headers=auth)
    assert refused.status_code == 409 and refused.json()["code"] == "claim_first"
    await claimed(world, db, order, reader)
    draft = await client.get(f"{base}/draft", headers=auth)
    assert draft.status_code == 200 and draft.json()["template"]["key"] == "ct_head"
    assert draft.json()["can"] == ["edit", "sign_preliminary", "sign_final"]
    bad = await client.put(f"{base}/draft", json={**DRAFT_JSON, "findings": {"midline_shift": 99}}, headers=auth)
    assert bad.status_code == 422 and bad.json()["details"]["field"] == "findings.midline_shift"
    unknown = await client.put(f"{base}/draft", json={**DRAFT_JSON, "surprise": 1}, headers=auth)
    assert unknown.status_code == 422
    saved = await client.put(f"{base}/draft", json=DRAFT_JSON, headers=auth)
    assert saved.status_code == 200 and saved.json()["findings"] == {"haemorrhage": "subdural", "midline_shift": 6}
    assert (await client.get(base, headers=await world.token(dnet.sender))).json()["signed"] is False
    signed = await client.post(f"{base}/sign", json={"kind": "final"}, headers=auth)
    assert signed.status_code == 200 and signed.json()["verified"] and signed.json()["document_entry_id"]
    again = await client.post(f"{base}/sign", json={"kind": "final"}, headers=auth)
    assert again.status_code == 409
    added = await client.post(f"{base}/addenda", json={"text": "复查无变化。"}, headers=auth)
    assert added.status_code == 201 and added.json()["addenda"][0]["prev_hash"] == signed.json()["versions"][0][
        "content_hash"]


async def test_double_read_and_settings_routes(client, world, db, dnet, monkeypatch):
    monkeypatch.setattr(quality, "chooser", random.Random(7))
    admin = await world.user((Role.facility_admin, dnet.hub.id))
    put = await client.put(f"/api/v1/diagnosis/hubs/{dnet.hub.id}/reading-settings",
                           json={"two_step": False, "double_read_percent": 100}, headers=await world.token(admin))
    assert put.status_code == 200 and put.json()["double_read_percent"] == 100
    for user in (dnet.outsider, dnet.reader):
        assert (await client.put(f"/api/v1/diagnosis/hubs/{dnet.hub.id}/reading-settings",
                                 json={"two_step": True, "double_read_percent": 1},
                                 headers=await world.token(user))).status_code == 404
    assert (await client.get(f"/api/v1/diagnosis/hubs/{dnet.hub.id}/reading-settings",
                             headers=await world.token(dnet.reader))).status_code == 200
    too_many = await client.put(f"/api/v1/diagnosis/hubs/{dnet.hub.id}/reading-settings",
                                json={"two_step": True, "double_read_percent": 150}, headers=await world.token(admin))
    assert too_many.status_code == 422
    first, second = await hub_doctor(world, db, dnet), await hub_doctor(world, db, dnet)
    order = await ready_order(world, db, dnet, body_part="HEAD")
    await write_and_sign(world, db, dnet, order, first, MemoryBlobs())
    item = await db.scalar(select(DoubleRead).where(DoubleRead.order_id == order.id))
    auth2 = await world.token(second)
    queue = (await client.get("/api/v1/diagnosis/qa", headers=auth2)).json()
    assert [q["id"] for q in queue] == [item.id] and queue[0]["first_impression"] is None
    blind = await client.get(f"/api/v1/diagnosis/orders/{order.id}/report", headers=auth2)
    assert blind.status_code == 409 and blind.json()["code"] == "blind_double_read"
    assert (await client.get(f"/api/v1/diagnosis/qa/{item.id}",
                             headers=await world.token(dnet.outsider))).status_code == 404
    assert (await client.get(f"/diagnosis/qa/{item.id}", headers=await world.token(dnet.outsider))).status_code == 404
    page = await client.get(f"/diagnosis/qa/{item.id}", headers=auth2)
    assert 'data-testid="qa-reading-form"' in page.text and CT_HEAD_DRAFT.impression not in page.text
    read = await client.post(f"/api/v1/diagnosis/qa/{item.id}/reading", json={"impression": "硬膜下血肿。"},
                             headers=auth2)
    assert read.status_code == 200 and read.json()["first_impression"] == CT_HEAD_DRAFT.impression
    page = await client.get(f"/diagnosis/qa/{item.id}", headers=auth2)
    assert CT_HEAD_DRAFT.impression in page.text and 'data-testid="qa-grade-form"' in page.text
    graded = await client.post(f"/api/v1/diagnosis/qa/{item.id}/grade", json={"grade": "1"}, headers=auth2)
    assert graded.status_code == 200 and graded.json()["state"] == "graded"
    stats = await client.get(f"/api/v1/diagnosis/hubs/{dnet.hub.id}/qa", headers=await world.token(admin))
    assert stats.status_code == 200 and stats.json()["readers"][0]["graded"] == 1
    for user in (dnet.outsider, second):
        assert (await client.get(f"/api/v1/diagnosis/hubs/{dnet.hub.id}/qa",
                                 headers=await world.token(user))).status_code == 404


async def test_the_reading_page_autosaves_and_signs(client, world, db, dnet):
    db.add(ReadingHubSettings(facility_id=dnet.hub.id, two_step=False, double_read_percent=0))
    order = await ready_order(world, db, dnet, body_part="HEAD")
    reader = await hub_doctor(world, db, dnet)
    csrf = await login_as(client, db, reader)
    url = f"/diagnosis/orders/{order.id}/read"
    page = await client.get(url)
    assert page.status_code == 200 and 'data-testid="claim"' in page.text and "fieldset disabled" in page.text
    assert order.clinical_question in page.text and 'data-testid="imaging-viewer"' in page.text
    claim = await client.post(f"{url}/claim", headers={"Accept": "application/json", "X-CSRF-Token": csrf})
    assert claim.status_code == 200 and claim.json()["seconds_left"] > 60
    page = await client.get(url)
    assert 'data-testid="claim-countdown"' in page.text and 'data-testid="report-sign-final"' in page.text
    form = {"csrf_token": csrf, "f_haemorrhage": "subdural", "f_midline_shift": "6", "impression": "左侧硬膜下血肿。"}
    saved = await client.post(f"{url}/draft", data=form, headers={"Accept": "application/json"})
    assert saved.status_code == 200 and "saved_at" in saved.json()
    bad = await client.post(f"{url}/draft", data={**form, "f_midline_shift": "lots"},
                            headers={"Accept": "application/json"})
    assert bad.status_code == 422 and bad.json()["details"]["field"] == "findings.midline_shift"
    refused = await client.post(url, data={**form, "impression": "", "intent": "sign_final"})
    assert refused.status_code == 409 and "Impression" in refused.text and "左侧硬膜下血肿" not in refused.text
    signed = await client.post(url, data={**form, "intent": "sign_final"})
    assert signed.status_code == 303 and signed.headers["location"] == f"/diagnosis/orders/{order.id}/report"
    report = await client.get(signed.headers["location"])
    assert 'data-verified="true"' in report.text and "左侧硬膜下血肿。" in report.text
    assert (await client.get(url)).status_code == 303  # reported: the workspace sends you to the report
    client.cookies.clear()
    await login_as(client, db, dnet.sender)
    panel = await client.get(f"/diagnosis/orders/{order.id}/report/panel")
    assert panel.status_code == 200 and 'data-signed="true"' in panel.text and "report-live.js" not in panel.text
    assert (await client.get(url)).status_code == 403  # the workspace is the hub's


async def test_the_sender_acknowledges_from_the_page(client, world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    draft = reports.DraftInput(**{**vars(CT_HEAD_DRAFT), "critical": True, "critical_note": "急性硬膜下血肿"})
    await write_and_sign(world, db, dnet, order, await hub_doctor(world, db, dnet), MemoryBlobs(), draft=draft)
    csrf = await login_as(client, db, dnet.sender)
    page = await client.get(f"/diagnosis/orders/{order.id}/report")
    assert 'data-critical="unacknowledged"' in page.text and 'data-testid="report-ack"' in page.text
    done = await client.post(f"/diagnosis/orders/{order.id}/report/acknowledge",
                             data={"csrf_token": csrf, "note": "收到", "next": f"/diagnosis/orders/{order.id}"})
    assert done.status_code == 303 and done.headers["location"] == f"/diagnosis/orders/{order.id}"  # the order page
    page = await client.get(f"/diagnosis/orders/{order.id}/report")
    assert 'data-critical="acknowledged"' in page.text
    timeline = await client.get(f"/patients/{dnet.patient.id}")  # the sending facility's record
    assert timeline.status_code == 200 and f"Imaging report: CT HEAD #{order.id}" in timeline.text
    again = await client.post(f"/diagnosis/orders/{order.id}/report/acknowledge",
                              data={"csrf_token": csrf, "next": "//elsewhere.example/x"})
    assert again.status_code == 409 and "no unacknowledged critical finding" in again.text


async def test_the_settings_and_quality_pages_are_the_admins(client, world, db, dnet):
    admin = await world.user((Role.facility_admin, dnet.hub.id))
    csrf = await login_as(client, db, admin)
    url = f"/diagnosis/hubs/{dnet.hub.id}/reading-settings"
    assert (await client.get(url)).status_code == 200
    bad = await client.post(url, data={"csrf_token": csrf, "two_step": "1", "double_read_percent": "abc"})
    assert bad.status_code == 422 and "0 to 100" in bad.text
    ok = await client.post(url, data={"csrf_token": csrf, "two_step": "1", "double_read_percent": "10"})
    assert ok.status_code == 303
    assert 'value="10"' in (await client.get(url)).text
    assert (await client.get(f"/diagnosis/hubs/{dnet.hub.id}/qa")).status_code == 200
    client.cookies.clear()
    await login_as(client, db, dnet.reader)
    assert (await client.get(url)).status_code == 404
    assert (await client.get(f"/diagnosis/hubs/{dnet.hub.id}/qa")).status_code == 404
    assert (await client.get("/diagnosis/qa")).status_code == 200


async def test_an_ecg_draft_starts_from_the_preread_on_the_page_and_over_the_api(client, world, db, dnet):
    order, pre = await ecg_order_with_preread(world, db, dnet, MemoryBlobs())
    reader = await hub_doctor(world, db, dnet)
    await claimed(world, db, order, reader)
    draft = (await client.get(f"/api/v1/diagnosis/orders/{order.id}/report/draft",
                              headers=await world.token(reader))).json()
    assert draft["template"]["key"] == "ecg_12lead"
    assert abs(draft["findings"]["heart_rate"] - pre["heart_rate_bpm"]) < 1
    assert {"heart_rate", "qrs", "rhythm"} <= set(draft["preread_keys"])
    await login_as(client, db, reader)
    page = (await client.get(f"/diagnosis/orders/{order.id}/read")).text
    assert page.count('data-testid="preread-mark"') == len(draft["preread_keys"])


async def test_the_reading_page_shows_the_viewer_for_the_kind_of_study(client, world, db, dnet):
    slide_order = await ready_order(world, db, dnet, modality="SM", body_part="胃")
    await login_as(client, db, await hub_doctor(world, db, dnet))
    page = (await client.get(f"/diagnosis/orders/{slide_order.id}/read")).text
    assert 'data-testid="slide-viewer"' in page and 'data-testid="reading-studies"' not in page
    assert 'value="pathology_biopsy" selected' in page
