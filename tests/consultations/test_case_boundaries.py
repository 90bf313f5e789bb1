"""Where a case's work stops: withdrawn consent closes the chat and the opinion as it closes the
record; a session is booked only with a time; an escalated case's team is formed again at the new
hospital; the room shows the latest messages."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from carebridge.access.models import AccessGrant
from carebridge.access.service import record_consent
from carebridge.auth.models import Role
from carebridge.consultations import chat, opinion, service, team
from carebridge.consultations.models import CaseTeamSeat
from carebridge.consultations.timers import sweep
from carebridge.errors import Conflict, InvalidInput, NotFound
from tests.consultations.opinion_helpers import DRAFT
from tests.consultations.room_helpers import case_in_state
from tests.consultations.timing_world import accepted_case, submitted_case


async def test_withdrawn_consent_closes_the_chat_and_the_opinion(world, db, net):
    case = await case_in_state(db, world, net, "in_session")
    expert = await world.principal(net.county_doctor)
    await chat.post_message(db, expert, case.id, "Please send the latest ECG.")
    await opinion.save_draft(db, expert, case.id, DRAFT)
    await record_consent(db, await world.principal(net.requester), net.patient.id, status="revoked",
                         note="the patient withdrew consent")
    with pytest.raises(NotFound):
        await chat.list_messages(db, await world.principal(net.county_doctor), case.id)
    with pytest.raises(NotFound):
        await opinion.save_draft(db, await world.principal(net.county_doctor), case.id, DRAFT)
    # The requesting hospital holds the record: its doctor still reads the conversation.
    assert len(await chat.list_messages(db, await world.principal(net.requester), case.id)) == 1


async def test_the_generic_action_route_does_not_book_a_session_without_a_time(consult_app, client, world, db, net):
    case = await accepted_case(world, net, db)
    refused = await client.post(f"/api/v1/consultations/{case.id}/actions/schedule", json={},
                                headers=await world.token(net.county_doctor))
    assert refused.status_code == 409 and refused.json()["code"] == "use_the_schedule"
    assert (await service.access_case(db, await world.principal(net.county_doctor), case.id)).case.state == "accepted"


async def test_an_escalated_case_frees_its_team_and_the_members_grants(world, db, net):
    case = await submitted_case(world, net, db, urgency="urgent")
    await service.take_action(db, await world.principal(net.county_admin), case.id, "triage")
    await team.invite_member(db, await world.principal(net.county_admin), case.id, net.city_doctor.id)
    assert await sweep(db, case.due_at + dt.timedelta(minutes=1)) == 1
    seats = (await db.scalars(select(CaseTeamSeat).where(CaseTeamSeat.case_id == case.id))).all()
    assert [s.member_user_id for s in seats] == [None]
    grant = await db.scalar(select(AccessGrant).where(AccessGrant.source_type == team.GRANT_SOURCE,
                                                      AccessGrant.source_id == case.id))
    assert grant.revoked_at is not None


async def test_the_room_shows_the_latest_messages_and_catches_up_after_an_id(world, db, net):
    case = await case_in_state(db, world, net, "in_session")
    doctor = await world.principal(net.requester)
    sent = [await chat.post_message(db, doctor, case.id, f"message {n}") for n in range(3)]
    latest = await chat.list_messages(db, doctor, case.id, limit=2)
    assert [m.text for m in latest] == ["message 1", "message 2"]
    after = await chat.list_messages(db, doctor, case.id, after=sent[0].id, limit=1)
    assert [m.text for m in after] == ["message 1"]


async def test_a_team_fits_the_video_room(world, db, net):
    with pytest.raises(InvalidInput) as refused:
        await service.request_consultation(db, await world.principal(net.requester), service.CaseRequest(
            patient_id=net.patient.id, question="MDT?", team_specialties=tuple(f"s{n}" for n in range(5))))
    assert refused.value.details["field"] == "team_specialties"
    case = await accepted_case(world, net, db)
    lead = await world.principal(net.county_doctor)
    doctors = [await world.user((Role.doctor, net.city.id)) for _ in range(5)]
    for doctor in doctors[:4]:  # with the requester and the lead: the six the room carries
        await team.invite_member(db, lead, case.id, doctor.id)
    with pytest.raises(Conflict):
        await team.invite_member(db, lead, case.id, doctors[4].id)


PAGE_POSTS = ["team", "team/1/free", "assign", "schedule/proposals", "schedule/confirm", "opinion", "opinion/section",
              "opinion/addenda", "outcome", "referral", "actions/accept"]


async def test_a_doctor_of_another_hospital_gets_404_from_every_case_form(consult_app, client, world, db, net):
    """Changing the case id in a form's address reveals nothing: every POST of the case pages, and
    the room summary, answer a doctor of an unrelated hospital with 404, and nothing changes."""
    from tests.auth.conftest import login_as

    case = await case_in_state(db, world, net, "in_session")
    csrf = await login_as(client, db, net.outsider)
    for path in PAGE_POSTS:
        sent = await client.post(f"/consultations/{case.id}/{path}", data={
            "csrf_token": csrf, "user_id": net.outsider.id, "note": "a reason", "text": "x", "assessment": "x",
            "outcome": "x", "starts_at": "2030-01-01T00:00:00+00:00"})
        assert sent.status_code == 404, (path, sent.status_code)
    assert (await client.get(f"/consultations/{case.id}/room/summary")).status_code == 404
    assert (await service.access_case(db, await world.principal(net.requester), case.id)).case.state == "in_session"


async def test_another_hospital_cannot_attach_files_or_free_seats_through_the_api(consult_app, client, world, db, net):
    case = await case_in_state(db, world, net, "in_session")
    h = await world.token(net.outsider)
    attach = await client.post(f"/api/v1/consultations/{case.id}/messages/attachments",
                               files={"file": ("x.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}, headers=h)
    assert attach.status_code == 404
    freed = await client.post(f"/api/v1/consultations/{case.id}/team/1/free", json={"note": "a reason"}, headers=h)
    assert freed.status_code == 404
