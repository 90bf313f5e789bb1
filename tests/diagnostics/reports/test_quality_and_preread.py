"""Double reads (the random share, blind reading, grades and per-reader statistics) and the ECG
pre-read adapter (absent, present, and the report naming the values that came from it)."""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy import select

from carebridge.auth.models import Role
from carebridge.diagnostics import ecg_preread, quality, reading_settings, reports
from carebridge.diagnostics.report_models import DoubleRead, ReadingHubSettings
from carebridge.errors import Conflict, InvalidInput, NotFound
from tests.diagnostics.reports.helpers import (
    MemoryBlobs,
    claimed,
    ecg_order_with_preread,
    hub_doctor,
    ready_order,
    write_and_sign,
)


@pytest.fixture
def seeded(monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setattr(quality, "chooser", random.Random(20261123))


async def _hub_percent(db, dnet, percent: int, two_step: bool = False) -> None:  # noqa: ANN001
    db.add(ReadingHubSettings(facility_id=dnet.hub.id, two_step=two_step, double_read_percent=percent))
    await db.flush()


async def test_the_share_double_read_follows_the_hub_setting(world, db, dnet, seeded):
    await _hub_percent(db, dnet, 30)
    first, second = await hub_doctor(world, db, dnet), await hub_doctor(world, db, dnet)
    picked = 0
    for _ in range(20):
        order = await ready_order(world, db, dnet, body_part="HEAD")
        await write_and_sign(world, db, dnet, order, first, MemoryBlobs())
        item = await db.scalar(select(DoubleRead).where(DoubleRead.order_id == order.id))
        if item is not None:
            picked += 1
            assert item.second_reader_id == second.id and item.first_reader_id == first.id
    assert 2 <= picked <= 12  # 30% of 20 with a fixed seed; never all, never none


async def test_the_second_reader_reads_blind_then_grades(world, db, dnet, seeded):
    await _hub_percent(db, dnet, 100)
    first, second = await hub_doctor(world, db, dnet), await hub_doctor(world, db, dnet)
    order = await ready_order(world, db, dnet, body_part="HEAD")
    await write_and_sign(world, db, dnet, order, first, MemoryBlobs())
    item = await db.scalar(select(DoubleRead).where(DoubleRead.order_id == order.id))
    p2 = await world.principal(second)
    blind = await reports.access_report(db, p2, order.id)
    assert blind.blinded and not blind.versions and blind.content == {}
    view = await quality.access_double_read(db, p2, item.id)
    assert view.first is None and view.may_read and not view.may_grade
    with pytest.raises(Conflict):
        await quality.grade(db, p2, item.id, "1")
    with pytest.raises(NotFound):
        await quality.access_double_read(db, await world.principal(dnet.outsider), item.id)
    await quality.submit_reading(db, p2, item.id, "左侧硬膜下血肿。")
    view = await quality.access_double_read(db, p2, item.id)
    assert view.first is not None and "硬膜下血肿" in view.first.content and view.may_grade
    assert not (await reports.access_report(db, p2, order.id)).blinded
    with pytest.raises(InvalidInput):
        await quality.grade(db, p2, item.id, "2b")  # a discrepancy is described
    with pytest.raises(InvalidInput):
        await quality.grade(db, p2, item.id, "4")
    await quality.grade(db, p2, item.id, "2b", "漏报右侧颅骨骨折。")
    view = await quality.access_double_read(db, await world.principal(first), item.id)  # feedback to the first reader
    assert view.item.grade == "2b"


async def test_discrepancies_are_counted_per_reader_for_the_hub_admin(world, db, dnet, seeded):
    await _hub_percent(db, dnet, 100)
    a, b = await hub_doctor(world, db, dnet), await hub_doctor(world, db, dnet)
    grades = [(a, "1"), (a, "3b"), (a, "2a"), (b, "1")]
    for first, score in grades:
        order = await ready_order(world, db, dnet, body_part="HEAD")
        await write_and_sign(world, db, dnet, order, first, MemoryBlobs())
        item = await db.scalar(select(DoubleRead).where(DoubleRead.order_id == order.id))
        p2 = await world.principal(b if first is a else a)
        await quality.submit_reading(db, p2, item.id, "我的印象。")
        await quality.grade(db, p2, item.id, score, "" if score == "1" else "差异说明。")
    admin = await world.user((Role.facility_admin, dnet.hub.id))
    stats = await quality.hub_quality(db, await world.principal(admin), dnet.hub.id)
    by_reader = {s.reader_id: s for s in stats.readers}
    assert by_reader[a.id].graded == 3 and by_reader[a.id].discrepancies == 2 and by_reader[a.id].significant == 1
    assert by_reader[b.id].discrepancies == 0 and stats.readers[0].reader_id == a.id
    assert sorted(d.grade for d in stats.discrepancies) == ["2a", "3b"]
    for outsider in (dnet.reader, dnet.outsider):
        with pytest.raises(NotFound):
            await quality.hub_quality(db, await world.principal(outsider), dnet.hub.id)


async def test_without_another_attending_a_double_read_waits_for_someone_who_has_not_seen_it(world, db, dnet, seeded):
    await _hub_percent(db, dnet, 100)
    first = await hub_doctor(world, db, dnet)
    order = await ready_order(world, db, dnet, body_part="HEAD")
    await write_and_sign(world, db, dnet, order, first, MemoryBlobs())
    item = await db.scalar(select(DoubleRead).where(DoubleRead.order_id == order.id))
    assert item.second_reader_id is None
    looked = await hub_doctor(world, db, dnet)
    await reports.access_report(db, await world.principal(looked), order.id)
    with pytest.raises(Conflict):
        await quality.take(db, await world.principal(looked), item.id)
    fresh = await hub_doctor(world, db, dnet)
    assert [v.item.id for v in await quality.my_queue(db, await world.principal(fresh))] == [item.id]
    await quality.take(db, await world.principal(fresh), item.id)
    assert (await reports.access_report(db, await world.principal(fresh), order.id)).blinded


async def test_hub_settings_are_the_admins_to_change(world, db, dnet):
    admin = await world.user((Role.facility_admin, dnet.hub.id))
    saved = await reading_settings.update_settings(db, await world.principal(admin), dnet.hub.id, two_step=True,
                                                   double_read_percent=15)
    assert saved.two_step and saved.double_read_percent == 15
    assert (await reading_settings.access_settings(db, await world.principal(dnet.reader), dnet.hub.id)).two_step
    with pytest.raises(InvalidInput):
        await reading_settings.update_settings(db, await world.principal(admin), dnet.hub.id, two_step=True,
                                               double_read_percent=101)
    for refused in (dnet.reader, dnet.outsider, dnet.sender):
        with pytest.raises(NotFound):
            await reading_settings.update_settings(db, await world.principal(refused), dnet.hub.id, two_step=False,
                                                   double_read_percent=0)


def test_the_preread_adapter_maps_what_it_knows_and_ignores_the_rest():
    got = ecg_preread.from_json(json.dumps({
        "heart_rate_bpm": 48.2, "intervals": {"pr_ms": 182, "qrs_ms": 96, "qt_ms": 452, "qtc_bazett_ms": 405.5},
        "axis_deg": 30, "rhythm_flags": ["sinus", "bradycardia"], "quality_warning": "baseline wander in V1",
        "qtc_fridericia_ms": 9999, "unknown": "x"}))
    assert got.values == {"heart_rate": 48.2, "pr": 182, "qrs": 96, "qt": 452, "qtc_bazett": 405.5, "axis": 30,
                          "rhythm": "sinus_bradycardia"}
    assert got.notes == ["baseline wander in V1"]
    assert ecg_preread.from_json("not json") is None and ecg_preread.from_json({"nothing": 1}) is None
    assert ecg_preread.from_json({"flags": ["irregular", "suspected_af"]}).values == {"rhythm": "atrial_fibrillation"}


async def test_an_ecg_report_is_prefilled_from_the_preread_and_says_so_until_edited(world, db, dnet):
    order, pre = await ecg_order_with_preread(world, db, dnet, MemoryBlobs())
    principal = await claimed(world, db, order, await hub_doctor(world, db, dnet))
    view = await reports.access_report(db, principal, order.id)
    assert abs(view.preread.values["heart_rate"] - pre["heart_rate_bpm"]) < 1
    assert abs(view.preread.values["qrs"] - pre["measurements"]["qrs_ms"]) < 1
    assert view.preread.values["rhythm"] == "sinus"  # the engine's flags say sinus rhythm for this tracing
    kept = {k: str(view.preread.values[k]) for k in ("heart_rate", "rhythm")}
    edited_qrs = str(round(view.preread.values["qrs"]) + 6)
    await reports.save_draft(db, principal, order.id, reports.DraftInput(
        findings={**kept, "qrs": edited_qrs}, impression="窦性心律。"))
    version = await reports.sign(db, principal, order.id, "final", MemoryBlobs())
    sources = {f["key"]: f["source"] for f in json.loads(version.content)["findings"] if f["key"] in kept | {"qrs": 0}}
    assert sources == {"heart_rate": "preread", "qrs": "reader", "rhythm": "preread"}
