"""JSON routes for the opinion of a consultation under /api/v1."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from carebridge.auth.principal import Principal
from carebridge.consultations import opinion, opinion_followup, opinion_pdf, opinion_referral
from carebridge.consultations.opinion_content import Diagnosis, Draft
from carebridge.consultations.opinion_schemas import (
    DraftIn,
    OpinionOut,
    OutcomeIn,
    ReferralStartIn,
    TextIn,
    opinion_out,
)
from carebridge.errors import Conflict
from carebridge.kit.i18n import N_
from carebridge.referrals.schemas import ReferralOut
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["consultations"])


def draft_from(body: DraftIn) -> Draft:
    return Draft(body.assessment, tuple(Diagnosis(d.code, d.display) for d in body.diagnoses), body.recommendations,
                 body.treatment_plan, body.referral_advice, body.referral_note, body.follow_up_days)


async def _written(db: Db, principal: Principal, case_id: int) -> OpinionOut:
    return opinion_out(await opinion.access_opinion(db, principal, case_id))


@router.get("/consultations/{case_id}/opinion", response_model=OpinionOut)
async def get_opinion(case_id: int, db: Db, principal: CurrentPrincipal) -> OpinionOut:
    """The draft for the lead and team members; the signed opinion with its verification for every
    clinician reading the case (recomputed from the stored content on each read)."""
    return opinion_out(await opinion.access_opinion(db, principal, case_id))


@router.put("/consultations/{case_id}/opinion", response_model=OpinionOut)
async def save_draft(case_id: int, body: DraftIn, db: Db, principal: CurrentPrincipal) -> OpinionOut:
    """The lead expert saves the draft (409 once signed)."""
    await opinion.save_draft(db, principal, case_id, draft_from(body))
    return await _written(db, principal, case_id)


@router.post("/consultations/{case_id}/opinion/sections", response_model=OpinionOut)
async def save_section(case_id: int, body: TextIn, db: Db, principal: CurrentPrincipal) -> OpinionOut:
    """A team member (or the lead) writes their own section; the specialty comes from their seat."""
    await opinion.save_section(db, principal, case_id, body.text)
    return await _written(db, principal, case_id)


@router.post("/consultations/{case_id}/opinion/sign", response_model=OpinionOut)
async def sign_opinion(case_id: int, request: Request, db: Db, principal: CurrentPrincipal) -> OpinionOut:
    """The lead signs: the content hash is fixed, the case moves to opinion_signed and the report
    joins the patient's record. 409 when incomplete (details say what is missing) or already signed."""
    await opinion.sign(db, principal, case_id, request.app.state.blobs)
    return await _written(db, principal, case_id)


@router.post("/consultations/{case_id}/opinion/addenda", response_model=OpinionOut, status_code=201)
async def add_addendum(case_id: int, body: TextIn, db: Db, principal: CurrentPrincipal) -> OpinionOut:
    """A correction after signing, chained to the signed version by its own hash."""
    await opinion.add_addendum(db, principal, case_id, body.text)
    return await _written(db, principal, case_id)


@router.get("/consultations/{case_id}/opinion.pdf")
async def opinion_report(case_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    """The bilingual report of the signed consultation, with its addenda; audited as an export."""
    view = await opinion.access_opinion(db, principal, case_id, action="export")
    if not view.signed:
        raise Conflict(N_("the report exists once the opinion is signed"), code="not_signed")
    data = await opinion_pdf.render_report(db, view)
    name = f"consultation-{case_id}-opinion.pdf"
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


@router.post("/consultations/{case_id}/outcome", response_model=OpinionOut)
async def record_outcome(case_id: int, body: OutcomeIn, db: Db, principal: CurrentPrincipal) -> OpinionOut:
    """The requesting doctor records how the patient did; `close` also closes the case."""
    await opinion_followup.record_outcome(db, principal, case_id, body.outcome, close=body.close)
    return await _written(db, principal, case_id)


@router.post("/consultations/{case_id}/referral", response_model=ReferralOut, status_code=201)
async def start_referral(case_id: int, body: ReferralStartIn, db: Db, principal: CurrentPrincipal) -> ReferralOut:
    """One step from an opinion advising referral to a referral, prefilled from the opinion."""
    referral = await opinion_referral.start_referral(db, principal, case_id, opinion_referral.ReferralChoice(
        to_facility_id=body.to_facility_id, reason=body.reason))
    return ReferralOut.model_validate(referral)
