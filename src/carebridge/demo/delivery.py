"""Medicine delivery in the demo, made through the real services (order, payment through the demo
provider, the pharmacy's steps, the courier's events) for the showcase patient at demo.pharmacist's
hospital:
- a refill of amlodipine delivered three days ago, with the whole timeline;
- a refill of metformin on its way with EMS (send its "delivered" with
  `python -m carebridge.portal.delivery.send_event --courier ems --tracking EMS9861234567 --event delivered`);
- insulin glargine (cold chain) paid, waiting for demo.pharmacist to pack;
- atorvastatin approved and not yet ordered: the patient's notification links to the order page.

Until the pharmacy package's prescriptions are wired in, the demo dispenses its own source, kind
"demo_refill": a medication statement the doctor recorded as *intended* (registered in the server
only in demo mode, see app.py). Times are moved into the past afterwards so the timeline reads as
it would have happened."""

from __future__ import annotations

import datetime as dt
import json
import re

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth import service as auth
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.notifications.service import notify
from carebridge.payments import service as payments
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from carebridge.portal.delivery import courier, dispensing, service
from carebridge.portal.delivery.addresses import AddressInput
from carebridge.portal.delivery.models import DeliveryEvent, DeliveryOrder
from carebridge.portal.delivery.schemas import CourierEventIn
from carebridge.portal.delivery.sources import Dispensable, DispensedLine, register_source
from carebridge.records.models import MedicationStatement, Patient

KIND = "demo_refill"
# ATC code -> (name, strength, unit price in fen, boxes, insured, cold chain)
CATALOGUE = {
    "C08CA01": ("苯磺酸氨氯地平片", "5mg×28片", 2850, 2, True, False),
    "A10BA02": ("盐酸二甲双胍缓释片", "0.5g×30片", 1980, 3, True, False),
    "A10AE04": ("甘精胰岛素注射液", "300单位/3ml 预填充笔", 16800, 1, True, True),
    "C10AA05": ("阿托伐他汀钙片", "20mg×7片", 3520, 4, True, False),
}


async def resolve_refill(session: AsyncSession, statement_id: int) -> Dispensable | None:
    statement = await session.get(MedicationStatement, statement_id)
    if statement is None or statement.voided_at is not None or statement.status != "intended" \
            or statement.code not in CATALOGUE:
        return None
    name, strength, unit_fen, boxes, insured, cold = CATALOGUE[statement.code]
    return Dispensable(patient_id=statement.patient_id, facility_id=statement.facility_id, label=f"续方 {name}",
                       lines=[DispensedLine(statement.code, f"{name} {strength}", unit_fen, boxes, insured)],
                       cold_chain=cold)


async def refill_dispensed(session: AsyncSession, statement_id: int) -> None:
    statement = await session.get(MedicationStatement, statement_id)
    statement.status = "active"


def register_demo_source() -> None:
    register_source(KIND, resolve_refill, refill_dispensed)


async def _principal(session: AsyncSession, username: str):  # noqa: ANN202
    user = await session.scalar(select(User).where(User.username == username))
    return await auth.load_principal(session, user, via="session")


async def _refill(session: AsyncSession, patient_id: int, facility_id: int, doctor_id: int | None, code: str,
                  when: dt.datetime) -> MedicationStatement:
    name, strength = CATALOGUE[code][:2]
    statement = MedicationStatement(patient_id=patient_id, occurred_at=when, facility_id=facility_id,
                                    author_id=doctor_id, code_system="ATC", code=code, display=name,
                                    dose=strength, frequency="遵医嘱", route="oral", status="intended")
    session.add(statement)
    await session.flush()
    return statement


async def _paid(session: AsyncSession, patient, order: DeliveryOrder) -> None:  # noqa: ANN001
    """The patient pays through the demo provider, which then sends its signed notice."""
    reference = (await payments.start_payment(session, patient, order.charge_id)).reference
    body = await PROVIDERS["demo"].settle(session, reference)
    await payments.receive_notice(session, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)


async def _courier(session: AsyncSession, code: str, tracking: str, steps: list[tuple[str, dt.datetime, str]]) -> None:
    for n, (kind, when, location) in enumerate(steps, 1):
        event = CourierEventIn(event_id=f"{tracking}-{n}", tracking_number=tracking, event=kind, time=when,
                               location=location, note="本人签收" if kind == "delivered" else "")
        call = courier.Call(code, {}, json.dumps(event.model_dump(mode="json"), ensure_ascii=False).encode(), "demo")
        await courier.record_event(session, call, event)


async def _backdate(session: AsyncSession, order: DeliveryOrder, times: list[dt.datetime]) -> None:
    """The rows the services wrote just now get the times the demo story says (courier rows keep theirs)."""
    rows = (await session.scalars(select(DeliveryEvent).where(DeliveryEvent.order_id == order.id,
                                                              DeliveryEvent.party != "courier")
                                  .order_by(DeliveryEvent.id))).all()
    for row, when in zip(rows, times, strict=False):
        row.occurred_at = row.recorded_at = when
    await session.flush()
    last = await session.scalar(select(func.max(DeliveryEvent.occurred_at)).where(DeliveryEvent.order_id == order.id))
    await session.execute(update(DeliveryOrder).where(DeliveryOrder.id == order.id).values(
        created_at=times[0], updated_at=last, closed_at=last if order.closed_at else None))


async def write_delivery(session: AsyncSession, patient_id: int) -> None:
    register_demo_source()
    pharmacist = await _principal(session, "demo.pharmacist")
    facility_id = min(pharmacist.facilities_with(Role.pharmacist))
    doctor_id = await session.scalar(select(RoleAssignment.user_id).where(
        RoleAssignment.facility_id == facility_id, RoleAssignment.role == Role.doctor.value).limit(1))
    patient = await _principal(session, "demo.patient")
    person = await session.get(Patient, patient_id)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    day = dt.timedelta(days=1)
    refills = {code: await _refill(session, patient_id, facility_id, doctor_id, code, now - 5 * day)
               for code in CATALOGUE}
    # The patient's own address from the record, split the way the form asks for it.
    parts = re.match(r"(.+?省)(.+?市)(.+?[县区])(.+)", person.address or "")
    province, city, county, street = parts.groups() if parts else ("中原省", "嵩阳市", "青石县", "人民路18号")
    home = AddressInput(person.name, person.phone or "13800138000", f"{province} {city} {county}", street)

    async def order(code: str, method: str = "delivery") -> DeliveryOrder:
        placed = await service.place_order(session, patient, service.OrderRequest(
            source_kind=KIND, source_id=refills[code].id, method=method, address=home))
        await _paid(session, patient, placed)
        return placed

    delivered = await order("C08CA01")
    await dispensing.pack(session, pharmacist, delivered.id)
    await dispensing.ship(session, pharmacist, delivered.id, courier="sf", tracking_number="SF1402026112301")
    start = now - 4 * day
    await _courier(session, "sf", "SF1402026112301", [
        ("picked_up", start + dt.timedelta(hours=5), f"{city}{county}营业点"),
        ("in_transit", start + dt.timedelta(hours=11), f"{city}转运中心"),
        ("in_transit", start + dt.timedelta(hours=26), f"{county}{street[:3]}营业点"),
        ("delivered", start + dt.timedelta(hours=29), f"{county}{street}")])
    await _backdate(session, delivered, [start, start + dt.timedelta(minutes=3), start + dt.timedelta(hours=2),
                                         start + dt.timedelta(hours=4)])

    on_the_way = await order("A10BA02")
    await dispensing.pack(session, pharmacist, on_the_way.id)
    await dispensing.ship(session, pharmacist, on_the_way.id, courier="ems", tracking_number="EMS9861234567")
    start = now - day
    await _courier(session, "ems", "EMS9861234567", [
        ("picked_up", start + dt.timedelta(hours=3), f"{city}邮政分拣中心"),
        ("in_transit", start + dt.timedelta(hours=14), f"{county}投递部")])
    await _backdate(session, on_the_way, [start, start + dt.timedelta(minutes=2), start + dt.timedelta(hours=1),
                                          start + dt.timedelta(hours=2)])

    waiting = await order("A10AE04")
    await _backdate(session, waiting, [now - dt.timedelta(hours=2), now - dt.timedelta(hours=2)])
    await notify(session, [patient.user_id], kind="delivery", title="您的续方已审核通过：阿托伐他汀钙片",
                 body="请选择到药房自取或快递到家。",
                 link=f"/portal/deliveries/new?kind={KIND}&source_id={refills['C10AA05'].id}")
