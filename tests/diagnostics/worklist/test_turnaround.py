"""The turnaround dashboard on hand-built orders with known times: every expected number is computed
here from the inputs (numpy's linear percentile, which is PostgreSQL's percentile_cont)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.diagnostics import turnaround
from carebridge.errors import Forbidden, InvalidInput
from tests.diagnostics.worklist.conftest import hub_admin, ready_order

CHINA = dt.timezone(dt.timedelta(hours=8))
TARGET = {"stat": 30, "urgent": 120, "routine": 1440}


@dataclass
class Case:
    modality: str
    site: str  # "a" (the community centre) or "b" (a second sending site)
    urgency: str
    complete: float  # minutes after the base time
    acquired: float | None  # minutes before complete
    started: float | None  # minutes after complete
    signed: float | None  # minutes after complete
    reader: str  # "r1" or "r2"


CASES = [
    Case("CT", "a", "stat", 0, 12, 4, 25, "r1"),
    Case("CT", "a", "stat", 60, 7, 9, 41, "r2"),  # signed late
    Case("CT", "b", "urgent", 120, 30, 15, 70, "r1"),
    Case("ECG", "a", "routine", 180, None, 200, 260, "r2"),
    Case("ECG", "b", "stat", 240, 2, 3, 11, "r1"),
    Case("MR", "b", "urgent", 300, 45, 50, None, "r2"),  # started, unsigned, past due at NOW
    Case("MR", "a", "routine", 360, 20, None, None, "r1"),  # waiting, still inside its target
]
NOW_AFTER = 600  # minutes after the base time when the dashboard is read


def _stats(values: list[float]) -> tuple[int, float | None, float | None]:
    if not values:
        return 0, None, None
    return len(values), float(np.percentile(values, 50)), float(np.percentile(values, 90))


def _expected(cases: list[Case]) -> dict:
    stages = {
        "acquisition_to_complete": [c.acquired for c in cases if c.acquired is not None],
        "complete_to_read_started": [c.started for c in cases if c.started is not None],
        "read_started_to_signed": [c.signed - c.started for c in cases
                                   if c.signed is not None and c.started is not None],
        "complete_to_signed": [c.signed for c in cases if c.signed is not None],
    }
    within = sum(1 for c in cases if c.signed is not None and c.signed <= TARGET[c.urgency])
    missed = sum(1 for c in cases if (c.signed is not None and c.signed > TARGET[c.urgency])
                 or (c.signed is None and c.complete + TARGET[c.urgency] < NOW_AFTER))
    return {"orders": len(cases), "signed": sum(c.signed is not None for c in cases), "within": within,
            "missed": missed, "stages": {k: _stats(v) for k, v in stages.items()}}


def _check(group: turnaround.Group, cases: list[Case]) -> None:
    want = _expected(cases)
    assert (group.orders, group.signed, group.within_target, group.breaches) == (
        want["orders"], want["signed"], want["within"], want["missed"])
    for stage, (count, median, p90) in want["stages"].items():
        got = group.stages[stage]
        assert got.count == count, stage
        assert got.median == pytest.approx(median), stage
        assert got.p90 == pytest.approx(p90), stage


@pytest.fixture
async def built(world, db, dnet):  # noqa: ANN001, ANN201
    base = dt.datetime.combine(dt.date.today() - dt.timedelta(days=3), dt.time(8), CHINA).astimezone(dt.UTC)
    site_b = await world.facility()
    readers = {"r1": dnet.reader, "r2": dnet.reader2}
    for c in CASES:
        complete = base + dt.timedelta(minutes=c.complete)
        acquired = complete - dt.timedelta(minutes=c.acquired) if c.acquired is not None else None
        order = await ready_order(world, db, dnet, c.modality, urgency=c.urgency, complete_at=complete,
                                  acquired_at=acquired)
        if c.site == "b":
            order.requesting_facility_id = site_b.id
        order.claimed_by_id = readers[c.reader].id if c.started is not None else None
        order.read_started_at = complete + dt.timedelta(minutes=c.started) if c.started is not None else None
        if c.signed is not None:
            order.signed_at, order.state = complete + dt.timedelta(minutes=c.signed), "reported"
            order.final_reader_id = readers[c.reader].id
        else:
            order.assigned_reader_id = readers[c.reader].id
    # Left out: a cancelled order, an order completed before the period, and another hub's order.
    cancelled = await ready_order(world, db, dnet, "CT", complete_at=base + dt.timedelta(minutes=10))
    cancelled.state = "cancelled"
    await ready_order(world, db, dnet, "CT", complete_at=base - dt.timedelta(days=40))
    await ready_order(world, db, dnet, "CT", hub_facility_id=dnet.other_hub.id, complete_at=base)
    await db.flush()
    return base, site_b


async def test_the_numbers_by_modality_site_and_reader(world, db, dnet, built):
    base, site_b = built
    period = turnaround.make_period(base.astimezone(CHINA).date(), None, dnet.hub.id)
    report = await turnaround.turnaround(db, await world.principal(dnet.reader), period,
                                         now=base + dt.timedelta(minutes=NOW_AFTER))
    _check(report.overall, CASES)
    by_modality = {g.key: g for g in report.by_modality}
    assert set(by_modality) == {"CT", "ECG", "MR"}
    for key, group in by_modality.items():
        _check(group, [c for c in CASES if c.modality == key])
    by_site = {g.key: g for g in report.by_site}
    assert set(by_site) == {str(dnet.community.id), str(site_b.id)}
    _check(by_site[str(site_b.id)], [c for c in CASES if c.site == "b"])
    _check(by_site[str(dnet.community.id)], [c for c in CASES if c.site == "a"])
    by_reader = {g.key: g for g in report.by_reader}
    _check(by_reader[str(dnet.reader.id)], [c for c in CASES if c.reader == "r1"])
    _check(by_reader[str(dnet.reader2.id)], [c for c in CASES if c.reader == "r2"])
    assert by_reader[str(dnet.reader.id)].name == dnet.reader.display_name
    want = _expected(CASES)
    assert report.overall.within_target_share == pytest.approx(want["within"] / (want["within"] + want["missed"]))


async def test_the_api_and_the_csv_agree_and_the_export_is_audited(client, world, db, dnet, built):
    base, _site_b = built
    since = base.astimezone(CHINA).date().isoformat()
    headers = await world.token(dnet.reader)
    got = await client.get(f"/api/v1/diagnosis/turnaround?since={since}&hub_id={dnet.hub.id}", headers=headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["overall"]["orders"] == len(CASES) and body["hub_ids"] == [dnet.hub.id]
    count, median, p90 = _expected(CASES)["stages"]["complete_to_signed"]
    assert body["overall"]["complete_to_signed"] == {"count": count, "median_minutes": pytest.approx(median),
                                                     "p90_minutes": pytest.approx(p90)}
    exported = await client.get(f"/api/v1/diagnosis/turnaround.csv?since={since}", headers=headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    overall = {r["metric"]: r["value"] for r in rows if r["section"] == "overall"}
    assert overall["orders"] == str(len(CASES))
    assert float(overall["complete_to_signed_median_minutes"]) == pytest.approx(round(median, 1))
    audit = await db.scalar(select(AuditEvent).where(AuditEvent.action == "diagnosis_turnaround_export")
                            .order_by(AuditEvent.seq.desc()).limit(1))
    assert audit.actor_user_id == dnet.reader.id and audit.patient_id is None


async def test_only_the_hubs_people_see_its_turnaround(world, db, dnet):
    period = turnaround.make_period(hub_id=dnet.hub.id)
    admin = await world.principal(await hub_admin(world, dnet))
    assert (await turnaround.turnaround(db, admin, period)).hub_ids == [dnet.hub.id]
    for user in (dnet.sender, dnet.outsider):
        with pytest.raises(Forbidden):
            await turnaround.turnaround(db, await world.principal(user), period)
    with pytest.raises(Forbidden):
        await turnaround.turnaround(db, await world.principal(dnet.hub_tech), turnaround.make_period())
    with pytest.raises(InvalidInput):
        turnaround.make_period(dt.date(2026, 2, 1), dt.date(2026, 1, 1))
