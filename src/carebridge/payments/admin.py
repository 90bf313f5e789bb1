"""What administrators do with money: refund by hand, edit pricing rules, declare coverage,
and check the books."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.service import ACT, access_patient
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.payments import ledger
from carebridge.payments.models import Charge, PatientCoverage, PricingRule
from carebridge.payments.pricing import SCHEMES
from carebridge.payments.service import refund_charge

MAX_PERCENT_OFF = 50


def _require_platform_admin(principal: Principal) -> None:
    if not principal.is_platform_admin:
        raise Forbidden(N_("only platform administrators manage prices and the books"))


async def refund_by_staff(session: AsyncSession, principal: Principal, charge_id: int, *, reason: str,
                          amount_fen: int | None) -> Charge:
    charge = await session.get(Charge, charge_id)
    if charge is None or not (principal.is_platform_admin
                              or principal.has_role(Role.facility_admin, charge.facility_id)):
        raise NotFound(N_("charge not found"))
    return await refund_charge(session, principal, charge_id=charge_id, reason=reason, amount_fen=amount_fen)


async def pricing_rules(session: AsyncSession) -> list[PricingRule]:
    return list((await session.scalars(select(PricingRule).order_by(PricingRule.code))).all())


async def update_rule(session: AsyncSession, principal: Principal, rule_id: int, *, percent_off: int,
                      active: bool) -> PricingRule:
    _require_platform_admin(principal)
    if not 0 <= percent_off <= MAX_PERCENT_OFF:
        raise InvalidInput(N_("a discount is between 0 and 50 percent"), details={"field": "percent_off"})
    rule = await session.get(PricingRule, rule_id)
    if rule is None:
        raise NotFound(N_("pricing rule not found"))
    before = {"percent_off": rule.percent_off, "active": rule.active}
    rule.percent_off, rule.active = percent_off, active
    rule.updated_at, rule.updated_by_id = utcnow(), principal.user_id
    await audit.append(session, audit.Entry(
        action="pricing_rule_update", outcome="success", actor=principal.actor(), resource_type="PricingRule",
        resource_id=rule.id, purpose="administration",
        detail={"before": before, "after": {"percent_off": percent_off, "active": active}}))
    return rule


async def reconciliation(session: AsyncSession, principal: Principal) -> ledger.Reconciliation:
    _require_platform_admin(principal)
    return await ledger.reconcile(session)


async def coverage_of(session: AsyncSession, principal: Principal, patient_id: int) -> PatientCoverage | None:
    access = await access_patient(session, principal, patient_id, purpose="payment", action="coverage_read",
                                  resource_type="PatientCoverage")
    return await session.scalar(select(PatientCoverage).where(PatientCoverage.patient_id == access.patient.id))


async def declare_coverage(session: AsyncSession, principal: Principal, patient_id: int, *, scheme: str,
                           member_number: str) -> PatientCoverage:
    """The patient (or family acting for them) says which scheme they are in. Prices quoted after
    this use it; charges already opened keep the split they were opened with."""
    access = await access_patient(session, principal, patient_id, purpose="payment", action="coverage_update",
                                  resource_type="PatientCoverage", mode=ACT)
    if scheme not in SCHEMES:
        raise InvalidInput(N_("choose an insurance scheme from the list"), details={"field": "scheme"})
    member_number = member_number.strip()
    if scheme != "self_pay" and not (4 <= len(member_number) <= 40 and member_number.isalnum()):
        raise InvalidInput(N_("give the insurance card number (4 to 40 letters or digits)"),
                           details={"field": "member_number"})
    coverage = await session.scalar(select(PatientCoverage).where(PatientCoverage.patient_id == access.patient.id))
    if coverage is None:
        coverage = PatientCoverage(patient_id=access.patient.id, scheme=scheme)
        session.add(coverage)
    coverage.scheme, coverage.member_number, coverage.updated_at = scheme, member_number, utcnow()
    return coverage
