"""The opinion through its services: the lead's draft, members' sections, signing under a content
hash in the same transaction as the lifecycle move, refusal of edits after signing, addenda chained
to the signed version, tamper detection, and the report filed in the patient's record."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from carebridge.access.models import AccessGrant
from carebridge.access.service import access_patient
from carebridge.audit.models import AuditEvent
from carebridge.consultations import opinion, service, team
from carebridge.consultations.models import CaseSharedItem
from carebridge.consultations.opinion_content import Diagnosis, Draft
from carebridge.consultations.opinion_models import ConsultationOpinion, OpinionAddendum, OpinionSection
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.network.models import Department
from carebridge.records.models import Document, RecordEntry
from tests.consultations.opinion_helpers import DRAFT, MemoryBlobs, sign_opinion


def forget_opinions(db) -> None:  # noqa: ANN001
    """After a raw UPDATE, read the opinion rows again instead of the session's copies."""
    for obj in list(db.identity_map.values()):
        if isinstance(obj, (ConsultationOpinion, OpinionAddendum, OpinionSection)):
            db.expire(obj)


async def accepted_case(world, db, net, mode="async", team_specialties=()):  # noqa: ANN001, ANN201
    requester = await world.principal(net.requester)
    case = await service.request_consultation(db, requester, service.CaseRequest(
        patient_id=net.patient.id, question="Is this atrial fibrillation?", clinical_summary="Palpitations for 2 weeks",
        mode=mode, specialty=net.specialty, team_specialties=team_specialties,
        shared_entry_ids=(net.entries[0].id, net.entries[1].id)))
    await service.take_action(db, requester, case.id, "submit")
    await service.take_action(db, await world.principal(net.county_admin), case.id, "triage")
    await service.take_action(db, await world.principal(net.county_doctor), case.id, "accept")
    return case


async def test_the_lead_drafts_and_signs_and_the_case_moves_in_the_same_step(world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    saved = await opinion.save_draft(db, lead, case.id, DRAFT)
    assert saved.diagnoses[0] == {"code": "I48.9", "display": "心房颤动 / Atrial fibrillation, unspecified"}
    signed = await opinion.sign(db, lead, case.id, MemoryBlobs())
    assert case.state == "opinion_signed"
    assert len(signed.content_hash) == 64 and signed.signed_by_id == net.county_doctor.id
    view = await opinion.access_opinion(db, await world.principal(net.requester), case.id)
    assert view.signed and view.verification.verified and view.verification.recomputed == signed.content_hash


async def test_the_generic_move_cannot_sign_without_the_opinion(world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    with pytest.raises(Conflict) as refused:
        await service.take_action(db, lead, case.id, "sign_opinion")
    assert refused.value.code == "opinion_not_signed" and case.state == "accepted"
    await opinion.save_draft(db, lead, case.id, Draft(assessment="only half written"))
    with pytest.raises(Conflict) as incomplete:
        await opinion.sign(db, lead, case.id, MemoryBlobs())
    assert incomplete.value.code == "opinion_incomplete" and incomplete.value.details["missing"] == ["recommendations"]
    assert (await opinion.opinion_of(db, case.id)).signed_at is None


async def test_signing_twice_and_editing_after_signing_are_409(world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    await sign_opinion(db, lead, case.id)
    with pytest.raises(Conflict) as twice:
        await opinion.sign(db, lead, case.id, MemoryBlobs())
    assert twice.value.code == "opinion_signed"
    with pytest.raises(Conflict):
        await opinion.save_draft(db, lead, case.id, DRAFT)
    with pytest.raises(Conflict):
        await opinion.save_section(db, lead, case.id, "late thoughts")


async def test_only_the_lead_writes_the_draft_and_nobody_outside_sees_it(world, db, net):
    case = await accepted_case(world, db, net)
    with pytest.raises(Forbidden):
        await opinion.save_draft(db, await world.principal(net.requester), case.id, DRAFT)
    with pytest.raises(Forbidden):
        await opinion.save_draft(db, await world.principal(net.county_admin), case.id, DRAFT)
    with pytest.raises(NotFound):
        await opinion.save_draft(db, await world.principal(net.outsider), case.id, DRAFT)
    await opinion.save_draft(db, await world.principal(net.county_doctor), case.id, DRAFT)
    with pytest.raises(NotFound):  # a draft is the writers' until signed
        await opinion.access_opinion(db, await world.principal(net.requester), case.id)


async def test_bad_codes_and_values_are_refused(world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    for bad in (Draft(diagnoses=(Diagnosis("U07", "x"),)), Draft(diagnoses=(Diagnosis("hypertension", ""),)),
                Draft(referral_advice="refer_sideways"), Draft(follow_up_days=0)):
        with pytest.raises(InvalidInput):
            await opinion.save_draft(db, lead, case.id, bad)
    assert await opinion.opinion_of(db, case.id) is None


async def test_a_live_case_is_signed_after_its_session(world, db, net):
    case = await accepted_case(world, db, net, mode="live")
    lead = await world.principal(net.county_doctor)
    with pytest.raises(Conflict):
        await sign_opinion(db, lead, case.id)


async def test_tampering_with_stored_content_fails_verification(world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    await sign_opinion(db, lead, case.id)
    await opinion.add_addendum(db, lead, case.id, "Correction: metoprolol 12.5 mg to start.")
    requester = await world.principal(net.requester)
    assert (await opinion.access_opinion(db, requester, case.id)).verification.verified
    await db.execute(update(ConsultationOpinion).where(ConsultationOpinion.case_id == case.id)
                     .values(recommendations="No anticoagulation needed."))
    forget_opinions(db)
    checked = (await opinion.access_opinion(db, requester, case.id)).verification
    assert not checked.verified and checked.recomputed != checked.content_hash


async def test_a_changed_addendum_breaks_its_chain(world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    await sign_opinion(db, lead, case.id)
    first = await opinion.add_addendum(db, lead, case.id, "First correction.")
    second = await opinion.add_addendum(db, lead, case.id, "Second correction.")
    signed = await opinion.opinion_of(db, case.id)
    assert first.prev_hash == signed.content_hash and second.prev_hash == first.hash
    await db.execute(update(OpinionAddendum).where(OpinionAddendum.id == first.id).values(text="Rewritten."))
    forget_opinions(db)
    checked = (await opinion.access_opinion(db, lead, case.id)).verification
    assert checked.verified and not checked.addenda_verified and checked.broken_addendum_id == first.id


async def test_addenda_need_a_signed_opinion_and_a_writer(world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    with pytest.raises(Conflict):
        await opinion.add_addendum(db, lead, case.id, "Too early.")
    await sign_opinion(db, lead, case.id)
    with pytest.raises(Forbidden):
        await opinion.add_addendum(db, await world.principal(net.requester), case.id, "Not mine to add.")
    with pytest.raises(InvalidInput):
        await opinion.add_addendum(db, lead, case.id, " ")


async def test_mdt_members_write_their_own_sections_and_the_lead_signs_the_whole(world, db, net):
    neuro = Department(code=f"neuro_op_{net.specialty}", name="神经内科", name_en="Neurology")
    db.add(neuro)
    await db.flush()
    case = await accepted_case(world, db, net, mode="async", team_specialties=(net.specialty, neuro.code))
    lead = await world.principal(net.county_doctor)
    seats = (await service.access_case(db, lead, case.id)).team
    await team.invite_member(db, lead, case.id, net.city_doctor.id, seat_id=seats[1].id)
    member = await world.principal(net.city_doctor)
    with pytest.raises(Forbidden):
        await opinion.save_draft(db, member, case.id, DRAFT)
    await opinion.save_draft(db, lead, case.id, DRAFT)
    with pytest.raises(Conflict) as waiting:
        await opinion.sign(db, lead, case.id, MemoryBlobs())
    assert waiting.value.details["members_without_section"] == [net.city_doctor.id]
    section = await opinion.save_section(db, member, case.id, "No focal deficit; stroke risk as assessed.")
    assert section.department_id == neuro.id
    await opinion.save_section(db, member, case.id, "No focal deficit; CT not needed.")  # edits, not a second one
    signed = await opinion.sign(db, lead, case.id, MemoryBlobs())
    sections = (await db.scalars(select(OpinionSection).where(OpinionSection.opinion_id == signed.id))).all()
    assert [(s.author_id, s.text) for s in sections] == [(net.city_doctor.id, "No focal deficit; CT not needed.")]
    await opinion.add_addendum(db, member, case.id, "Neurology: repeat exam if symptoms recur.")
    await db.execute(update(OpinionSection).where(OpinionSection.id == section.id).values(text="edited later"))
    forget_opinions(db)
    assert not (await opinion.access_opinion(db, lead, case.id)).verification.verified


async def test_the_signed_report_joins_the_record_kept_by_the_requesting_facility(world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    blobs = MemoryBlobs()
    signed = await sign_opinion(db, lead, case.id, blobs=blobs)
    document = await db.get(Document, signed.document_entry_id)
    assert document.patient_id == net.patient.id and document.facility_id == net.township.id
    assert document.author_id == net.county_doctor.id and (document.code_system, document.code) == ("LOINC", "11488-4")
    assert document.media_type == "application/pdf" and blobs.items[document.blob_digest].startswith(b"%PDF")
    requester_view = await access_patient(db, await world.principal(net.requester), net.patient.id)
    assert requester_view.allows(document)
    expert_view = await access_patient(db, lead, net.patient.id, purpose="consultation")
    assert expert_view.allows(document)  # the case's grant now covers the report too
    shared = (await db.scalars(select(CaseSharedItem.entry_id).where(CaseSharedItem.case_id == case.id))).all()
    assert document.id in shared
    grant = await db.scalar(select(AccessGrant).where(AccessGrant.source_type == "consultation",
                                                      AccessGrant.source_id == case.id))
    assert document.id in grant.scope_entry_ids
    written = await db.scalar(select(AuditEvent).where(AuditEvent.resource_type == "DocumentReference",
                                                       AuditEvent.resource_id == str(document.id)))
    assert written.detail["source"] == "consultation_opinion" and written.actor_user_id == net.county_doctor.id
    timeline = (await db.scalars(select(RecordEntry).where(RecordEntry.patient_id == net.patient.id,
                                                           RecordEntry.kind == "document"))).all()
    assert [e.display for e in timeline] == [f"会诊意见 / Consultation opinion #{case.id}"]


async def test_a_missing_report_font_is_a_clear_configuration_error(world, db, net, monkeypatch):
    from pathlib import Path

    from carebridge.config import get_settings
    from carebridge.errors import ConfigurationError

    case = await accepted_case(world, db, net)
    monkeypatch.setattr(get_settings(), "opinion_cjk_font", Path("/nonexistent/cjk.ttc"))
    with pytest.raises(ConfigurationError) as missing:
        await sign_opinion(db, await world.principal(net.county_doctor), case.id)
    assert "CAREBRIDGE_OPINION_CJK_FONT" in missing.value.message and missing.value.code == "report_font_missing"
