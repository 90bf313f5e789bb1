"""Pages about one patient, for the patient or a permitted family member: the record, the reports,
the orders and who viewed the record. The patient is the one in the URL (`?patient_id=`), else the
one chosen in the switcher, else the signed-in patient; it is opened through `access_patient`, so
any other id is a 404."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from carebridge.access.service import PatientAccess
from carebridge.auth.principal import Principal
from carebridge.portal.accounts import acting, my_orders, my_record, my_reports
from carebridge.portal.accounts.access_log import access_log
from carebridge.portal.accounts.pages import HOME, portal_render, to_sign_in
from carebridge.records.page_parts import entry_label
from carebridge.web.deps import Db, MaybePrincipal
from carebridge.web.routing import router as make_router
from carebridge.web.templating import is_htmx

router = make_router(include_in_schema=False)


async def target_patient(db: Db, request: Request, principal: Principal) -> int | None:
    requested = acting.requested_patient_id(request)
    if requested is not None:
        return requested
    choice, _choices = await acting.current_choice(db, request, principal)
    return choice.patient_id if choice else None


def about(access: PatientAccess, principal: Principal) -> dict:
    """What every per-patient page shows about whom it is for."""
    return {"acting_patient": access.patient, "acting_patient_is_self": access.basis == "self",
            "pid": access.patient.id,
            "read_only": access.basis == "proxy" and not access.may_act}


async def _page_patient(db: Db, request: Request, principal: MaybePrincipal) -> int | Response:
    if principal is None:
        return to_sign_in(request)
    patient_id = await target_patient(db, request, principal)
    if patient_id is None:  # not linked yet and acting for nobody: home says why
        return RedirectResponse(HOME, status_code=303)
    return patient_id


@router.get("/portal/records")
async def records_page(request: Request, db: Db, principal: MaybePrincipal) -> Response:
    patient_id = await _page_patient(db, request, principal)
    if isinstance(patient_id, Response):
        return patient_id
    record = await my_record.my_record(db, principal, patient_id)
    return portal_render(request, "portal/records.html", {
        **about(record.access, principal), "record": record, "entry_label": entry_label, "back": HOME})


@router.get("/portal/reports")
async def reports_page(request: Request, db: Db, principal: MaybePrincipal) -> Response:
    patient_id = await _page_patient(db, request, principal)
    if isinstance(patient_id, Response):
        return patient_id
    access, items = await my_reports.open_reports(db, principal, patient_id)
    return portal_render(request, "portal/reports.html", {**about(access, principal), "items": items, "back": HOME})


@router.get("/portal/reports/diagnosis/{order_id}")
async def diagnosis_report_page(request: Request, db: Db, principal: MaybePrincipal, order_id: int) -> Response:
    if principal is None:
        return to_sign_in(request)
    view = await my_reports.diagnosis_report(db, principal, order_id)
    return portal_render(request, "portal/report_diagnosis.html", {
        **about(view.access, principal), "view": view, "finding_label": my_reports.finding_label,
        "finding_value": my_reports.finding_value, "back": f"/portal/reports?patient_id={view.access.patient.id}"})


@router.get("/portal/reports/opinions/{case_id}")
async def opinion_page(request: Request, db: Db, principal: MaybePrincipal, case_id: int) -> Response:
    if principal is None:
        return to_sign_in(request)
    view = await my_reports.consultation_opinion(db, principal, case_id)
    return portal_render(request, "portal/report_opinion.html", {
        **about(view.access, principal), "view": view,
        "back": f"/portal/reports?patient_id={view.access.patient.id}"})


@router.get("/portal/orders")
async def orders_page(request: Request, db: Db, principal: MaybePrincipal) -> Response:
    patient_id = await _page_patient(db, request, principal)
    if isinstance(patient_id, Response):
        return patient_id
    access, items = await my_orders.my_orders(db, principal, patient_id)
    return portal_render(request, "portal/orders.html", {**about(access, principal), "items": items,
                                                         "tab": "orders"})


@router.get("/portal/access-log")
async def access_log_page(request: Request, db: Db, principal: MaybePrincipal, cursor: str | None = None) -> Response:
    patient_id = await _page_patient(db, request, principal)
    if isinstance(patient_id, Response):
        return patient_id
    access, page = await access_log(db, principal, patient_id, cursor=cursor, limit=30)
    context = {**about(access, principal), "page": page, "back": HOME}
    if is_htmx(request):
        return portal_render(request, "portal/_access_log_items.html", context)
    return portal_render(request, "portal/access_log.html", context)
