"""JSON routes of patient accounts under /api/v1/portal: phone sign-in, the account, family
permissions, and the patient's record, reports, orders and access log for a patient id the
caller may act for (anything else is a 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from carebridge.auth import throttle
from carebridge.auth.http import address_throttled, set_session_cookie, too_many_json
from carebridge.errors import InvalidInput, TooManyAttempts
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.kit.pagination import MAX_PAGE_SIZE
from carebridge.portal.accounts import family, linking, my_orders, my_record, my_reports, phone_codes, service
from carebridge.portal.accounts.access_log import access_log
from carebridge.portal.accounts.models import LinkStatus
from carebridge.portal.accounts.schemas import (
    AccessLogOut,
    ActingForOut,
    CaregiverIn,
    ClaimOut,
    CodeRequestIn,
    CodeSentOut,
    CodeVerifyIn,
    DecisionIn,
    DiagnosisReportOut,
    MeOut,
    OpinionOut,
    OrderItemOut,
    PaperPermissionIn,
    PermissionOut,
    ProfileIn,
    RecordOut,
    ReportItemOut,
    RevokeIn,
    SignedInOut,
)
from carebridge.portal.accounts.senders import sender_for
from carebridge.records.identifiers import mask_phone
from carebridge.web.deps import CurrentPrincipal, Db, client_ip
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1/portal", tags=["portal accounts"])


def code_sender(request: Request):  # noqa: ANN201 - a CodeSender
    sender = sender_for(request.app)
    if sender is None:
        raise InvalidInput(N_("sign-in by text message is not available here; sign in with your password"),
                           code="codes_unavailable")
    return sender


@router.post("/codes", response_model=CodeSentOut, status_code=202)
async def request_code(body: CodeRequestIn, request: Request, db: Db) -> CodeSentOut | JSONResponse:
    """Send a six-digit sign-in code to the phone (it signs up on first use). Throttled per phone
    and per address: 429 with Retry-After."""
    try:
        sent = await phone_codes.request_code(db, body.phone, ip=client_ip(request), sender=code_sender(request))
    except TooManyAttempts as exc:
        return too_many_json(exc)
    return CodeSentOut(phone_masked=mask_phone(sent.phone), expires_at=sent.expires_at,
                       resend_after_seconds=sent.resend_after)


def _bad_code(result: phone_codes.CheckResult) -> JSONResponse:
    expired = result.outcome == phone_codes.CodeCheck.expired
    message = (N_("the code has expired or was used up; ask for a new one") if expired
               else N_("the code is not right"))
    return JSONResponse({"code": "code_expired" if expired else "bad_code", "message": _(message),
                         "details": {"attempts_left": result.attempts_left}}, status_code=401)


@router.post("/sessions", response_model=SignedInOut)
async def verify_code(body: CodeVerifyIn, request: Request, response: Response, db: Db) -> SignedInOut | JSONResponse:
    """Check the code; on success a cookie session (want=session) or a bearer token (want=token).
    A wrong code is a 401 that still counts the attempt."""
    ip, window = client_ip(request), throttle.for_request(request)
    if wait := window.retry_after(ip):
        return too_many_json(address_throttled(wait))
    result = await phone_codes.check_code(db, body.phone, body.code, ip=ip)
    if result.outcome != phone_codes.CodeCheck.ok:
        window.record_failure(ip)
        return _bad_code(result)
    signed = await service.sign_in_with_phone(db, phone_codes.check_sign_in_phone(body.phone), ip=ip,
                                              program=body.want == "token")
    out = SignedInOut(user_id=signed.user.id, signed_up=signed.created, link_status=signed.account.link_status,
                      needs_profile=signed.account.link_status in (LinkStatus.profile, LinkStatus.refused),
                      second_factor_required=signed.second_factor_pending)
    if signed.program_token is not None:
        secret, token = signed.program_token
        return out.model_copy(update={"token": secret, "token_expires_at": token.expires_at})
    set_session_cookie(response, signed.token)
    return out.model_copy(update={"csrf_token": signed.web_session.csrf_token})


def _me_out(found: service.Me) -> MeOut:
    account = found.account
    return MeOut(user_id=found.user.id, display_name=found.user.display_name, phone_masked=mask_phone(found.phone),
                 real_name=account.real_name if account else "", sex=account.sex if account else "",
                 birth_date=account.birth_date if account else None,
                 national_id_masked=_mask_id(account.national_id if account else None),
                 link_status=found.link_status, patient_id=found.user.patient_id,
                 acting_for=[ActingForOut(**c.__dict__) for c in found.acting_for])


def _mask_id(value: str | None) -> str:
    return "" if not value else value[:3] + "*" * (len(value) - 7) + value[-4:]


@router.get("/me", response_model=MeOut)
async def get_me(db: Db, principal: CurrentPrincipal) -> MeOut:
    """The account, its link to the health record, and everyone it may act for."""
    return _me_out(await service.me(db, principal))


@router.post("/me/profile", response_model=MeOut)
async def complete_profile(body: ProfileIn, db: Db, principal: CurrentPrincipal) -> MeOut:
    """Real name and national ID (sex and birth date are read from it), then the link to the
    health record: at once, after a staff check, or a new record."""
    await service.complete_profile(db, principal, body.name, body.national_id)
    return _me_out(await service.me(db, principal))


def permission_out(permission) -> PermissionOut:  # noqa: ANN001 - a CaregiverPermission
    return PermissionOut(
        id=permission.id, patient_id=permission.patient_id,
        caregiver_phone_masked=mask_phone(permission.caregiver_phone),
        caregiver_user_id=permission.caregiver_user_id, caregiver_name=permission.caregiver_name,
        relationship=permission.relationship, scope=permission.scope, basis=permission.basis,
        paper_reference=permission.paper_reference, created_at=permission.created_at,
        revoked_at=permission.revoked_at, revoke_reason=permission.revoke_reason)


@router.get("/family", response_model=list[ActingForOut])
async def acting_for(db: Db, principal: CurrentPrincipal) -> list[ActingForOut]:
    """Whom the caller may act for: themselves (when linked) and family members who permitted it."""
    return [ActingForOut(**c.__dict__) for c in await family.acting_choices(db, principal)]


@router.get("/patients/{patient_id}/caregivers", response_model=list[PermissionOut])
async def list_caregivers(patient_id: int, db: Db, principal: CurrentPrincipal) -> list[PermissionOut]:
    """Who may act for the patient (and who could): for the patient and their facilities' staff."""
    _access, rows = await family.caregivers_of(db, principal, patient_id)
    return [permission_out(p) for p in rows]


@router.post("/patients/{patient_id}/caregivers", response_model=PermissionOut, status_code=201)
async def grant_caregiver(patient_id: int, body: CaregiverIn, db: Db, principal: CurrentPrincipal) -> PermissionOut:
    """The patient lets a family member (by phone) act for them: every portal action, or read only."""
    return permission_out(await family.grant_by_patient(db, principal, patient_id,
                                                        family.CaregiverInput(**body.model_dump())))


@router.post("/patients/{patient_id}/paper-permissions", response_model=PermissionOut, status_code=201)
async def record_paper_permission(patient_id: int, body: PaperPermissionIn, db: Db,
                                  principal: CurrentPrincipal) -> PermissionOut:
    """Clinical staff where the patient is registered record the patient's signed paper permission."""
    data = body.model_dump()
    reference = data.pop("reference")
    return permission_out(await family.record_paper_permission(db, principal, patient_id,
                                                               family.CaregiverInput(**data), reference))


@router.post("/caregivers/{permission_id}/revoke", response_model=PermissionOut)
async def revoke_caregiver(permission_id: int, db: Db, principal: CurrentPrincipal,
                           body: RevokeIn | None = None) -> PermissionOut:
    """Withdraw a permission (the patient, their facility's staff, or the caregiver stepping back).
    It holds from the caregiver's next request."""
    return permission_out(await family.revoke(db, principal, permission_id, body.reason if body else ""))


@router.get("/patients/{patient_id}/record", response_model=RecordOut)
async def get_record(patient_id: int, db: Db, principal: CurrentPrincipal) -> RecordOut:
    found = await my_record.my_record(db, principal, patient_id)
    return RecordOut(patient=found.patient, access_basis=found.access.basis, conditions=found.conditions,
                     allergies=found.allergies, medications=found.medications, results=found.results,
                     documents=found.documents)


@router.get("/patients/{patient_id}/reports", response_model=list[ReportItemOut])
async def list_reports(patient_id: int, db: Db, principal: CurrentPrincipal) -> list[ReportItemOut]:
    """Signed diagnosis reports and consultation opinions, and those still being written."""
    _access, items = await my_reports.open_reports(db, principal, patient_id)
    return [ReportItemOut(kind=i.kind, id=i.id, title=i.title, facility=i.facility, when=i.when, status=i.status,
                          status_label=i.status_label, url=i.url) for i in items]


@router.get("/reports/diagnosis/{order_id}", response_model=DiagnosisReportOut)
async def get_diagnosis_report(order_id: int, db: Db, principal: CurrentPrincipal) -> DiagnosisReportOut:
    """The final signed report of a remote diagnosis (404 until it is signed final)."""
    view = await my_reports.diagnosis_report(db, principal, order_id)
    body = view.body
    return DiagnosisReportOut(
        order_id=view.order.id, title=view.title, hub=view.hub, signed_at=view.signed_at, signer=view.signer,
        findings=[{"label": my_reports.finding_label(f), "value": my_reports.finding_value(f)}
                  for f in body.get("findings", [])],
        impression=body.get("impression", ""), free_text=body.get("free_text", ""),
        critical=bool(body.get("critical")), verified=view.verified,
        addenda=[{"at": a.created_at, "author": view.names.get(a.author_id, ""), "text": a.text}
                 for a in view.addenda],
        document_url=f"/api/v1/documents/{view.document_id}/content" if view.document_id else None)


@router.get("/reports/opinions/{case_id}", response_model=OpinionOut)
async def get_opinion(case_id: int, db: Db, principal: CurrentPrincipal) -> OpinionOut:
    """The signed opinion of a consultation about the patient (404 until it is signed)."""
    view = await my_reports.consultation_opinion(db, principal, case_id)
    opinion = view.opinion
    return OpinionOut(
        case_id=view.case.id, facility=view.facility, signed_at=opinion.signed_at,
        signer=view.names.get(opinion.signed_by_id or 0, ""), assessment=opinion.assessment,
        diagnoses=opinion.diagnoses or [], recommendations=opinion.recommendations,
        treatment_plan=opinion.treatment_plan, follow_up_days=opinion.follow_up_days,
        sections=[{"author": view.names.get(s.author_id, ""), "text": s.text} for s in view.sections],
        addenda=[{"at": a.created_at, "author": view.names.get(a.author_id, ""), "text": a.text} for a in view.addenda],
        verified=view.verified)


@router.get("/patients/{patient_id}/orders", response_model=list[OrderItemOut])
async def list_orders(patient_id: int, db: Db, principal: CurrentPrincipal) -> list[OrderItemOut]:
    """Everything asked of the internet hospital for this patient, what needs action first."""
    _access, items = await my_orders.my_orders(db, principal, patient_id)
    return [OrderItemOut(**item.__dict__) for item in items]


@router.get("/patients/{patient_id}/access-log", response_model=AccessLogOut)
async def get_access_log(patient_id: int, db: Db, principal: CurrentPrincipal, cursor: str | None = None,
                         limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 30) -> AccessLogOut:
    """Who else viewed or changed the record, in plain words, newest first."""
    _access, page = await access_log(db, principal, patient_id, cursor=cursor, limit=limit)
    return AccessLogOut(items=[item.__dict__ for item in page.items], next_cursor=page.next_cursor)


@router.get("/link-claims", response_model=list[ClaimOut])
async def pending_link_claims(db: Db, principal: CurrentPrincipal) -> list[ClaimOut]:
    """Staff: accounts waiting to be linked to patients registered at your facilities."""
    return [claim_out(row) for row in await linking.pending_claims(db, principal)]


def claim_out(row: linking.ClaimRow) -> ClaimOut:
    account, patient = row.account, row.patient
    return ClaimOut(id=row.claim.id, created_at=row.claim.created_at, reason=row.claim.reason,
                    claimant_name=account.real_name, claimant_national_id=account.national_id or "",
                    claimant_sex=account.sex, claimant_birth_date=account.birth_date, claimant_phone=account.phone,
                    patient_id=patient.id, patient_name=patient.name,
                    patient_national_id_masked=patient.national_id_masked,
                    patient_phone_masked=mask_phone(patient.phone or ""), facility=row.facility_name, mrn=row.mrn)


@router.post("/link-claims/{claim_id}/confirm", status_code=204)
async def confirm_claim(claim_id: int, db: Db, principal: CurrentPrincipal, body: DecisionIn | None = None) -> Response:
    """Staff checked the person: the account is linked to the record."""
    await linking.decide_claim(db, principal, claim_id, confirm=True, note=body.note if body else "")
    return Response(status_code=204)


@router.post("/link-claims/{claim_id}/reject", status_code=204)
async def reject_claim(claim_id: int, db: Db, principal: CurrentPrincipal, body: DecisionIn | None = None) -> Response:
    """Staff: this record is not the person's (409 when already decided)."""
    await linking.decide_claim(db, principal, claim_id, confirm=False, note=body.note if body else "")
    return Response(status_code=204)
