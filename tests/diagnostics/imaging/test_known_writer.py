"""The listener's hot path (known_writer.py) on a real committed database, each engine: the rest of
a series indexed by the driver itself counts exactly what is indexed, a resend changes nothing, a
study of another sender is refused, and an order linked meanwhile is reported."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage
from sqlalchemy import text

from carebridge.access.models import Consent
from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.db import make_engine, make_sessionmaker, unit_of_work
from carebridge.diagnostics import service as diagnosis
from carebridge.diagnostics.imaging.association_databases import listener_engine
from carebridge.diagnostics.imaging.known import KnownRows
from carebridge.diagnostics.imaging.known_writer import HeldWriter
from carebridge.diagnostics.imaging.parse import InvalidDicom, Reason
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_dataset, ct_series
from carebridge.diagnostics.imaging.store import index_known, index_received, receive
from carebridge.kit.blobs import LocalBlobStore
from carebridge.records.models import Patient, PatientRegistration
from tests.conftest import ENGINES
from tests.diagnostics.imaging import live
from tests.diagnostics.imaging.dimse import free_port


@pytest.fixture(params=ENGINES)
async def listener_db(request, tmp_path):  # noqa: ANN001, ANN201
    url = await live.database_url(request.param, tmp_path, "_hotpath")
    await live.arrange(url)
    engine = listener_engine(url)
    held = await HeldWriter.open(engine)
    try:
        async with engine.connect() as conn:
            community = await conn.scalar(text("SELECT id FROM facilities WHERE code = 'LIVE-CC'"))
            hub = await conn.scalar(text("SELECT id FROM facilities WHERE code = 'LIVE-HUB'"))
        yield engine, held.writer, community, hub, LocalBlobStore(tmp_path / "blobs")
    finally:
        await held.close()
        await engine.dispose()


async def _first(engine, blobs, data: bytes, community: int, hub: int, known: KnownRows):  # noqa: ANN001, ANN202
    """The first object of a series takes the session path, after whose commit the rows are known."""
    async with unit_of_work(make_sessionmaker(engine)) as session:
        return await index_received(session, blobs, await receive(blobs, data), sending_facility_id=community,
                                    hub_facility_id=hub, calling_ae=live.PEER_AE, known=known)


async def _counts(engine) -> tuple:  # noqa: ANN001
    async with engine.connect() as conn:
        return tuple((await conn.execute(text(
            "SELECT (SELECT count(*) FROM dicom_instances), (SELECT sum(size_bytes) FROM dicom_instances), "
            "(SELECT sum(item_count) FROM diagnostic_studies), (SELECT sum(byte_count) FROM diagnostic_studies), "
            "(SELECT sum(instance_count) FROM dicom_series), (SELECT sum(instance_count) FROM dicom_studies)"))).one())


async def test_the_rest_of_a_series_is_indexed_and_counted_exactly_once(listener_db) -> None:  # noqa: ANN001
    engine, writer, community, hub, blobs = listener_db
    files = list(ct_series(SeriesSpec(count=6, size=32)))
    known = KnownRows()
    first = await _first(engine, blobs, files[0], community, hub, known)
    rest = [await index_known(writer, await receive(blobs, data), known, sending_facility_id=community,
                              calling_ae=live.PEER_AE) for data in files[1:]]
    assert all(stored is not None and stored.study_id == first.study_id and stored.series_id == first.series_id
               for stored in rest)
    total = sum(len(data) for data in files)
    assert await _counts(engine) == (6, total, 6, total, 6, 6)
    async with engine.connect() as conn:
        kept = (await conn.execute(text(
            "SELECT blob_digest, calling_ae, source, rows, received_at FROM dicom_instances "
            "WHERE sop_instance_uid = :sop"), {"sop": rest[-1].sop_instance_uid})).one()
        last_received = await conn.scalar(text("SELECT last_received_at FROM diagnostic_studies"))
    assert (kept.blob_digest, kept.calling_ae, kept.source, kept.rows) == (rest[-1].blob_digest, live.PEER_AE,
                                                                          "dimse", 32)
    assert await blobs.get(kept.blob_digest) == files[-1]
    assert str(last_received)[:19] == str(kept.received_at)[:19]  # the quiet period restarted by the last

    # A sender resending what was acknowledged: nothing written, nothing counted (the session path answers it).
    again = await index_known(writer, await receive(blobs, files[3]), known, sending_facility_id=community,
                              calling_ae=live.PEER_AE)
    assert again is None
    assert await _counts(engine) == (6, total, 6, total, 6, 6)


async def test_a_known_study_of_another_sender_is_refused(listener_db) -> None:  # noqa: ANN001
    engine, writer, community, hub, blobs = listener_db
    files = list(ct_series(SeriesSpec(count=2, size=32)))
    known = KnownRows()
    await _first(engine, blobs, files[0], community, hub, known)
    with pytest.raises(InvalidDicom) as refused:
        await index_known(writer, await receive(blobs, files[1]), known, sending_facility_id=hub,
                          calling_ae="OTHER")
    assert refused.value.reason == Reason.study_of_another_sender
    assert (await _counts(engine))[0] == 1


async def test_an_order_linked_while_the_series_arrives_is_reported(listener_db) -> None:  # noqa: ANN001
    engine, writer, community, hub, blobs = listener_db
    files = list(ct_series(SeriesSpec(count=3, size=32)))
    known = KnownRows()
    first = await _first(engine, blobs, files[0], community, hub, known)
    assert first.order_id is None  # no order: the study waits in the reconciliation queue
    before = await index_known(writer, await receive(blobs, files[1]), known, sending_facility_id=community,
                               calling_ae=live.PEER_AE)
    assert before is not None and before.order_id is None
    order_id = await _any_order(engine, community, hub)
    async with engine.begin() as conn:  # a technician links the study meanwhile
        await conn.execute(text("UPDATE diagnostic_studies SET order_id = :order"), {"order": order_id})
    after = await index_known(writer, await receive(blobs, files[2]), known, sending_facility_id=community,
                              calling_ae=live.PEER_AE)
    assert after is not None and after.order_id == order_id


async def _any_order(engine, community: int, hub: int) -> int:  # noqa: ANN001
    """An order to link the study to, made through the services (its contents do not matter here)."""
    async with unit_of_work(make_sessionmaker(engine)) as session:
        doctor = await auth.create_user(session, username="hot-doctor", display_name="Doctor",
                                        password="hot-password-123", roles=[(Role.doctor, community)])
        patient = Patient(name="患者", sex="female", birth_date=dt.date(1960, 1, 1), national_id="110105196001011234")
        session.add(patient)
        await session.flush()
        session.add_all([PatientRegistration(patient_id=patient.id, facility_id=community, mrn="HOT-1"),
                         Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=doctor.id,
                                 facility_id=community)])
        await session.flush()
        order = await diagnosis.order_diagnosis(session, await auth.load_principal(session, doctor, via="token"),
                                                diagnosis.OrderRequest(patient_id=patient.id, modality="CT",
                                                                       clinical_question="head CT after a fall",
                                                                       hub_facility_id=hub))
        return order.id


async def test_a_lost_database_connection_fails_one_object_and_the_next_is_stored(tmp_path) -> None:  # noqa: ANN001
    """PostgreSQL restarted under a running listener (its connections terminated): the object in
    flight is refused with 0xA700 for the sender to retry, and the association goes on storing."""
    if "postgresql" not in ENGINES:
        pytest.skip("needs PostgreSQL (CAREBRIDGE_TEST_DATABASE_URL)")
    url = await live.database_url("postgresql", tmp_path, "_hotpath_lost")
    await live.arrange(url)
    listener = await asyncio.to_thread(live.start, url, tmp_path / "blobs", free_port(), tmp_path / "l.log")
    try:
        statuses = await asyncio.to_thread(_send_with_a_restart_between, listener.port, url)
    finally:
        listener.process.terminate()
        listener.process.wait(timeout=15)
    assert statuses[:3] == [0, 0, 0] and statuses[3] == 0xA700 and statuses[4:] == [0, 0]
    assert await live.instance_count(url) == 5


async def test_connections_lost_between_associations_fail_nothing(tmp_path) -> None:  # noqa: ANN001
    """The listener keeps an ended association's connections for the next one; PostgreSQL restarted
    while none is open (connections terminated), the next association stores every object."""
    if "postgresql" not in ENGINES:
        pytest.skip("needs PostgreSQL (CAREBRIDGE_TEST_DATABASE_URL)")
    url = await live.database_url("postgresql", tmp_path, "_idle_lost")
    await live.arrange(url)
    # One listener process: the second association is served where the first one's connections wait.
    listener = await asyncio.to_thread(live.start, url, tmp_path / "blobs", free_port(), tmp_path / "l.log",
                                       processes=1)
    try:
        first = await asyncio.to_thread(_send, listener.port, _series(range(3)))
        await _terminate_connections(url)
        second = await asyncio.to_thread(_send, listener.port, _series(range(3, 6)))
    finally:
        listener.process.terminate()
        listener.process.wait(timeout=15)
    assert first == [0, 0, 0] and second == [0, 0, 0]
    assert await live.instance_count(url) == 6


def _series(numbers: range) -> list:
    return [ct_dataset(SeriesSpec(count=6, size=32, study_uid="1.2.826.0.1.3680043.8.498.77",
                                  series_uid="1.2.826.0.1.3680043.8.498.78"), i) for i in numbers]


def _send(port: int, datasets: list, before: dict | None = None) -> list[int]:
    """One association; `before` maps an object's position to what to do just before sending it."""
    ae = AE(ae_title=live.PEER_AE)
    ae.add_requested_context(CTImageStorage, "1.2.840.10008.1.2.1")
    assoc = ae.associate("127.0.0.1", port, ae_title="CAREBRIDGE")
    assert assoc.is_established
    statuses = []
    try:
        for i, ds in enumerate(datasets):
            if before and i in before:
                before[i]()
            statuses.append(assoc.send_c_store(ds).Status)
    finally:
        assoc.release()
    return statuses


def _send_with_a_restart_between(port: int, url: str) -> list[int]:
    return _send(port, _series(range(6)), {3: lambda: asyncio.run(_terminate_connections(url))})


async def _terminate_connections(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = make_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            ended = await conn.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name})
    finally:
        await engine.dispose()
    assert ended >= 1


def test_the_hot_path_writes_every_column_the_session_path_writes() -> None:
    """A column added to store._instance_values must reach the driver's statements too."""
    from carebridge.diagnostics.imaging.known_writer import COLUMNS
    from carebridge.diagnostics.imaging.parse import read_part10
    from carebridge.diagnostics.imaging.store import _instance_values

    data = next(iter(ct_series(SeriesSpec(count=1, size=32))))
    values = _instance_values(read_part10(data, len(data)), data, "0" * 64, 1, 1, "AE", "dimse")
    assert sorted(values) == sorted(COLUMNS)


async def test_an_engine_without_a_hot_path_leaves_every_object_to_the_session_path(tmp_path) -> None:  # noqa: ANN001
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}")  # aiosqlite's own threads, not inline
    try:
        assert await HeldWriter.open(engine) is None
    finally:
        await engine.dispose()
