"""The worklist as a reader sees it: ordered by time left with escalated orders on top, filtered,
coloured by the share of the target used, paged, audited once per list, without patients for a
hub administrator."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from carebridge.audit.models import AuditEvent
from carebridge.diagnostics import claims, reading_escalation
from carebridge.diagnostics import worklist as wl
from carebridge.diagnostics.worklist import band, make_filters
from carebridge.errors import Forbidden, InvalidInput
from carebridge.kit.clock import utcnow
from tests.diagnostics.worklist.conftest import hub_admin, ready_order


async def _ids(db, principal, now, **filters) -> list[int]:  # noqa: ANN001
    page = await wl.worklist(db, principal, make_filters(**filters), now=now)
    return [r.order.id for r in page.rows]


async def test_sorted_by_time_left_and_an_escalated_order_goes_to_the_top(world, db, dnet):
    t0 = utcnow()
    routine = await ready_order(world, db, dnet, "CT", urgency="routine", complete_at=t0 - dt.timedelta(hours=1))
    stat = await ready_order(world, db, dnet, "CT", urgency="stat", complete_at=t0 - dt.timedelta(minutes=10))
    urgent = await ready_order(world, db, dnet, "MR", urgency="urgent", complete_at=t0 - dt.timedelta(minutes=95))
    reader = await world.principal(dnet.reader)
    expected = [o.id for o in sorted((routine, stat, urgent), key=lambda o: o.due_at)]
    assert expected == [stat.id, urgent.id, routine.id]
    assert await _ids(db, reader, t0) == expected
    # The routine order has used 1 h of 24 h and the STAT one 10 of 30 minutes. The urgent one has
    # used 95 of 120 minutes (79 %) and nobody reads it: the sweep escalates it, and it moves above
    # the STAT order although that one has less time left.
    assert await reading_escalation.sweep(db, t0) == 1
    await db.refresh(urgent)
    assert urgent.escalated_at == t0
    assert (await _ids(db, reader, t0))[0] == urgent.id
    assert await _ids(db, reader, t0, sort="arrival") == [urgent.id, routine.id, stat.id]


async def test_filters(world, db, dnet):
    t0 = utcnow()
    ct = await ready_order(world, db, dnet, "CT", urgency="stat", complete_at=t0)
    ecg = await ready_order(world, db, dnet, "ECG", urgency="routine", complete_at=t0)
    frozen = await ready_order(world, db, dnet, "SM", urgency="routine", frozen_section=True, complete_at=t0)
    elsewhere = await world.facility()
    reader = await world.principal(dnet.reader)
    assert set(await _ids(db, reader, t0)) == {ct.id, ecg.id, frozen.id}
    assert await _ids(db, reader, t0, modality="ecg") == [ecg.id]
    assert await _ids(db, reader, t0, urgency="stat") == [ct.id]
    assert await _ids(db, reader, t0, lane="frozen") == [frozen.id]
    assert set(await _ids(db, reader, t0, lane="regular")) == {ct.id, ecg.id}
    assert set(await _ids(db, reader, t0, sending_facility_id=dnet.community.id)) == {ct.id, ecg.id, frozen.id}
    assert await _ids(db, reader, t0, sending_facility_id=elsewhere.id) == []
    assert await _ids(db, reader, t0, state="preliminary") == []
    mine = set(await _ids(db, reader, t0, mine="me"))
    assert mine and mine == {o.id for o in (ct, ecg, frozen) if o.assigned_reader_id == dnet.reader.id}
    ct.assigned_reader_id = None
    await db.flush()
    assert await _ids(db, reader, t0, mine="unassigned") == [ct.id]
    assert await _ids(db, reader, t0, hub_id=dnet.hub.id, modality="CT") == [ct.id]
    with pytest.raises(InvalidInput) as bad:
        make_filters(urgency="soon")
    assert bad.value.details["field"] == "urgency"
    with pytest.raises(InvalidInput):
        make_filters(sort="name")


@pytest.mark.parametrize(("share", "expected"), [
    (0.0, "green"), (0.4999, "green"), (0.5, "amber"), (0.7999, "amber"), (0.8, "red"), (0.9999, "red"),
    (1.0, "breached"), (3.0, "breached")])
def test_colour_bands_at_their_boundaries(share, expected):
    assert band(share) == expected


async def test_rows_carry_the_band_of_the_share_used_at_each_boundary(world, db, dnet):
    t0 = utcnow()
    order = await ready_order(world, db, dnet, "CT", urgency="stat", complete_at=t0)  # 30 minutes
    reader = await world.principal(dnet.reader)
    for minutes, expected in ((14.9, "green"), (15, "amber"), (23.9, "amber"), (24, "red"), (29.9, "red"),
                              (30, "breached"), (45, "breached")):
        page = await wl.worklist(db, reader, make_filters(), now=t0 + dt.timedelta(minutes=minutes))
        row = next(r for r in page.rows if r.order.id == order.id)
        assert row.band == expected, minutes
        assert row.seconds_left == pytest.approx((30 - minutes) * 60)


async def test_keyset_pages_walk_the_whole_list_once(world, db, dnet):
    t0 = utcnow()
    made = [await ready_order(world, db, dnet, "CT", urgency="routine", complete_at=t0 - dt.timedelta(minutes=i))
            for i in range(7)]
    made[3].escalated_at = t0
    await db.flush()
    reader = await world.principal(dnet.reader)
    seen, cursor = [], None
    for sort in ("time_left", "arrival"):
        seen, cursor = [], None
        while True:
            page = await wl.worklist(db, reader, make_filters(sort=sort), cursor, limit=3, now=t0)
            seen += [r.order.id for r in page.rows]
            if not (cursor := page.next_cursor):
                break
        assert sorted(seen) == sorted(o.id for o in made) and len(seen) == 7
    assert seen[0] == made[6].id  # arrival: the oldest first
    with pytest.raises(InvalidInput):
        await wl.worklist(db, reader, make_filters(sort="arrival"),
                          (await wl.worklist(db, reader, make_filters(), limit=2, now=t0)).next_cursor)


async def test_one_audit_row_per_list_and_administrators_see_no_patient(world, db, dnet):
    t0 = utcnow()
    order = await ready_order(world, db, dnet, "CT", complete_at=t0)
    reader = await world.principal(dnet.reader)
    before = await db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "diagnosis_worklist"))
    page = await wl.worklist(db, reader, make_filters(), now=t0)
    row = page.rows[0]
    assert row.patient.name == dnet.patient.name and row.patient.sex == dnet.patient.sex
    today = t0.astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert row.patient.age == wl.age_on(dnet.patient.birth_date, today)
    events = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "diagnosis_worklist")
                               .order_by(AuditEvent.seq))).all()
    assert len(events) == before + 1
    assert events[-1].detail["order_ids"] == [order.id] and events[-1].detail["patient_ids"] == [dnet.patient.id]
    admin = await world.principal(await hub_admin(world, dnet))
    coordinated = await wl.worklist(db, admin, make_filters(), now=t0)
    assert [r.order.id for r in coordinated.rows] == [order.id] and coordinated.rows[0].patient is None
    assert await db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "diagnosis_worklist")) == before + 1


async def test_who_sees_which_worklist(world, db, dnet):
    order = await ready_order(world, db, dnet, "CT")
    sender = await world.principal(dnet.sender)
    assert await _ids(db, sender, utcnow()) == []  # their own facility reads nothing
    with pytest.raises(Forbidden):
        await wl.worklist(db, sender, make_filters(hub_id=dnet.hub.id))
    with pytest.raises(Forbidden):
        await wl.worklist(db, await world.principal(dnet.hub_tech), make_filters())
    with pytest.raises(Forbidden):
        await wl.worklist_stamp(db, await world.principal(dnet.outsider), dnet.hub.id)
    assert await _ids(db, await world.principal(dnet.reader2), utcnow()) == [order.id]


async def test_the_stamp_changes_when_a_row_would(world, db, dnet):
    reader = await world.principal(dnet.reader)
    empty = await wl.worklist_stamp(db, reader)
    order = await ready_order(world, db, dnet, "ECG")
    arrived = await wl.worklist_stamp(db, reader)
    assert arrived != empty
    await claims.claim(db, reader, order.id)
    assert await wl.worklist_stamp(db, reader) != arrived
    assert await wl.worklist_stamp(db, reader) == await wl.worklist_stamp(db, reader)


async def test_an_ecg_row_shows_the_automatic_pre_read(world, db, dnet, tmp_path):
    from pydicom.data import get_testdata_file

    from carebridge.diagnostics.ecg.read_wfdb import NamedFile
    from carebridge.diagnostics.ecg.service import UploadRequest, upload_ecg
    from carebridge.kit.blobs import LocalBlobStore
    from tests.diagnostics.conftest import place_order

    order = await place_order(world, db, dnet, "ECG")
    data = open(get_testdata_file("waveform_ecg.dcm"), "rb").read()  # noqa: SIM115, ASYNC230 - a small test file
    recording = await upload_ecg(db, await world.principal(dnet.sender_tech), order.id,
                                 UploadRequest(files=[NamedFile("ecg.dcm", data)]), blobs=LocalBlobStore(tmp_path),
                                 max_bytes=10_000_000, max_seconds=300)
    row = (await wl.worklist(db, await world.principal(dnet.reader), make_filters())).rows[0]
    assert row.order.id == order.id and row.preread["labels"]
    assert row.preread["heart_rate_bpm"] == round(recording.preread["heart_rate_bpm"])
