"""Pages for the opinion: the lead's editor, a member's section, the signed view with addenda,
and the steps after it (acknowledge, outcome, referral). They call the same services as the API.
A refused form is shown again with what was typed and the message; nothing typed is lost."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.auth.principal import Principal
from carebridge.consultations import opinion, opinion_followup, opinion_referral, service
from carebridge.consultations.lifecycle import Actor
from carebridge.consultations.opinion_content import Diagnosis, Draft, ReferralAdvice, parse_diagnosis_lines
from carebridge.errors import CareBridgeError, Conflict, InvalidInput
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.catalog import department_names
from carebridge.network.models import Facility
from carebridge.records import codes
from carebridge.records.views import user_names
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
LongText = Annotated[str, Form(max_length=20000)]
Note = Annotated[str, Form(max_length=2000)]
ADVICE = {ReferralAdvice.none: N_("No referral"), ReferralAdvice.refer_up: N_("Refer up to a higher level"),
          ReferralAdvice.refer_down: N_("Refer down to a lower level"),
          ReferralAdvice.keep_local: N_("Keep and treat locally")}
# Case timeline lines written by the opinion's steps (the case page labels them with these).
EVENT_LABELS = {"opinion_addendum": N_("Addendum to the opinion"), "outcome": N_("Outcome recorded"),
                "start_referral": N_("Referral started")}
REASONS = {"capability_gap": N_("Beyond what we can treat here"), "equipment": N_("Equipment needed"),
           "specialist_needed": N_("Specialist needed"), "patient_preference": N_("Patient's wish"),
           "emergency": N_("Emergency"), "rehabilitation": N_("Rehabilitation"), "follow_up": N_("Follow-up")}


async def _lower_facilities(db: Db, facility_id: int) -> list[Facility]:
    here = await db.get(Facility, facility_id)
    rows = (await db.scalars(select(Facility).where(Facility.active).order_by(Facility.tier, Facility.name))).all()
    return [f for f in rows if f.level < here.level]


async def opinion_context(db: Db, view: opinion.OpinionView) -> dict:
    """Everything the opinion partials need besides the view: names, labels, what the caller may do next."""
    o = view.opinion
    ids = {view.case.requesting_doctor_id}
    if o is not None:
        ids |= {o.signed_by_id} | {s.author_id for s in view.sections} | {a.author_id for a in view.addenda}
    requester = Actor.requester in view.parts
    advised = o is not None and o.signed_at is not None and o.referral_advice in opinion_referral.DEFAULT_REASON
    can_refer = requester and advised and o.referral_id is None
    return {
        "op": view, "o": o, "names": await user_names(db, ids), "departments": await department_names(db),
        "advice_labels": ADVICE, "reasons": REASONS,
        "can_acknowledge": requester and view.case.state == "opinion_signed",
        "can_record_outcome": requester and view.signed and view.case.state in opinion_followup.OUTCOME_STATES,
        "can_close": requester and view.case.state == "acknowledged",
        "can_refer": can_refer,
        "down_targets": (await _lower_facilities(db, view.case.requesting_facility_id)
                         if can_refer and o.referral_advice == ReferralAdvice.refer_down else []),
        "english": i18n.get_locale() == "en",
    }


async def case_context(db: Db, view: service.CaseView) -> dict | None:
    """For the case page's opinion card; None when the caller may not see patient data."""
    if view.patient is None:
        return None
    return await opinion_context(db, await opinion.view_for(db, view.case, view.parts, view.patient))


async def _page(request: Request, db: Db, principal: Principal, case_id: int, *, form: dict | None = None,
                error: str | None = None, status_code: int = 200) -> Response:
    view = await opinion.access_opinion(db, principal, case_id)
    diagnoses = "\n".join(f"{d['code']} {d['display']}" for d in (view.opinion.diagnoses if view.opinion else []))
    return render(request, "consultations/opinion.html", {
        **await opinion_context(db, view), "case": view.case, "form": form, "error": error,
        "diagnoses_text": diagnoses, "common_codes": codes.CONDITIONS}, status_code=status_code)


@router.get("/consultations/{case_id}/opinion")
async def opinion_page(request: Request, db: Db, principal: CurrentPrincipal, case_id: int) -> Response:
    return await _page(request, db, principal, case_id)


def _draft_from_form(form: dict) -> Draft:
    days = form["follow_up_days"].strip()
    if days and not days.isdigit():
        raise InvalidInput(N_("give a follow-up interval between 1 and 365 days"), details={"field": "follow_up_days"})
    diagnoses = tuple(Diagnosis(d["code"], d["display"]) for d in parse_diagnosis_lines(form["diagnoses"]))
    return Draft(form["assessment"], diagnoses, form["recommendations"], form["treatment_plan"],
                 form["referral_advice"], form["referral_note"], int(days) if days else None)


@router.post("/consultations/{case_id}/opinion")
async def opinion_save(request: Request, db: Db, principal: CurrentPrincipal, case_id: int,
                       assessment: LongText = "", diagnoses: Annotated[str, Form(max_length=4000)] = "",
                       recommendations: LongText = "", treatment_plan: LongText = "",
                       referral_advice: Annotated[str, Form(max_length=12)] = "none", referral_note: Note = "",
                       follow_up_days: Annotated[str, Form(max_length=4)] = "",
                       intent: Annotated[str, Form(max_length=10)] = "save") -> Response:
    """Save the draft; with intent=sign, also sign it. A refused signature keeps the saved draft."""
    form = {"assessment": assessment, "diagnoses": diagnoses, "recommendations": recommendations,
            "treatment_plan": treatment_plan, "referral_advice": referral_advice, "referral_note": referral_note,
            "follow_up_days": follow_up_days}
    try:
        async with db.begin_nested():
            await opinion.save_draft(db, principal, case_id, _draft_from_form(form))
    except (InvalidInput, Conflict) as problem:
        return await _page(request, db, principal, case_id, form=form, error=_(problem.message),
                           status_code=problem.status_code)
    if intent == "sign":
        try:
            async with db.begin_nested():
                await opinion.sign(db, principal, case_id, request.app.state.blobs)
        except (InvalidInput, Conflict) as problem:
            return await _page(request, db, principal, case_id, error=_sign_problem(problem),
                               status_code=problem.status_code)
        return RedirectResponse(f"/consultations/{case_id}#opinion", status_code=303)
    return RedirectResponse(f"/consultations/{case_id}/opinion?saved=1", status_code=303)


def _sign_problem(problem: CareBridgeError) -> str:
    missing = (problem.details or {}).get("missing", []) if isinstance(problem.details, dict) else []
    labels = {"assessment": _("Assessment"), "recommendations": _("Recommendations"),
              "referral_note": _("Note on the referral advice")}
    text = _(problem.message)
    if missing:
        text += ": " + ", ".join(labels.get(m, m) for m in missing)
    if isinstance(problem.details, dict) and problem.details.get("members_without_section"):
        text += " · " + _("some team members have not written their section yet")
    return text


async def _retry(request: Request, db: Db, principal: Principal, case_id: int, form: dict, action) -> Response:  # noqa: ANN001
    """Run one write; on a refusal show the opinion page again with the typed text and the message."""
    try:
        async with db.begin_nested():
            await action()
    except (InvalidInput, Conflict) as problem:
        return await _page(request, db, principal, case_id, form=form, error=_(problem.message),
                           status_code=problem.status_code)
    return RedirectResponse(f"/consultations/{case_id}/opinion", status_code=303)


@router.post("/consultations/{case_id}/opinion/section")
async def section_save(request: Request, db: Db, principal: CurrentPrincipal, case_id: int,
                       text: LongText = "") -> Response:
    return await _retry(request, db, principal, case_id, {"section": text},
                        lambda: opinion.save_section(db, principal, case_id, text))


@router.post("/consultations/{case_id}/opinion/addenda")
async def addendum_add(request: Request, db: Db, principal: CurrentPrincipal, case_id: int,
                       text: Note = "") -> Response:
    return await _retry(request, db, principal, case_id, {"addendum": text},
                        lambda: opinion.add_addendum(db, principal, case_id, text))


@router.post("/consultations/{case_id}/outcome")
async def outcome_record(request: Request, db: Db, principal: CurrentPrincipal, case_id: int, outcome: Note = "",
                         close: Annotated[str, Form(max_length=5)] = "") -> Response:
    response = await _retry(request, db, principal, case_id, {"outcome": outcome},
                            lambda: opinion_followup.record_outcome(db, principal, case_id, outcome, close=bool(close)))
    if response.status_code == 303:
        return RedirectResponse(f"/consultations/{case_id}#opinion", status_code=303)
    return response


@router.post("/consultations/{case_id}/referral")
async def referral_start(request: Request, db: Db, principal: CurrentPrincipal, case_id: int,
                         to_facility_id: Annotated[int | None, Form()] = None,
                         reason: Annotated[str, Form(max_length=30)] = "") -> Response:
    try:
        async with db.begin_nested():
            referral = await opinion_referral.start_referral(db, principal, case_id, opinion_referral.ReferralChoice(
                to_facility_id=to_facility_id, reason=reason or None))
    except (InvalidInput, Conflict) as problem:
        return await _page(request, db, principal, case_id, error=_(problem.message), status_code=problem.status_code)
    return RedirectResponse(f"/referrals/{referral.id}", status_code=303)

