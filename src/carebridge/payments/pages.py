"""Payment pages: a patient's charges, paying, the receipt, insurance coverage; the demo provider's
checkout; pricing rules and the books for administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.access.service import ACT
from carebridge.errors import InvalidInput, NotFound
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Facility
from carebridge.payments import admin, labels, service
from carebridge.payments.models import Payment, ProviderTransaction
from carebridge.payments.price_list import price_list
from carebridge.payments.pricing import SCHEMES
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, provider_named, sign_demo_notice
from carebridge.web.deps import CurrentPrincipal, Db, MaybePrincipal
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
LABELS = {"status": labels.STATUS, "purpose": labels.PURPOSE, "scheme": labels.SCHEME, "rule": labels.RULE,
          "page": labels.PURPOSE_PAGE, "back": labels.BACK_LABEL}


def _acting_for(principal, patient_id: int | None) -> int:  # noqa: ANN001
    chosen = patient_id or principal.patient_id
    if chosen is None:
        raise NotFound(N_("patient not found"))
    return chosen


@router.get("/payments")
async def my_payments(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int | None = None) -> Response:
    chosen = _acting_for(principal, patient_id)
    charges = await service.patient_charges(db, principal, chosen)
    return render(request, "payments/list.html", {"charges": charges, "labels": LABELS, "patient_id": chosen,
                                                  "coverage": await admin.coverage_of(db, principal, chosen)})


@router.get("/payments/charges/{charge_id}")
async def charge_page(request: Request, db: Db, principal: CurrentPrincipal, charge_id: int) -> Response:
    charge = await service.view_charge(db, principal, charge_id)
    facility = await db.get(Facility, charge.facility_id)
    return render(request, "payments/charge.html", {
        "c": charge, "lines": await service.charge_lines(db, charge), "refunds": await service.refunds_of(db, charge),
        "facility": facility, "labels": LABELS,
        "may_refund": principal.is_platform_admin or principal.has_role("facility_admin", charge.facility_id)})


@router.post("/payments/charges/{charge_id}/pay")
async def pay(db: Db, principal: CurrentPrincipal, charge_id: int) -> Response:
    checkout = await service.start_payment(db, principal, charge_id)
    return RedirectResponse(checkout.redirect_url, status_code=303)


@router.post("/payments/charges/{charge_id}/refund")
async def refund(request: Request, db: Db, principal: CurrentPrincipal, charge_id: int,
                 reason: Annotated[str, Form(max_length=300)],
                 amount_yuan: Annotated[str, Form(max_length=12)] = "") -> Response:
    amount = _fen(amount_yuan) if amount_yuan.strip() else None
    await admin.refund_by_staff(db, principal, charge_id, reason=reason, amount_fen=amount)
    return RedirectResponse(f"/payments/charges/{charge_id}", status_code=303)


def _fen(text: str) -> int:
    try:
        whole, _dot, cents = text.strip().partition(".")
        if len(cents) > 2 or not whole.isdigit() or (cents and not cents.isdigit()):
            raise ValueError
        return int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    except ValueError:
        raise InvalidInput(N_("write the amount in yuan, e.g. 12.50"), details={"field": "amount"}) from None


@router.get("/payments/charges/{charge_id}/receipt")
async def receipt(request: Request, db: Db, principal: CurrentPrincipal, charge_id: int) -> Response:
    charge = await service.view_charge(db, principal, charge_id, action="receipt_read")
    if charge.status == "pending" or charge.status == "cancelled":
        raise NotFound(N_("there is no receipt for an unpaid charge"))
    return render(request, "payments/receipt.html", {
        "c": charge, "lines": await service.charge_lines(db, charge), "refunds": await service.refunds_of(db, charge),
        "facility": await db.get(Facility, charge.facility_id), "labels": LABELS})


@router.get("/payments/demo-provider/{reference}")
async def demo_checkout(request: Request, db: Db, principal: CurrentPrincipal, reference: str) -> Response:
    booked = await _demo_transaction(db, reference, principal)
    return render(request, "payments/demo_checkout.html", {"t": booked})


@router.post("/payments/demo-provider/{reference}")
async def demo_confirm(db: Db, principal: CurrentPrincipal, reference: str) -> Response:
    """The payer confirms on the provider's page; the provider then sends its signed notice."""
    await _demo_transaction(db, reference, principal)
    body = await PROVIDERS["demo"].settle(db, reference)
    payment = await service.receive_notice(db, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)
    return RedirectResponse(f"/payments/charges/{payment.charge_id}", status_code=303)


async def _demo_transaction(db: Db, reference: str, principal=None) -> ProviderTransaction:  # noqa: ANN001
    """The demo provider's page, only where the demo provider may take payments, and only for someone
    who may pay this charge (the patient, or family allowed to act for them)."""
    provider_named("demo")
    booked = await db.scalar(select(ProviderTransaction).where(ProviderTransaction.provider == "demo",
                                                               ProviderTransaction.reference == reference,
                                                               ProviderTransaction.kind == "charge"))
    charge_id = await db.scalar(select(Payment.charge_id).where(Payment.provider_ref == reference))
    if booked is None or charge_id is None:
        raise NotFound(N_("payment not found"))
    if principal is not None:
        await service.view_charge(db, principal, charge_id, action="charge_pay", mode=ACT)
    return booked


@router.get("/payments/coverage")
async def coverage_page(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int | None = None,
                        saved: bool = False) -> Response:
    chosen = _acting_for(principal, patient_id)
    coverage = await admin.coverage_of(db, principal, chosen)
    return render(request, "payments/coverage.html", {"coverage": coverage, "patient_id": chosen,
                                                      "schemes": SCHEMES, "labels": LABELS, "saved": saved})


@router.post("/payments/coverage")
async def save_coverage(request: Request, db: Db, principal: CurrentPrincipal, patient_id: Annotated[int, Form()],
                        scheme: Annotated[str, Form(max_length=20)],
                        member_number: Annotated[str, Form(max_length=40)] = "") -> Response:
    try:
        await admin.declare_coverage(db, principal, patient_id, scheme=scheme, member_number=member_number)
    except InvalidInput as problem:
        await db.rollback()
        return render(request, "payments/coverage.html", {
            "coverage": None, "patient_id": patient_id, "schemes": SCHEMES, "labels": LABELS,
            "error": _(problem.message), "form": {"scheme": scheme, "member_number": member_number}},
            status_code=422)
    return RedirectResponse(f"/payments/coverage?patient_id={patient_id}&saved=1", status_code=303)


@router.get("/payments/admin")
async def admin_page(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    books = await admin.reconciliation(db, principal)
    return render(request, "payments/admin.html", {"books": books, "rules": await admin.pricing_rules(db),
                                                   "labels": LABELS})


@router.post("/payments/admin/rules/{rule_id}")
async def save_rule(db: Db, principal: CurrentPrincipal, rule_id: int,
                    percent_off: Annotated[int, Form(ge=0, le=50)],
                    active: Annotated[bool, Form()] = False) -> Response:
    await admin.update_rule(db, principal, rule_id, percent_off=percent_off, active=active)
    return RedirectResponse("/payments/admin", status_code=303)


@router.get("/payments/prices")
async def prices_page(request: Request, db: Db, principal: MaybePrincipal, facility_id: int | None = None) -> Response:
    """Public: prices are published so patients can compare before they book."""
    facilities = (await db.scalars(select(Facility).where(Facility.active).order_by(Facility.tier, Facility.name)
                                   .limit(500))).all()
    chosen = next((f for f in facilities if f.id == facility_id), facilities[0] if facilities else None)
    entries, rule = await price_list(db, chosen) if chosen else ([], "")
    return render(request, "payments/prices.html", {"facilities": facilities, "chosen": chosen, "entries": entries,
                                                    "rule": rule, "labels": LABELS})
