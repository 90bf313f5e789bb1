"""JSON routes for payments under /api/v1/payments. The provider notify route is unauthenticated
by design: its body is trusted only after the provider's signature checks out."""

from __future__ import annotations

from fastapi import Request

from carebridge.payments import admin, service
from carebridge.payments.models import Charge
from carebridge.payments.pricing import PriceLine
from carebridge.payments.schemas import (
    ChargeList,
    ChargeOut,
    CheckoutOut,
    CoverageIn,
    CoverageOut,
    LineOut,
    QuoteIn,
    QuoteOut,
    ReconciliationOut,
    RefundIn,
    RefundOut,
    RuleIn,
    RuleOut,
)
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1/payments", tags=["payments"])


async def _out(db: Db, charge: Charge) -> ChargeOut:
    lines = [LineOut.model_validate(line, from_attributes=True) for line in await service.charge_lines(db, charge)]
    refunds = [RefundOut.model_validate(r) for r in await service.refunds_of(db, charge)]
    return ChargeOut.model_validate(charge).model_copy(update={"lines": lines, "refunds": refunds})


@router.post("/quote", response_model=QuoteOut)
async def quote(body: QuoteIn, db: Db, principal: CurrentPrincipal) -> QuoteOut:
    """What a list of items costs at a facility: discount rules, insurance share and self-pay.
    With a patient id (yours or a family member's you act for) their declared scheme is used."""
    if body.patient_id is not None:
        await admin.coverage_of(db, principal, body.patient_id)  # authorises and audits
    priced = await service.quote(db, facility_id=body.facility_id, patient_id=body.patient_id,
                                 lines=[PriceLine(**line.model_dump()) for line in body.lines])
    return QuoteOut(scheme=priced.scheme, rules=priced.rules, total_fen=priced.total_fen,
                    discount_fen=priced.discount_fen, insurance_fen=priced.insurance_fen,
                    self_pay_fen=priced.self_pay_fen,
                    lines=[LineOut(**vars(q.line), list_fen=q.list_fen, discount_fen=q.discount_fen,
                                   insurance_fen=q.insurance_fen, self_pay_fen=q.self_pay_fen) for q in priced.lines])


@router.get("/charges", response_model=ChargeList)
async def list_charges(patient_id: int, db: Db, principal: CurrentPrincipal) -> ChargeList:
    """A patient's charges, newest first."""
    return ChargeList(items=[await _out(db, c) for c in await service.patient_charges(db, principal, patient_id)])


@router.get("/charges/{charge_id}", response_model=ChargeOut)
async def get_charge(charge_id: int, db: Db, principal: CurrentPrincipal) -> ChargeOut:
    return await _out(db, await service.view_charge(db, principal, charge_id))


@router.post("/charges/{charge_id}/pay", response_model=CheckoutOut)
async def pay(charge_id: int, db: Db, principal: CurrentPrincipal) -> CheckoutOut:
    """Start paying: open `redirect_url` (the provider's checkout) to confirm."""
    checkout = await service.start_payment(db, principal, charge_id)
    return CheckoutOut(reference=checkout.reference, redirect_url=checkout.redirect_url)


@router.post("/providers/{provider}/notify")
async def provider_notice(provider: str, request: Request, db: Db) -> dict[str, str]:
    """The provider's signed payment notice. Repeating it changes nothing."""
    payment = await service.receive_notice(db, provider, request.headers, await request.body())
    return {"result": "ok", "payment_status": payment.status}


@router.post("/charges/{charge_id}/refund", response_model=ChargeOut)
async def refund(charge_id: int, body: RefundIn, db: Db, principal: CurrentPrincipal) -> ChargeOut:
    """Facility administrators: refund all (no amount) or part of the self-pay."""
    charge = await admin.refund_by_staff(db, principal, charge_id, reason=body.reason, amount_fen=body.amount_fen)
    return await _out(db, charge)


@router.get("/pricing-rules", response_model=list[RuleOut])
async def list_rules(db: Db, principal: CurrentPrincipal) -> list[RuleOut]:
    return [RuleOut.model_validate(rule) for rule in await admin.pricing_rules(db)]


@router.put("/pricing-rules/{rule_id}", response_model=RuleOut)
async def put_rule(rule_id: int, body: RuleIn, db: Db, principal: CurrentPrincipal) -> RuleOut:
    rule = await admin.update_rule(db, principal, rule_id, percent_off=body.percent_off, active=body.active)
    return RuleOut.model_validate(rule)


@router.put("/coverage/{patient_id}", response_model=CoverageOut)
async def put_coverage(patient_id: int, body: CoverageIn, db: Db, principal: CurrentPrincipal) -> CoverageOut:
    coverage = await admin.declare_coverage(db, principal, patient_id, scheme=body.scheme,
                                            member_number=body.member_number)
    return CoverageOut(patient_id=coverage.patient_id, scheme=coverage.scheme, member_number=coverage.member_number)


@router.get("/reconciliation", response_model=ReconciliationOut)
async def reconciliation(db: Db, principal: CurrentPrincipal) -> ReconciliationOut:
    """Platform administrators: the ledger sums to zero, every posting balances, and the provider's
    book and every charge agree with it; anything else is listed in `problems`."""
    result = await admin.reconciliation(db, principal)
    return ReconciliationOut(ok=result.ok, ledger_total_fen=result.ledger_total_fen,
                             unbalanced_txns=result.unbalanced_txns, balances=result.balances,
                             problems=result.problems)
