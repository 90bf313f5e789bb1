"""The case chat: saved, listed in order, pushed to the room only after commit; files shared into
the case are sniffed (images and PDF only), size-limited, served with their real type to case
participants only, and every read is audited."""

from __future__ import annotations

import asyncio
import base64

import pytest
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.auth.models import Role
from carebridge.consultations import chat
from carebridge.consultations.room_models import ConsultationMessage
from carebridge.realtime.api import hub_for
from carebridge.realtime.hub import Member
from tests.consultations.room_helpers import case_in_state, include_room

# A real 1×1 PNG and a minimal PDF.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5E"
                       "rkJggg==")
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
DICOM = b"\0" * 128 + b"DICM" + b"\0" * 64


@pytest.fixture
async def api(app, client):  # noqa: ANN001, ANN201
    include_room(app)
    return client


@pytest.fixture
async def case(db, world, net):  # noqa: ANN001, ANN201
    return await case_in_state(db, world, net, "in_session")


def _messages(case) -> str:  # noqa: ANN001
    return f"/api/v1/consultations/{case.id}/messages"


async def test_messages_are_saved_listed_and_pushed_to_the_room_after_commit(api, app, world, net, case):
    hub = hub_for(app)
    listener = Member(id="listener", user_id=net.county_doctor.id, display_name="listening")
    inbox = await hub.join(f"consultation-{case.id}", listener)
    sent = await api.post(_messages(case), json={"text": "  ST elevation in V2–V4?  "},
                          headers=await world.token(net.requester))
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message["text"] == "ST elevation in V2–V4?" and message["author_name"] == net.requester.display_name
    pushed = await asyncio.wait_for(inbox.get(), 2)
    assert pushed["type"] == "message" and pushed["message"]["id"] == message["id"]
    reply = await api.post(_messages(case), json={"text": "Yes: send him to us now."},
                           headers=await world.token(net.county_doctor))
    listed = await api.get(_messages(case), headers=await world.token(net.county_doctor))
    assert [m["text"] for m in listed.json()["items"]] == ["ST elevation in V2–V4?", "Yes: send him to us now."]
    since = await api.get(f"{_messages(case)}?after={message['id']}", headers=await world.token(net.requester))
    assert [m["id"] for m in since.json()["items"]] == [reply.json()["id"]]
    await hub.leave(f"consultation-{case.id}", listener.id)


async def test_a_refused_message_is_neither_saved_nor_announced(api, app, world, db, net, case):
    hub = hub_for(app)
    inbox = await hub.join(f"consultation-{case.id}", Member(id="l2", user_id=1, display_name="l"))
    h = await world.token(net.requester)
    assert (await api.post(_messages(case), json={"text": "   "}, headers=h)).status_code == 422
    assert (await api.post(_messages(case), json={"text": "x" * 4001}, headers=h)).status_code == 422
    assert (await api.post(_messages(case), json={"text": "hi", "colour": "red"}, headers=h)).status_code == 422
    assert (await db.scalars(select(ConsultationMessage).where(ConsultationMessage.case_id == case.id))).all() == []
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(inbox.get(), 0.2)


async def test_authorization_matrix_for_the_chat(api, world, db, net, case):
    nurse = await world.user((Role.nurse, net.county.id))
    assert (await api.get(_messages(case))).status_code == 401
    assert (await api.post(_messages(case), json={"text": "hello"})).status_code == 401
    for outsider in (net.outsider, net.city_doctor):
        h = await world.token(outsider)
        assert (await api.get(_messages(case), headers=h)).status_code == 404
        assert (await api.post(_messages(case), json={"text": "hello"}, headers=h)).status_code == 404
    h = await world.token(nurse)
    assert (await api.get(_messages(case), headers=h)).status_code == 403
    assert (await api.post(_messages(case), json={"text": "hello"}, headers=h)).status_code == 403
    assert (await api.get(_messages(case), headers=await world.token(net.county_admin))).status_code == 404
    assert (await api.get(_messages(case), headers=await world.token(net.county_doctor))).status_code == 200


async def test_the_chat_closes_with_the_case(api, world, db, net):
    draft = await case_in_state(db, world, net, "draft")
    refused = await api.post(_messages(draft), json={"text": "hello"}, headers=await world.token(net.requester))
    assert refused.status_code == 409 and refused.json()["code"] == "chat_closed"


async def _attach(api, case, data: bytes, name: str, content_type: str, headers, text: str = ""):  # noqa: ANN001, ANN202
    return await api.post(f"{_messages(case)}/attachments", files={"file": (name, data, content_type)},
                          data={"text": text}, headers=headers)


async def test_an_image_and_a_pdf_shared_into_the_case(api, world, db, net, case):
    h = await world.token(net.requester)
    image = await _attach(api, case, PNG, "心电图.png", "image/png", h, text="the ECG strip")
    assert image.status_code == 201, image.text
    attachment = image.json()["attachment"]
    assert attachment["media_type"] == "image/png" and attachment["name"] == "心电图.png"
    assert attachment["size"] == len(PNG) and image.json()["text"] == "the ECG strip"
    # A PDF sent as octet-stream with no extension is still recognised by its bytes.
    pdf = await _attach(api, case, PDF, "report", "application/octet-stream", h)
    assert pdf.status_code == 201 and pdf.json()["attachment"]["name"] == "report.pdf"

    got = await api.get(attachment["url"], headers=await world.token(net.county_doctor))
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png" and got.headers["x-content-type-options"] == "nosniff"
    assert "filename*=UTF-8''%E5%BF%83%E7%94%B5%E5%9B%BE.png" in got.headers["content-disposition"]
    exports = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "export",
                                                         AuditEvent.resource_type == "ConsultationMessage"))).all()
    assert [(e.actor_user_id, e.patient_id) for e in exports] == [(net.county_doctor.id, net.patient.id)]


async def test_attachments_are_sniffed_and_size_limited(api, world, db, net, case, monkeypatch):
    h = await world.token(net.requester)
    script = await _attach(api, case, b"<script>alert(1)</script>", "scan.png", "image/png", h)
    assert script.status_code == 415
    lying = await _attach(api, case, PDF, "scan.png", "image/png", h)
    assert lying.status_code == 415
    dicom = await _attach(api, case, DICOM, "ct.dcm", "application/dicom", h)
    assert dicom.status_code == 415 and dicom.json()["details"]["detected"] == "application/dicom"
    assert (await _attach(api, case, b"", "empty.png", "image/png", h)).status_code == 422
    monkeypatch.setattr(chat, "ATTACHMENT_MAX_BYTES", 64)
    too_big = await _attach(api, case, PNG + b"\0" * 64, "big.png", "image/png", h)
    assert too_big.status_code == 413
    assert (await db.scalars(select(ConsultationMessage).where(ConsultationMessage.case_id == case.id))).all() == []


async def test_attachment_download_matrix(api, world, db, net, case):
    made = await _attach(api, case, PNG, "strip.png", "image/png", await world.token(net.requester))
    url = made.json()["attachment"]["url"]
    nurse = await world.user((Role.nurse, net.county.id))
    assert (await api.get(url)).status_code == 401
    assert (await api.get(url, headers=await world.token(net.outsider))).status_code == 404
    assert (await api.get(url, headers=await world.token(nurse))).status_code == 403
    other = await case_in_state(db, world, net, "in_session")  # the message id under another case
    wrong_case = url.replace(f"/consultations/{case.id}/", f"/consultations/{other.id}/")
    assert (await api.get(wrong_case, headers=await world.token(net.requester))).status_code == 404
    text_only = await api.post(_messages(case), json={"text": "no file"}, headers=await world.token(net.requester))
    no_file = f"{_messages(case)}/{text_only.json()['id']}/attachment"
    assert (await api.get(no_file, headers=await world.token(net.requester))).status_code == 404
