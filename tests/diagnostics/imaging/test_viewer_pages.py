"""The viewer page, the order's images and the patient's priors: what each caller gets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from carebridge.audit.models import AuditEvent
from tests.diagnostics.conftest import place_order
from tests.diagnostics.imaging.imaging_world import store_ct


async def _history(world, db, dnet, blobs):  # noqa: ANN001, ANN202
    """The patient's CT of 2025 (read at the hub), a CT read elsewhere in 2025, and today's CT."""
    old = await place_order(world, db, dnet)
    elsewhere = await place_order(world, db, dnet, hub_facility_id=dnet.other_hub.id)
    today = await place_order(world, db, dnet)
    old_study = await store_ct(db, blobs, dnet, order=old, count=2, when=dt.datetime(2025, 5, 1, 10, 0),
                               description="CT HEAD 2025")
    other_study = await store_ct(db, blobs, dnet, order=elsewhere, count=2, when=dt.datetime(2025, 9, 1, 10, 0))
    new_study = await store_ct(db, blobs, dnet, order=today, count=3, when=dt.datetime(2026, 3, 1, 9, 30))
    return old, today, old_study, other_study, new_study


async def test_the_order_images_api_lists_studies_series_and_the_patient(client, world, db, dnet, blobs):
    _old, today, _a, _b, new_study = await _history(world, db, dnet, blobs)
    response = await client.get(f"/api/v1/diagnosis/orders/{today.id}/images", headers=await world.token(dnet.reader))
    assert response.status_code == 200
    body = response.json()
    assert body["patient"]["name"] == dnet.patient.name and body["accession_number"] == today.accession_number
    [study] = body["studies"]
    assert study["study_uid"] == new_study.study_uid and study["study_date"] == "20260301"
    assert [(s["series_uid"], s["instance_count"], s["modality"]) for s in study["series"]] == [
        (new_study.series_uid, 3, "CT")]


async def test_priors_are_the_earlier_studies_of_the_patient_the_caller_may_see(client, world, db, dnet, blobs):
    old, today, old_study, other_study, _new = await _history(world, db, dnet, blobs)

    async def priors(user, order) -> list[str]:  # noqa: ANN001
        response = await client.get(f"/api/v1/diagnosis/orders/{order.id}/priors", headers=await world.token(user))
        assert response.status_code == 200
        return [s["study_uid"] for s in response.json()]

    # The hub's reader sees its own earlier read; the sender sent both, so sees both, newest first.
    assert await priors(dnet.reader, today) == [old_study.study_uid]
    assert await priors(dnet.sender, today) == [other_study.study_uid, old_study.study_uid]
    assert await priors(dnet.reader, old) == []


async def test_who_may_open_the_viewer_and_its_reads(client, world, db, dnet, blobs):
    _old, today, *_ = await _history(world, db, dnet, blobs)
    paths = (f"/api/v1/diagnosis/orders/{today.id}/images", f"/api/v1/diagnosis/orders/{today.id}/priors")
    for path in paths:
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=await world.token(dnet.outsider))).status_code == 404
        for user in (dnet.sender, dnet.reader, dnet.hub_tech):
            assert (await client.get(path, headers=await world.token(user))).status_code == 200
    page = f"/diagnosis/orders/{today.id}/images"
    assert (await client.get(page)).status_code == 303  # to the sign-in page
    assert (await client.get(page, headers=await world.token(dnet.outsider))).status_code == 404
    shown = await client.get(page, headers=await world.token(dnet.reader))
    assert shown.status_code == 200
    html = shown.text
    assert 'data-testid="imaging-viewer"' in html
    assert "/static/imaging-pixels.js" in html and "/static/imaging-viewer.js" in html
    assert f'data-images-url="/api/v1/diagnosis/orders/{today.id}/images"' in html
    assert "Slice {n} / {total}" in html  # the script's strings, placeholders ready to fill
    audited = await db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "diagnosis_images", AuditEvent.actor_user_id == dnet.reader.id))
    assert audited == 2  # the API read and the page



def test_the_partial_needs_only_the_order():
    """The reading page includes the viewer with nothing but `order` in its context."""
    from types import SimpleNamespace

    from carebridge.web.templating import env

    html = env.get_template("imaging/imaging_viewer.html").render(order=SimpleNamespace(id=41))
    assert 'data-order-id="41"' in html and 'data-priors-url="/api/v1/diagnosis/orders/41/priors"' in html
