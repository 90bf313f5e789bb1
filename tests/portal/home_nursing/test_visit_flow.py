"""A home visit from booking to rating through the services, and what each step leaves behind."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.blobs import LocalBlobStore
from carebridge.notifications.models import Notification
from carebridge.portal.home_nursing import assessment, booking, dispatch, feedback, service, visit
from carebridge.portal.home_nursing.models import NursingOffer
from carebridge.records.models import Document, Observation, PatientRegistration, Procedure
from tests.portal.home_nursing import helpers
from tests.portal.home_nursing.scene import FAR_BASE, PATIENT_AT


async def _titles(db, user) -> list[str]:  # noqa: ANN001
    return list((await db.scalars(select(Notification.title).where(Notification.user_id == user.id)
                                  .order_by(Notification.id))).all())


async def test_booking_copies_the_service_and_tells_the_assessors_and_coordinators(scene, db) -> None:  # noqa: ANN001
    order = await helpers.book(scene)
    assert order.state == "requested" and order.price_fen == 12000 and order.required_credential == "wound"
    assert [g["code"] for g in order.eligibility] == ["age"]
    start, end = scene.window()
    assert (order.window_start, order.window_end) == (start, end)
    assert await _titles(db, scene.nurse_a) and await _titles(db, scene.coordinator)
    assert not await _titles(db, scene.nurse_b)  # not an assessor


async def test_booking_registers_the_patient_at_the_facility(scene, db) -> None:  # noqa: ANN001
    stranger = await scene.world.patient(scene.other_facility)
    user = await scene.world.user(("patient", scene.other_facility.id), patient_id=stranger.id)
    stranger.birth_date = scene.patient.birth_date
    await helpers.book(scene, user=user, patient=stranger)
    registered = await db.scalar(select(PatientRegistration.id).where(
        PatientRegistration.patient_id == stranger.id, PatientRegistration.facility_id == scene.facility.id))
    assert registered is not None


async def test_the_same_service_twice_in_one_window_is_refused(scene) -> None:  # noqa: ANN001
    await helpers.book(scene)
    with pytest.raises(Conflict) as refused:
        await helpers.book(scene)
    assert refused.value.code == "already_booked"


async def test_a_window_too_soon_or_too_far_ahead_is_refused(scene) -> None:  # noqa: ANN001
    import datetime as dt

    scene.day = scene.day - dt.timedelta(days=3)
    with pytest.raises(InvalidInput):
        await helpers.book(scene)
    scene.day = scene.day + dt.timedelta(days=60)
    with pytest.raises(InvalidInput):
        await helpers.book(scene)


async def test_assessment_refusal_tells_the_patient_why(scene, db) -> None:  # noqa: ANN001
    order = await helpers.book(scene)
    refusal = assessment.AssessmentInput(fall_risk="high", infection_risk="high", home_environment="unsuitable",
                                         outcome="refuse", reason="家中无人陪护，伤口感染需住院处理")
    order = await assessment.assess(db, await scene.p(scene.nurse_a), order.id, refusal)
    assert order.state == "refused" and order.state_reason == "家中无人陪护，伤口感染需住院处理"
    assert any("refused" in t for t in await _titles(db, scene.patient_user))


async def test_refusing_needs_a_reason_and_only_an_assessor_assesses(scene, db) -> None:  # noqa: ANN001
    order = await helpers.book(scene)
    with pytest.raises(InvalidInput):
        await assessment.assess(db, await scene.p(scene.nurse_a), order.id, assessment.AssessmentInput(
            fall_risk="low", infection_risk="low", home_environment="suitable", outcome="refuse"))
    with pytest.raises(Forbidden):  # the coordinator sees the order but is not an assessor
        await assessment.assess(db, await scene.p(scene.coordinator), order.id, helpers.ACCEPT)


async def test_candidates_ranked_and_explained(scene, db) -> None:  # noqa: ANN001
    order = await helpers.assessed(scene)
    found = await dispatch.candidates(db, order)
    names = [c.nurse.user.id for c in found]
    assert names[:2] == [scene.nurse_a.id, scene.nurse_b.id]  # qualified: the near one first
    a, b, c = found
    assert a.qualified and a.available and a.distance_m < 500
    assert b.qualified and b.distance_m > 9000
    assert not c.qualified and c.problems[0][1]["credential"] == "Wound care nurse"
    assert scene.other_nurse.id not in names  # another facility's nurse is never a candidate


async def test_years_of_practice_and_licence_validity_count(scene, db) -> None:  # noqa: ANN001
    order = await helpers.assessed(scene, "infusion")  # IV credential, at least 2 years
    found = {c.nurse.user.id: c for c in await dispatch.candidates(db, order)}
    assert found[scene.nurse_a.id].qualified
    assert not found[scene.nurse_b.id].qualified  # no IV credential
    profile = found[scene.nurse_a.id].nurse.profile
    profile.license_valid_until = scene.day.replace(year=scene.day.year - 1)
    await db.flush()
    found = {c.nurse.user.id: c for c in await dispatch.candidates(db, order)}
    assert "Licence" in found[scene.nurse_a.id].problems[0][0]


async def test_a_nurse_already_booked_in_the_window_is_not_available(scene, db) -> None:  # noqa: ANN001
    first = await helpers.accepted(scene)
    assert first.nurse_user_id == scene.nurse_a.id
    second = await helpers.assessed(scene, "injection")
    found = {c.nurse.user.id: c for c in await dispatch.candidates(db, second)}
    # The window is 4 hours and the roster covers it: a 30 minute visit plus travel still fits.
    assert found[scene.nurse_a.id].available
    first.duration_minutes = 200
    await db.flush()
    found = {c.nurse.user.id: c for c in await dispatch.candidates(db, second)}
    assert not found[scene.nurse_a.id].available and found[scene.nurse_a.id].busy is not None


async def test_whole_visit_files_into_the_record(scene, db, tmp_path) -> None:  # noqa: ANN001
    order = await helpers.accepted(scene)
    nurse = await scene.p(scene.nurse_a)
    order = await visit.depart(db, nurse, order.id)
    assert order.state == "en_route"
    with pytest.raises(InvalidInput) as far:
        await visit.check_in(db, nurse, order.id, visit.Position(*FAR_BASE))
    assert far.value.code == "too_far" and far.value.details["distance_m"] > 9000
    order = await visit.check_in(db, nurse, order.id, visit.Position(*FAR_BASE), reason="患者在女儿家，地址临时变更")
    assert order.state == "checked_in" and order.checked_in_at is not None
    with pytest.raises(Conflict):  # no record yet
        await visit.check_out(db, nurse, order.id, visit.Position(*PATIENT_AT))
    record = await visit.save_record(db, nurse, order.id, visit.RecordInput(
        procedures=["Wound cleaned", "Dressing applied"], vitals={"systolic": 182, "temperature": 36.8},
        notes="渗液少"))
    assert record.flags == ["systolic_max"]  # the assessment set 170
    photo = await visit.add_photo(db, nurse, order.id, blobs=LocalBlobStore(tmp_path), data=helpers.PNG,
                                  filename="wound.png", content_type="image/png", max_bytes=1_000_000)
    document = await db.get(Document, photo.document_id)
    assert document.patient_id == scene.patient.id and document.media_type == "image/png"
    order = await visit.check_out(db, nurse, order.id, visit.Position(*PATIENT_AT))
    assert order.state == "checked_out"
    observations = (await db.scalars(select(Observation).where(Observation.patient_id == scene.patient.id))).all()
    assert sorted((o.code, o.value_num) for o in observations) == [("8310-5", 36.8), ("8480-6", 182.0)]
    procedure = await db.scalar(select(Procedure).where(Procedure.patient_id == scene.patient.id))
    assert "伤口换药" in procedure.display and "Dressing applied" in procedure.outcome
    events = await service.events_of(db, order.id)
    check_in_event = next(e for e in events if e.action == "check_in")
    assert check_in_event.distance_m > 9000 and check_in_event.note.startswith("患者在女儿家")
    assert [e.action for e in events] == ["book", "assess", "paid", "dispatch", "accept", "depart", "check_in", "photo",
                                          "check_out"]
    coordinator_titles = await _titles(db, scene.coordinator)
    assert any("beyond the limits" in t for t in coordinator_titles)


async def test_rating_completes_the_visit(scene, db) -> None:  # noqa: ANN001
    order = await helpers.checked_out(scene)
    patient = await scene.p(scene.patient_user)
    with pytest.raises(InvalidInput):
        await feedback.rate(db, patient, order.id, 6)
    order = await feedback.rate(db, patient, order.id, 5, "护士很耐心")
    assert order.state == "completed" and order.rating == 5 and order.ended_at is not None
    with pytest.raises(Conflict):
        await feedback.rate(db, patient, order.id, 4)
    assert any("5/5" in t for t in await _titles(db, scene.nurse_a))


async def test_only_the_accepting_nurse_moves_the_visit(scene, db) -> None:  # noqa: ANN001
    order = await helpers.accepted(scene)
    from carebridge.errors import NotFound

    with pytest.raises(NotFound):  # never offered it: the order does not exist for them
        await visit.depart(db, await scene.p(scene.nurse_c), order.id)
    with pytest.raises(Forbidden):  # the coordinator sees it but does not check in
        await visit.check_in(db, await scene.p(scene.coordinator), order.id, visit.Position(*PATIENT_AT))


async def test_cancelling_before_and_after_check_in(scene, db) -> None:  # noqa: ANN001
    order = await helpers.accepted(scene)
    patient = await scene.p(scene.patient_user)
    with pytest.raises(InvalidInput):
        await booking.cancel(db, patient, order.id, "")
    order = await booking.cancel(db, patient, order.id, "女儿请假在家照顾")
    assert order.state == "cancelled"
    assert any("cancelled" in t for t in await _titles(db, scene.nurse_a))
    later = await helpers.checked_in(scene)
    with pytest.raises(Conflict):
        await booking.cancel(db, patient, later.id, "不需要了")


async def test_offers_end_when_one_nurse_accepts(scene, db) -> None:  # noqa: ANN001
    order = await helpers.assessed(scene)
    coordinator = await scene.p(scene.coordinator)
    await dispatch.dispatch(db, coordinator, order.id, [scene.practitioner["a"], scene.practitioner["b"]])
    await dispatch.accept(db, await scene.p(scene.nurse_b), order.id)
    offers = {o.nurse_user_id: o.state for o in (await db.scalars(
        select(NursingOffer).where(NursingOffer.order_id == order.id))).all()}
    assert offers == {scene.nurse_b.id: "accepted", scene.nurse_a.id: "withdrawn"}
    with pytest.raises(Conflict) as late:
        await dispatch.accept(db, await scene.p(scene.nurse_a), order.id)
    assert late.value.code == "taken"


async def test_dispatch_only_to_qualified_nurses(scene, db) -> None:  # noqa: ANN001
    order = await helpers.assessed(scene)
    coordinator = await scene.p(scene.coordinator)
    with pytest.raises(InvalidInput):
        await dispatch.dispatch(db, coordinator, order.id, [scene.practitioner["c"]])
    order = await dispatch.dispatch(db, coordinator, order.id)  # none named: the best one
    offer = await db.scalar(select(NursingOffer).where(NursingOffer.order_id == order.id))
    assert order.state == "dispatched" and offer.nurse_user_id == scene.nurse_a.id


async def test_declining_returns_the_visit_to_the_coordinator(scene, db) -> None:  # noqa: ANN001
    order = await helpers.assessed(scene)
    await dispatch.dispatch(db, await scene.p(scene.coordinator), order.id, [scene.practitioner["a"]])
    order = await dispatch.decline(db, await scene.p(scene.nurse_a), order.id, "下午在培训")
    assert order.state == "assessed"
    assert any("No nurse" in t for t in await _titles(db, scene.coordinator))
    found = {c.nurse.user.id: c for c in await dispatch.candidates(db, order)}
    assert not found[scene.nurse_a.id].can_be_offered  # declined once: not offered again automatically


async def test_with_automatic_dispatch_a_decline_goes_to_the_next_nurse(scene, db, settings, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(settings, "nursing_auto_dispatch", True)
    order = await helpers.assessed(scene)
    assert order.state == "dispatched"  # offered to the best nurse by the system
    order = await dispatch.decline(db, await scene.p(scene.nurse_a), order.id, "车坏了")
    offers = (await db.scalars(select(NursingOffer).where(NursingOffer.order_id == order.id)
                               .order_by(NursingOffer.id))).all()
    assert [(o.nurse_user_id, o.state) for o in offers] == [(scene.nurse_a.id, "declined"), (scene.nurse_b.id, "open")]
    assert order.state == "dispatched"


async def test_unanswered_offers_expire(scene, db) -> None:  # noqa: ANN001
    import datetime as dt

    from carebridge.kit.clock import utcnow

    order = await helpers.assessed(scene)
    await dispatch.dispatch(db, await scene.p(scene.coordinator), order.id, [scene.practitioner["a"]])
    assert await dispatch.expire_offers(db, utcnow()) == 0
    assert await dispatch.expire_offers(db, utcnow() + dt.timedelta(hours=2)) == 1
    await db.refresh(order)
    assert order.state == "assessed"
    assert await dispatch.expire_offers(db, utcnow() + dt.timedelta(hours=2)) == 0  # each offer once


async def test_my_orders_lists_the_visit_and_asks_for_the_rating(scene, db) -> None:  # noqa: ANN001
    from carebridge.portal.home_nursing import mine  # noqa: F401 - registers the source
    from carebridge.portal.mine import my_items

    order = await helpers.checked_out(scene)
    items = [i for i in await my_items(db, scene.patient.id) if i.kind == "nursing"]
    assert [(i.url, i.status, i.needs_action) for i in items] == [(f"/portal/nursing/{order.id}", "checked_out", True)]
    assert items[0].title == "Home nursing: Wound dressing" and items[0].status_label == "Visit finished, please rate"
