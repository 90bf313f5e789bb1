"""Pages for referrals: incoming/outgoing lists, the referral form and one referral with its actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.access.models import Purpose
from carebridge.access.service import WRITE, access_patient
from carebridge.errors import InvalidInput
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Facility
from carebridge.records.models import Patient
from carebridge.referrals import lifecycle, service
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
LABELS = {
    "reason": {"capability_gap": N_("Beyond what we can treat here"), "equipment": N_("Equipment needed"),
               "specialist_needed": N_("Specialist needed"), "patient_preference": N_("Patient's wish"),
               "emergency": N_("Emergency"), "rehabilitation": N_("Rehabilitation"), "follow_up": N_("Follow-up")},
    "state": {"requested": N_("Requested"), "accepted": N_("Accepted"), "arrived": N_("Patient arrived"),
              "completed": N_("Completed"), "declined": N_("Declined"), "cancelled": N_("Cancelled")},
    "action": {"accept": N_("Accept"), "decline": N_("Decline"), "arrive": N_("Patient arrived"),
               "complete": N_("Complete"), "cancel": N_("Cancel referral")},
    "direction": {"up": N_("Up-referral"), "down": N_("Down-referral")},
}
Text = Annotated[str, Form(max_length=2000)]


async def _names(db: Db, ids: set[int]) -> dict[int, str]:
    english = i18n.get_locale() == "en"
    rows = (await db.execute(select(Facility.id, Facility.name, Facility.name_en).where(Facility.id.in_(ids)))).all()
    return {fid: (name_en or name) if english else name for fid, name, name_en in rows}


async def _patient_names(db: Db, ids: set[int]) -> dict[int, str]:
    # Only the name, shown to the staff of the two facilities the referral is between.
    return dict((await db.execute(select(Patient.id, Patient.name).where(Patient.id.in_(ids)))).all())


@router.get("/referrals")
async def referrals_page(request: Request, db: Db, principal: CurrentPrincipal, box: str = "incoming",
                         cursor: str | None = None) -> Response:
    page = await service.list_referrals(db, principal, box=box, cursor=cursor)
    ids = {r.from_facility_id for r in page.items} | {r.to_facility_id for r in page.items}
    return render(request, "referrals/list.html", {
        "page": page, "box": box, "labels": LABELS, "facilities": await _names(db, ids),
        "patients": await _patient_names(db, {r.patient_id for r in page.items})})


async def _form(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int, *,
                form: dict | None = None, error: str | None = None, status_code: int = 200) -> Response:
    access = await access_patient(db, principal, patient_id, purpose=Purpose.referral, action="refer_form",
                                  mode=WRITE)
    facilities = (await db.scalars(select(Facility).where(Facility.active, Facility.id != access.facility_id)
                                   .order_by(Facility.tier, Facility.name))).all()
    return render(request, "referrals/new.html", {
        "patient": access.patient, "facilities": facilities, "labels": LABELS, "form": form or {},
        "error": error, "up_reasons": service.UP_REASONS, "down_reasons": service.DOWN_REASONS,
        "english": i18n.get_locale() == "en"}, status_code=status_code)


@router.get("/referrals/new")
async def new_referral_page(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int) -> Response:
    return await _form(request, db, principal, patient_id)


@router.post("/referrals/new")
async def create_referral(request: Request, db: Db, principal: CurrentPrincipal,
                          patient_id: Annotated[int, Form()], to_facility_id: Annotated[int, Form()],
                          reason: Annotated[str, Form(max_length=30)], summary: Text = "", plan: Text = "",
                          follow_up_days: Annotated[str, Form(max_length=4)] = "") -> Response:
    days = int(follow_up_days) if follow_up_days.strip().isdigit() else None
    data = service.ReferralInput(patient_id=patient_id, to_facility_id=to_facility_id, reason=reason,
                                 summary=summary, plan=plan, follow_up_days=days)
    try:
        referral = await service.refer_patient(db, principal, data)
    except InvalidInput as problem:
        await db.rollback()  # nothing of the refused referral is kept; the form is shown again
        return await _form(request, db, principal, patient_id, form=vars(data), error=_(problem.message),
                           status_code=422)
    return RedirectResponse(f"/referrals/{referral.id}", status_code=303)


@router.get("/referrals/{referral_id}")
async def referral_page(request: Request, db: Db, principal: CurrentPrincipal, referral_id: int) -> Response:
    referral = await service.view_referral(db, principal, referral_id)
    actions = lifecycle.actions_for(referral.state, service.sides_of(principal, referral))
    return render(request, "referrals/detail.html", {
        "r": referral, "actions": [a.value for a in actions], "labels": LABELS,
        "needs_reason": {a.value for a in lifecycle.NEEDS_REASON},
        "facilities": await _names(db, {referral.from_facility_id, referral.to_facility_id}),
        "patient_name": (await _patient_names(db, {referral.patient_id})).get(referral.patient_id, "")})


@router.post("/referrals/{referral_id}/actions/{action}")
async def referral_action(db: Db, principal: CurrentPrincipal, referral_id: int, action: str,
                          reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    await service.act(db, principal, referral_id, action, reason)
    return RedirectResponse(f"/referrals/{referral_id}", status_code=303)
