"""Steps of a home visit through the services, as the tests need them."""

from __future__ import annotations

import base64

from carebridge.payments import service as payments
from carebridge.payments.providers import PROVIDERS, SIGNATURE_HEADER, sign_demo_notice
from carebridge.portal.home_nursing import assessment, booking, dispatch, visit
from carebridge.portal.home_nursing.models import NursingOrder
from tests.portal.home_nursing.scene import NEAR_BASE, PATIENT_AT, Scene

# A 1x1 PNG: what a phone camera upload looks like to the sniffing code.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
                       "AAAABJRU5ErkJggg==")


async def book(scene: Scene, service: str = "wound_dressing", *, user=None, patient=None,  # noqa: ANN001
               window: str = "afternoon") -> NursingOrder:
    principal = await scene.p(user or scene.patient_user)
    return await booking.book(scene.world.db, principal, booking.BookingInput(
        patient_id=(patient or scene.patient).id, service_id=scene.services[service].id,
        address="长治市潞州区英雄中路88号3单元201", latitude=PATIENT_AT[0], longitude=PATIENT_AT[1],
        day=scene.day, window=window, contact_phone="13800000000", notes="家里有电梯"))


ACCEPT = assessment.AssessmentInput(fall_risk="medium", infection_risk="low", home_environment="suitable",
                                    outcome="accept", allergies="青霉素", limits={"systolic_max": 170})


async def pay(scene: Scene, order: NursingOrder, user=None) -> NursingOrder:  # noqa: ANN001
    """The patient pays the charge through the demo provider, as the payment pages do."""
    db = scene.world.db
    checkout = await payments.start_payment(db, await scene.p(user or scene.patient_user), order.charge_id)
    body = await PROVIDERS["demo"].settle(db, checkout.reference)
    await payments.receive_notice(db, "demo", {SIGNATURE_HEADER: sign_demo_notice(body)}, body)
    await db.refresh(order)
    return order


async def assessed(scene: Scene, service: str = "wound_dressing", *, paid: bool = True) -> NursingOrder:
    order = await book(scene, service)
    order = await assessment.assess(scene.world.db, await scene.p(scene.nurse_a), order.id, ACCEPT)
    return await pay(scene, order) if paid else order


async def accepted(scene: Scene, nurse: str = "a") -> NursingOrder:
    order = await assessed(scene)
    user = getattr(scene, f"nurse_{nurse}")
    await dispatch.dispatch(scene.world.db, await scene.p(scene.coordinator), order.id, [scene.practitioner[nurse]])
    return await dispatch.accept(scene.world.db, await scene.p(user), order.id)


async def checked_in(scene: Scene) -> NursingOrder:
    order = await accepted(scene)
    return await visit.check_in(scene.world.db, await scene.p(scene.nurse_a), order.id,
                                visit.Position(PATIENT_AT[0] + 0.0005, PATIENT_AT[1]))


async def checked_out(scene: Scene) -> NursingOrder:
    order = await checked_in(scene)
    nurse = await scene.p(scene.nurse_a)
    await visit.save_record(scene.world.db, nurse, order.id, visit.RecordInput(
        procedures=["Wound cleaned", "Dressing applied"], vitals={"systolic": 150, "heart_rate": 78}, notes="愈合良好"))
    return await visit.check_out(scene.world.db, nurse, order.id, visit.Position(*NEAR_BASE))
