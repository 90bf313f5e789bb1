"""What the worklist gets from the pre-read: labels and a priority that puts abnormal tracings first.
Nothing here signs anything: the pre-read has no path to a report."""

from __future__ import annotations

from carebridge.diagnostics.ecg.hints import preread_hints
from carebridge.kit import i18n
from tests.diagnostics.conftest import place_order
from tests.diagnostics.ecg import samples
from tests.diagnostics.ecg.conftest import upload


async def test_an_af_tracing_ranks_before_a_normal_one(client, world, db, dnet):
    sender = await world.token(dnet.sender)
    normal = await place_order(world, db, dnet, modality="ECG", clinical_question="Pre-operative ECG")
    af = await place_order(world, db, dnet, modality="ECG", clinical_question="Palpitations")
    waiting = await place_order(world, db, dnet, modality="ECG", clinical_question="Chest pain")
    assert (await upload(client, sender, normal.id, samples.cinc_parts("A00007"))).status_code == 201
    assert (await upload(client, sender, af.id, samples.cinc_parts("A00015"))).status_code == 201

    token = i18n.enter_locale("en")  # the labels are in the caller's language
    try:
        hints = await preread_hints(db, [normal.id, af.id, waiting.id])
    finally:
        i18n.exit_locale(token)
    assert set(hints) == {normal.id, af.id}
    assert hints[af.id]["priority"] < hints[normal.id]["priority"]
    assert hints[af.id]["abnormal"] and "suspected_af" in hints[af.id]["flags"]
    assert "Suspected AF" in hints[af.id]["labels"] and hints[af.id]["labels"][0].startswith("HR ")
    assert hints[normal.id]["priority_name"] == "normal" and not hints[normal.id]["abnormal"]
    assert "Sinus rhythm" in hints[normal.id]["labels"]
    assert await preread_hints(db, []) == {}


async def test_the_preread_leaves_the_order_for_a_reader_to_report(client, world, db, dnet, ecg_order):
    sender = await world.token(dnet.sender)
    assert (await upload(client, sender, ecg_order.id, samples.cinc_parts("A00015"))).status_code == 201
    order = (await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}", headers=sender)).json()
    assert order["state"] == "ready" and order["signed_at"] is None  # on the worklist, unsigned
    assert any(e["action"] == "ecg_preread" and e["party"] == "system" for e in order["events"])
