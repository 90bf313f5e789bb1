"""Orders: routing to the hub, the grant it opens, who may see an order, matching arriving studies
(accession, patient ID, reconciliation) and the clock that starts when the study is complete."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from carebridge.access.models import AccessGrant
from carebridge.access.service import access_patient
from carebridge.diagnostics import service, studies
from carebridge.diagnostics.studies import Arrival
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from tests.diagnostics.conftest import place_order


def _arrival(dnet, uid: str, **kw) -> Arrival:  # noqa: ANN001
    return Arrival(study_uid=uid, sending_facility_id=dnet.community.id, hub_facility_id=dnet.hub.id,
                   modality=kw.pop("modality", "CT"), size_bytes=100, **kw)


async def test_an_order_goes_to_the_nearest_higher_hub_and_opens_the_relevant_record(world, db, dnet):
    order = await place_order(world, db, dnet)
    assert order.hub_facility_id == dnet.hub.id and order.state == "awaiting_study"
    assert order.accession_number.startswith("CB") and len(order.accession_number) <= 16
    grant = await db.scalar(select(AccessGrant).where(AccessGrant.source_type == "diagnosis_order",
                                                      AccessGrant.source_id == order.id))
    assert grant.grantee_facility_id == dnet.hub.id and "condition" in grant.scope_kinds
    assert "document" not in grant.scope_kinds  # signed reports: a blinded second reader must not see them
    seen = await access_patient(db, await world.principal(dnet.reader), dnet.patient.id)
    assert seen.basis == "grant"


async def test_bad_orders_are_refused_with_the_field_named(world, db, dnet):
    with pytest.raises(InvalidInput) as bad:
        await place_order(world, db, dnet, modality="XR")
    assert bad.value.details["field"] == "modality"
    with pytest.raises(InvalidInput):
        await place_order(world, db, dnet, modality="CT", frozen_section=True)
    with pytest.raises(InvalidInput):
        await place_order(world, db, dnet, hub_facility_id=dnet.community.id)
    await place_order(world, db, dnet, accession_number="ACC-1")
    with pytest.raises(Conflict):
        await place_order(world, db, dnet, accession_number="ACC-1")


async def test_only_the_two_sides_see_an_order(world, db, dnet):
    order = await place_order(world, db, dnet)
    for user in (dnet.sender, dnet.sender_tech, dnet.reader, dnet.hub_tech):
        await service.read_order(db, await world.principal(user), order.id)
    with pytest.raises(NotFound):
        await service.read_order(db, await world.principal(dnet.outsider), order.id)
    with pytest.raises(Forbidden):
        await service.cancel_order(db, await world.principal(dnet.reader), order.id, "not needed")


async def test_a_study_finds_its_order_by_accession_and_starts_the_clock_when_complete(world, db, dnet):
    order = await place_order(world, db, dnet, urgency="stat")
    first = await studies.receive_item(db, _arrival(dnet, "1.2.3.1", accession_number=order.accession_number))
    await studies.receive_item(db, _arrival(dnet, "1.2.3.1", accession_number=order.accession_number))
    assert first.order_id == order.id and first.item_count == 2
    now = utcnow() + dt.timedelta(minutes=5)
    assert await studies.complete_quiet_studies(db, now) == 1
    assert await studies.complete_quiet_studies(db, now) == 0
    await db.refresh(order)
    assert order.state == "ready" and order.due_at - order.study_complete_at == dt.timedelta(minutes=30)


async def test_a_study_matches_by_patient_id_and_otherwise_waits_for_reconciliation(world, db, dnet):
    order = await place_order(world, db, dnet)
    by_patient = await studies.receive_item(db, _arrival(dnet, "1.2.3.2", sent_patient_key=dnet.mrn))
    assert by_patient.order_id == order.id
    stray = await studies.receive_item(db, _arrival(dnet, "1.2.3.3", sent_patient_key="UNKNOWN"))
    assert stray.order_id is None
    queue = await studies.unmatched_studies(db, await world.principal(dnet.hub_tech), dnet.hub.id)
    assert [s.id for s in queue] == [stray.id]
    with pytest.raises(Forbidden):
        await studies.unmatched_studies(db, await world.principal(dnet.outsider), dnet.hub.id)
    second = await place_order(world, db, dnet, modality="MR")
    await studies.link_study(db, await world.principal(dnet.hub_tech), stray.id, second.id)
    assert stray.patient_id == dnet.patient.id
    with pytest.raises(Conflict):
        await studies.link_study(db, await world.principal(dnet.hub_tech), stray.id, second.id)


async def test_a_study_that_came_before_its_order_joins_it(world, db, dnet):
    early = await studies.receive_item(db, _arrival(dnet, "1.2.3.4", accession_number="EARLY1"))
    await studies.complete_quiet_studies(db, utcnow() + dt.timedelta(minutes=1))
    order = await place_order(world, db, dnet, accession_number="EARLY1")
    assert early.order_id == order.id and order.state == "ready"


async def test_a_single_object_study_is_complete_on_arrival(world, db, dnet):
    order = await place_order(world, db, dnet, modality="ECG", urgency="urgent")
    await studies.receive_item(db, _arrival(dnet, "1.2.3.5", modality="ECG", order_id=order.id, single_object=True))
    await db.refresh(order)
    assert order.state == "ready" and order.due_at - order.study_complete_at == dt.timedelta(hours=2)


async def test_the_api_orders_and_cancels(client, world, db, dnet):
    body = {"patient_id": dnet.patient.id, "modality": "DX", "clinical_question": "Cough for 3 weeks",
            "body_part": "CHEST"}
    made = await client.post("/api/v1/diagnosis/orders", json=body, headers=await world.token(dnet.sender))
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]
    hidden = await client.get(f"/api/v1/diagnosis/orders/{order_id}", headers=await world.token(dnet.outsider))
    assert hidden.status_code == 404
    bad = await client.post("/api/v1/diagnosis/orders", json={**body, "urgency": "soon"},
                            headers=await world.token(dnet.sender))
    assert bad.status_code == 422
    gone = await client.post(f"/api/v1/diagnosis/orders/{order_id}/cancel", json={"reason": "patient left"},
                             headers=await world.token(dnet.sender))
    assert gone.status_code == 200 and gone.json()["state"] == "cancelled"


async def test_one_reader_at_a_time_and_an_expired_claim_is_taken_over(world, db, dnet):
    from carebridge.diagnostics import claims

    order = await place_order(world, db, dnet, modality="ECG")
    await studies.receive_item(db, _arrival(dnet, "1.2.3.6", modality="ECG", order_id=order.id, single_object=True))
    first = await world.principal(dnet.reader)
    await claims.claim(db, first, order.id)
    assert order.read_started_at is not None
    with pytest.raises(Conflict) as taken:
        await claims.claim(db, await world.principal(dnet.reader2), order.id)
    assert taken.value.code == "claimed"
    with pytest.raises(Forbidden):
        await claims.claim(db, await world.principal(dnet.sender), order.id)
    order.claimed_until = utcnow() - dt.timedelta(seconds=1)
    await db.flush()
    await claims.claim(db, await world.principal(dnet.reader2), order.id)
    assert order.claimed_by_id == dnet.reader2.id
    with pytest.raises(Conflict):
        await claims.require_claim(db, first, order)
