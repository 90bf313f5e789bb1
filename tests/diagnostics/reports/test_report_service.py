"""Reports as the services see them: template choice, draft and signature, immutability and tamper
detection, addenda, the claim rule, the two-step rules and critical findings."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from carebridge.diagnostics import report_content, report_critical, reports
from carebridge.diagnostics import report_templates as templates
from carebridge.diagnostics.report_models import ReadingHubSettings, ReportAddendum, ReportVersion
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.notifications.models import Notification
from carebridge.records.models import Document
from tests.diagnostics.reports.helpers import (
    CT_HEAD_DRAFT,
    MemoryBlobs,
    claimed,
    hub_doctor,
    ready_order,
    titled,
    write_and_sign,
)


@pytest.mark.parametrize(("modality", "body_part", "frozen", "expected"), [
    ("CT", "HEAD", False, "ct_head"), ("CT", "头颅", False, "ct_head"), ("CT", "CHEST", False, "ct_chest"),
    ("CT", "KNEE", False, "generic"), ("DX", "CHEST", False, "chest_xray"), ("CR", "胸部", False, "chest_xray"),
    ("DX", "HAND", False, "generic"), ("US", "ABDOMEN", False, "us_abdomen"), ("MG", "", False, "mg_breast"),
    ("MR", "BRAIN", False, "mr_brain"), ("MR", "SPINE", False, "generic"), ("ECG", "", False, "ecg_12lead"),
    ("SM", "stomach", False, "pathology_biopsy"), ("SM", "breast", True, "pathology_frozen"),
])
def test_the_template_follows_modality_and_body_part(modality, body_part, frozen, expected):
    assert templates.choose(modality, body_part, frozen).key == expected


def test_findings_are_checked_against_their_template():
    tmpl = templates.MAMMOGRAPHY
    checked = templates.check_findings(tmpl, {"birads": "4A", "mass": " 左乳外上 "})
    assert checked == {"birads": "4A", "mass": "左乳外上"}
    with pytest.raises(InvalidInput) as bad:
        templates.check_findings(tmpl, {"birads": "7"})
    assert bad.value.details["field"] == "findings.birads"
    with pytest.raises(InvalidInput):
        templates.check_findings(tmpl, {"weather": "sunny"})
    assert templates.check_findings(templates.CT_HEAD, {"midline_shift": "6.0"}) == {"midline_shift": 6}
    with pytest.raises(InvalidInput):
        templates.check_findings(templates.CT_HEAD, {"midline_shift": "80"})
    assert templates.missing_required(tmpl, {}) == ["birads"]


async def test_the_reader_drafts_signs_and_the_version_verifies(world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    version = await write_and_sign(world, db, dnet, order, await hub_doctor(world, db, dnet), MemoryBlobs())
    await db.refresh(order)
    assert order.state == "reported" and order.final_reader_id == version.signed_by_id and order.claimed_by_id is None
    body = json.loads(version.content)
    assert body["impression"] == CT_HEAD_DRAFT.impression and body["template"]["key"] == "ct_head"
    assert {f["key"]: f["value"] for f in body["findings"]}["midline_shift"] == 6
    assert version.content_hash == report_content.sha256(version.content)
    view = await reports.access_report(db, await world.principal(dnet.sender), order.id)
    assert view.verification.verified and view.draft is None and view.content["impression"] == CT_HEAD_DRAFT.impression
    # The order page passes whatever parts the caller plays; a hub technician plays none and sees nothing.
    tech = await reports.view_for(db, await world.principal(dnet.hub_tech), order, frozenset())
    assert not tech.may_read and tech.versions == [] and tech.content == {}


async def _reread(db, principal, order_id: int):  # noqa: ANN001, ANN202
    """A fresh look at the stored rows, as the next request would have."""
    for row in list(db.identity_map.values()):
        if isinstance(row, ReportVersion | ReportAddendum):
            db.expire(row)
    return await reports.access_report(db, principal, order_id)


async def test_a_changed_version_or_addendum_is_detected_on_the_next_read(world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    reader = await hub_doctor(world, db, dnet)
    blobs = MemoryBlobs()
    version = await write_and_sign(world, db, dnet, order, reader, blobs)
    principal, sender = await world.principal(reader), await world.principal(dnet.sender)
    await reports.add_addendum(db, principal, order.id, "复查CT示血肿无扩大。", blobs)
    await reports.add_addendum(db, principal, order.id, "已电话告知申请医生。", blobs)
    assert (await _reread(db, sender, order.id)).verification.verified
    signed_text, signed_hash = version.content, version.content_hash
    forged = signed_text.replace("6毫米", "3毫米")
    await db.execute(update(ReportVersion).where(ReportVersion.id == version.id).values(content=forged))
    seen = await _reread(db, sender, order.id)
    assert not seen.verification.verified
    assert "final version: content does not match its hash" in seen.verification.problems
    # Re-hashing the forged text is caught too: the addenda were chained to the signed hash.
    await db.execute(update(ReportVersion).where(ReportVersion.id == version.id).values(
        content_hash=report_content.sha256(forged)))
    seen = await _reread(db, sender, order.id)
    assert not seen.verification.verified and any("addendum" in p for p in seen.verification.problems)
    await db.execute(update(ReportVersion).where(ReportVersion.id == version.id).values(
        content=signed_text, content_hash=signed_hash))
    assert (await _reread(db, sender, order.id)).verification.verified
    await db.execute(update(ReportAddendum).where(ReportAddendum.id == seen.addenda[1].id).values(text="改过"))
    seen = await _reread(db, sender, order.id)
    assert seen.verification.problems == (f"addendum {seen.addenda[1].id}: chain broken",)
    # A changed signer column no longer matches what was signed.
    await db.execute(update(ReportVersion).where(ReportVersion.id == version.id).values(signed_by_id=dnet.sender.id))
    assert "final version: signed_by_id differs from the signed content" in (
        await _reread(db, sender, order.id)).verification.problems


async def test_a_signed_report_cannot_be_edited_only_amended(world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    reader = await hub_doctor(world, db, dnet)
    await write_and_sign(world, db, dnet, order, reader, MemoryBlobs())
    principal = await world.principal(reader)
    with pytest.raises(Conflict) as edited:
        await reports.save_draft(db, principal, order.id, CT_HEAD_DRAFT)
    assert edited.value.code == "not_editable"
    with pytest.raises(Conflict):
        await reports.sign(db, principal, order.id, "final", MemoryBlobs())
    with pytest.raises(Forbidden):
        await reports.add_addendum(db, await world.principal(dnet.sender), order.id, "not mine", MemoryBlobs())


async def test_writing_and_signing_need_a_live_claim(world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    reader, other = await hub_doctor(world, db, dnet), await hub_doctor(world, db, dnet)
    principal = await world.principal(reader)
    with pytest.raises(Conflict) as unclaimed:
        await reports.save_draft(db, principal, order.id, CT_HEAD_DRAFT)
    assert unclaimed.value.code == "claim_first"
    await claimed(world, db, order, other)
    with pytest.raises(Conflict) as taken:
        await reports.save_draft(db, principal, order.id, CT_HEAD_DRAFT)
    assert taken.value.code == "claimed"
    with pytest.raises(Conflict):
        await reports.sign(db, principal, order.id, "final", MemoryBlobs())


async def test_signing_needs_the_required_fields_and_an_impression(world, db, dnet):
    order = await ready_order(world, db, dnet, modality="MG")
    principal = await claimed(world, db, order, await hub_doctor(world, db, dnet))
    await reports.save_draft(db, principal, order.id, reports.DraftInput(findings={"composition": "c"}))
    with pytest.raises(Conflict) as incomplete:
        await reports.sign(db, principal, order.id, "final", MemoryBlobs())
    assert incomplete.value.details["missing"] == ["birads", "impression"]


async def test_a_resident_never_signs_final_and_the_same_person_cannot_sign_both(world, db, dnet):
    db.add(ReadingHubSettings(facility_id=dnet.hub.id, two_step=True, double_read_percent=0))
    order = await ready_order(world, db, dnet, body_part="HEAD")
    resident = await hub_doctor(world, db, dnet, "resident")
    attending = await hub_doctor(world, db, dnet, "attending")
    principal = await claimed(world, db, order, resident)
    await reports.save_draft(db, principal, order.id, CT_HEAD_DRAFT)
    with pytest.raises(Forbidden) as resident_final:
        await reports.sign(db, principal, order.id, "final", MemoryBlobs())
    assert resident_final.value.code == "not_attending"
    attending_p = await world.principal(attending)
    await db.execute(update(type(order)).where(type(order).id == order.id).values(claimed_by_id=None))
    await db.refresh(order)
    await claimed(world, db, order, attending)
    with pytest.raises(Conflict) as skipped:
        await reports.sign(db, attending_p, order.id, "final", MemoryBlobs())
    assert skipped.value.code == "preliminary_first"
    await reports.sign(db, attending_p, order.id, "preliminary", MemoryBlobs())
    await db.refresh(order)
    assert order.state == "preliminary" and order.claimed_by_id is None
    await claimed(world, db, order, attending)
    with pytest.raises(Forbidden) as same:
        await reports.sign(db, attending_p, order.id, "final", MemoryBlobs())
    assert same.value.code == "same_reader"
    chief = await hub_doctor(world, db, dnet, "chief")
    await db.execute(update(type(order)).where(type(order).id == order.id).values(claimed_by_id=None))
    await db.refresh(order)
    version = await write_and_sign(world, db, dnet, order, chief, MemoryBlobs())
    prelim = await db.scalar(select(ReportVersion).where(ReportVersion.order_id == order.id,
                                                         ReportVersion.kind == "preliminary"))
    assert json.loads(version.content)["previous_hash"] == prelim.content_hash


async def test_without_two_step_an_attending_signs_final_from_ready_and_a_doctor_without_title_cannot(world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    untitled = await hub_doctor(world, db, dnet, title="")
    with pytest.raises(Forbidden):
        await write_and_sign(world, db, dnet, order, untitled, MemoryBlobs())
    await titled(db, untitled, "associate_chief")
    await write_and_sign(world, db, dnet, order, untitled, MemoryBlobs())


async def test_the_signed_report_is_filed_in_the_record_and_an_addendum_supersedes_it(world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    reader = await hub_doctor(world, db, dnet)
    blobs = MemoryBlobs()
    await write_and_sign(world, db, dnet, order, reader, blobs)
    docs = (await db.scalars(select(Document).where(Document.patient_id == dnet.patient.id))).all()
    assert len(docs) == 1 and docs[0].facility_id == dnet.community.id and docs[0].code == "18748-4"
    filed = PdfReader(io.BytesIO(blobs.items[docs[0].blob_digest]))
    text = "".join(page.extract_text() for page in filed.pages)
    assert CT_HEAD_DRAFT.impression in text and "硬膜下 / Subdural" in text and "影像诊断报告" in text
    await reports.add_addendum(db, await world.principal(reader), order.id, "复查无变化。", blobs)
    docs = (await db.scalars(select(Document).where(Document.patient_id == dnet.patient.id)
                             .order_by(Document.id))).all()
    assert len(docs) == 2 and docs[0].voided_at is not None and docs[1].voided_at is None


async def test_a_critical_finding_waits_for_the_senders_acknowledgement(world, db, dnet):
    order = await ready_order(world, db, dnet, body_part="HEAD")
    draft = reports.DraftInput(**{**vars(CT_HEAD_DRAFT), "critical": True, "critical_note": "急性硬膜下血肿"})
    reader = await hub_doctor(world, db, dnet)
    await write_and_sign(world, db, dnet, order, reader, MemoryBlobs(), draft=draft)
    assert await report_critical.critical_unacknowledged(db, [order.id]) == {order.id}
    urgent = (await db.scalars(select(Notification).where(Notification.kind == "diagnosis_critical"))).all()
    assert {n.user_id for n in urgent} == {dnet.sender.id} and urgent[0].link == f"/diagnosis/orders/{order.id}"
    for refused in (reader, dnet.sender_tech):
        with pytest.raises(Forbidden):
            await report_critical.acknowledge(db, await world.principal(refused), order.id)
    with pytest.raises(NotFound):
        await report_critical.acknowledge(db, await world.principal(dnet.outsider), order.id)
    await report_critical.acknowledge(db, await world.principal(dnet.sender), order.id, "已通知患者入院")
    assert await report_critical.critical_unacknowledged(db, [order.id]) == set()
    view = await reports.access_report(db, await world.principal(dnet.sender), order.id)
    assert view.critical_state == "acknowledged" and view.row.critical_ack_by_id == dnet.sender.id
    with pytest.raises(Conflict):
        await report_critical.acknowledge(db, await world.principal(dnet.sender), order.id)
    await reports.add_addendum(db, await world.principal(reader), order.id, "另见气胸，需处理。", MemoryBlobs(),
                               is_critical=True)
    assert await report_critical.critical_unacknowledged(db, [order.id]) == {order.id}
