"""Pages for consultations: my cases, the request form, the case with its timeline and buttons.
They call the same services as the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.access.models import Purpose
from carebridge.access.service import WRITE, access_patient
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.consultations import opinion_pages, service, team
from carebridge.consultations.case_panels import case_panels
from carebridge.consultations.lifecycle import Action, Actor, State
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.network.catalog import department_names
from carebridge.network.models import Department
from carebridge.records.models import RecordEntry
from carebridge.records.page_parts import entry_label
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
SHAREABLE_LIMIT = 200
LABELS = {
    "state": {State.draft: N_("Draft"), State.submitted: N_("Submitted"),
              State.returned: N_("Returned for information"),
              State.triaged: N_("Triaged"), State.accepted: N_("Accepted"), State.scheduled: N_("Scheduled"),
              State.in_session: N_("In session"), State.opinion_signed: N_("Opinion signed"),
              State.acknowledged: N_("Acknowledged"), State.closed: N_("Closed"), State.declined: N_("Declined"),
              State.cancelled: N_("Cancelled"), State.expired: N_("Expired")},
    "action": {Action.submit: N_("Submit"), Action.resubmit: N_("Resubmit"),
               Action.return_for_information: N_("Return for more information"), Action.triage: N_("Triage"),
               Action.reassign: N_("Reassign"), Action.accept: N_("Accept"), Action.decline: N_("Decline"),
               Action.schedule: N_("Schedule"), Action.reschedule: N_("Reschedule"),
               Action.start_session: N_("Start session"), Action.sign_opinion: N_("Sign opinion"),
               Action.acknowledge: N_("Acknowledge"), Action.close: N_("Close"), Action.cancel: N_("Cancel case"),
               Action.expire: N_("Expire"), "request": N_("Requested"),
               "invite_member": N_("Invited to the team"), "remove_member": N_("Left the team"),
               Action.escalate: N_("Escalated"), "overdue": N_("Answer overdue"),
               "propose_slot": N_("Proposed a session time")},
    "urgency": {"emergency": N_("Emergency"), "urgent": N_("Urgent"), "routine": N_("Routine")},
    "mode": {"live": N_("Live video"), "async": N_("Store-and-forward")},
    "part": {"requester": N_("Requester"), "coordinator": N_("Coordinator"), "expert": N_("Expert"),
             "member": N_("Team member"), "system": N_("System")},
}
LABELS["action"].update(opinion_pages.EVENT_LABELS)
Text = Annotated[str, Form(max_length=2000)]


@router.get("/consultations")
async def my_cases(request: Request, db: Db, principal: CurrentPrincipal, cursor: str | None = None) -> Response:
    page = await service.list_cases(db, principal, cursor=cursor, limit=50)
    return render(request, "consultations/list.html", {"page": page, "labels": LABELS})


async def _departments(db: Db) -> list[tuple[str, str]]:
    english = i18n.get_locale() == "en"
    rows = (await db.scalars(select(Department).where(Department.active).order_by(Department.code))).all()
    return [(d.code, d.name_en if english else d.name) for d in rows]


@router.get("/consultations/new")
async def request_form(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int) -> Response:
    access = await access_patient(db, principal, patient_id, purpose=Purpose.consultation,
                                  action="consultation_request", mode=WRITE)
    entries = (await db.scalars(select(RecordEntry).where(
        RecordEntry.patient_id == access.patient.id, RecordEntry.voided_at.is_(None), access.entry_filter())
        .order_by(RecordEntry.occurred_at.desc(), RecordEntry.id.desc()).limit(SHAREABLE_LIMIT))).all()
    return render(request, "consultations/new.html", {
        "patient": access.patient, "entries": entries, "departments": await _departments(db), "labels": LABELS,
        "entry_label": entry_label})


@router.post("/consultations/new")
async def request_submit(db: Db, principal: CurrentPrincipal, patient_id: Annotated[int, Form()],
                         question: Text, clinical_summary: Annotated[str, Form(max_length=20000)] = "",
                         urgency: Annotated[str, Form()] = "routine", mode: Annotated[str, Form()] = "async",
                         specialty: Annotated[str, Form(max_length=40)] = "",
                         shared_entry_ids: Annotated[list[int] | None, Form()] = None,
                         team_specialties: Annotated[list[str] | None, Form()] = None,
                         send: Annotated[str, Form()] = "") -> Response:
    case = await service.request_consultation(db, principal, service.CaseRequest(
        patient_id=patient_id, question=question, clinical_summary=clinical_summary, urgency=urgency, mode=mode,
        specialty=specialty or None, shared_entry_ids=tuple(shared_entry_ids or ()),
        team_specialties=tuple(team_specialties or ())))
    if send:
        await service.take_action(db, principal, case.id, Action.submit.value)
    return RedirectResponse(f"/consultations/{case.id}", status_code=303)


@router.get("/consultations/{case_id}")
async def case_page(request: Request, db: Db, principal: CurrentPrincipal, case_id: int) -> Response:
    view = await service.access_case(db, principal, case_id)
    return render(request, "consultations/case.html", {
        "view": view, "case": view.case, "labels": LABELS, "needs_reason": service.NEEDS_REASON,
        "team": await _team_context(db, view), "entry_label": entry_label,
        "panels": await case_panels(db, principal, view), "opinion": await opinion_pages.case_context(db, view)})


async def _team_context(db: Db, view: service.CaseView) -> dict:
    """Names for the team seats, and for a lead or coordinator the doctors they may invite."""
    case = view.case
    manages = bool({Actor.expert, Actor.coordinator} & view.parts) and case.state in team.TEAM_STATES
    users = {s.member_user_id for s in view.team if s.member_user_id}
    candidates: list[User] = []
    if manages and case.target_facility_id is not None:
        taken = users | {case.requesting_doctor_id, case.assigned_expert_id}
        candidates = [u for u in (await db.scalars(select(User).join(RoleAssignment).where(
            RoleAssignment.facility_id == case.target_facility_id, RoleAssignment.role == Role.doctor.value,
            User.is_active).order_by(User.display_name).limit(200))).all() if u.id not in taken]
    names = {u.id: u.display_name for u in (await db.scalars(select(User).where(User.id.in_(users)))).all()}
    return {"manages": manages, "names": names, "candidates": candidates,
            "departments": await department_names(db)}


@router.post("/consultations/{case_id}/team")
async def team_invite(db: Db, principal: CurrentPrincipal, case_id: int, user_id: Annotated[int, Form()],
                      seat_id: Annotated[int | None, Form()] = None) -> Response:
    await team.invite_member(db, principal, case_id, user_id, seat_id=seat_id)
    return RedirectResponse(f"/consultations/{case_id}", status_code=303)


@router.post("/consultations/{case_id}/team/{seat_id}/free")
async def team_free(db: Db, principal: CurrentPrincipal, case_id: int, seat_id: int, note: Text = "") -> Response:
    await team.free_seat(db, principal, case_id, seat_id, note)
    return RedirectResponse(f"/consultations/{case_id}", status_code=303)


@router.post("/consultations/{case_id}/actions/{action}")
async def case_action(db: Db, principal: CurrentPrincipal, case_id: int, action: str, note: Text = "") -> Response:
    await service.take_plain_action(db, principal, case_id, action, note)
    return RedirectResponse(f"/consultations/{case_id}", status_code=303)
