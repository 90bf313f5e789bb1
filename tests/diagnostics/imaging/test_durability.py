"""kill -9 during a transfer loses nothing that was acknowledged: a real listener process, a
pynetdicom SCU recording every UID it saw acknowledged, SIGKILL mid-transfer, restart, then every
acknowledged instance is in the index with its blob intact, and the study counts what is indexed."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import signal
import threading

import pytest
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage
from sqlalchemy import text

from carebridge.db import make_engine
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_dataset, ct_series
from tests.conftest import ENGINES
from tests.diagnostics.imaging import live
from tests.diagnostics.imaging.dimse import dcmtk, free_port, require_dcmtk

KILL_AFTER = 25
SENT = 80


@pytest.fixture(params=ENGINES)
async def live_url(request, tmp_path):  # noqa: ANN001, ANN201
    url = await live.database_url(request.param, tmp_path, "_durable")
    await live.arrange(url)
    return url


def _send_until_killed(port: int, datasets: list, acknowledged: list[str], killed: threading.Event) -> None:
    ae = AE(ae_title=live.PEER_AE)
    ae.add_requested_context(CTImageStorage, "1.2.840.10008.1.2.1")
    assoc = ae.associate("127.0.0.1", port, ae_title="CAREBRIDGE")
    assert assoc.is_established
    for ds in datasets:
        status = assoc.send_c_store(ds)
        if not status or status.Status != 0x0000:
            break  # the association died with the listener: this one was never acknowledged
        acknowledged.append(ds.SOPInstanceUID)
        if len(acknowledged) == KILL_AFTER:
            killed.set()  # the killer strikes while the next instance is on its way
    if assoc.is_established:
        assoc.abort()


async def _indexed(url: str) -> dict[str, tuple[str, int]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT sop_instance_uid, blob_digest FROM dicom_instances"))).all()
            counted = await conn.scalar(text("SELECT coalesce(sum(item_count), 0) FROM diagnostic_studies"))
    finally:
        await engine.dispose()
    return {uid: (digest, counted) for uid, digest in rows}


async def test_kill_9_mid_transfer_loses_no_acknowledged_instance(live_url, tmp_path):
    require_dcmtk()
    blobs, port = tmp_path / "blobs", free_port()
    listener = await asyncio.to_thread(live.start, live_url, blobs, port, tmp_path / "listener.log")
    spec = SeriesSpec(count=SENT, size=256, accession_number="DURABLE1")
    datasets = [ct_dataset(spec, i) for i in range(SENT)]
    acknowledged: list[str] = []
    killed = threading.Event()

    def killer() -> None:
        killed.wait(60)
        os.kill(listener.process.pid, signal.SIGKILL)

    strike = threading.Thread(target=killer)
    strike.start()
    await asyncio.to_thread(_send_until_killed, port, datasets, acknowledged, killed)
    strike.join()
    listener.process.wait()
    assert listener.process.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(acknowledged) < SENT  # killed mid-transfer, not after it

    restarted = await asyncio.to_thread(live.start, live_url, blobs, port, tmp_path / "listener.log")
    try:
        indexed = await _indexed(live_url)
        missing = [uid for uid in acknowledged if uid not in indexed]
        assert not missing, f"{len(missing)} acknowledged instances lost"
        for uid in acknowledged:
            digest = indexed[uid][0]
            data = (blobs / digest[:2] / digest[2:4] / digest).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest
            assert dcmread(io.BytesIO(data)).SOPInstanceUID == uid
        # The study counted exactly what the index holds (no half-written instance was counted).
        assert next(iter(indexed.values()))[1] == len(indexed)
        # The sender resends everything: acknowledged ones are idempotent, the rest are stored now.
        resent: list[str] = []
        await asyncio.to_thread(_send_until_killed, port, datasets, resent, threading.Event())
        assert len(resent) == SENT
        after = await _indexed(live_url)
        assert len(after) == SENT and next(iter(after.values()))[1] == SENT
        # The restarted listener answers queries from what it indexed (C-FIND writes its audit rows).
        code, out = await dcmtk("findscu", "-S", "-aet", live.PEER_AE, "-aec", "CAREBRIDGE", "-k",
                                "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={spec.study_uid}", "-k",
                                "NumberOfSeriesRelatedInstances", "+sr", "127.0.0.1", str(port))
        assert code == 0 and f"[{SENT}]" in out.replace(" ", ""), out
    finally:
        restarted.process.terminate()
        restarted.process.wait(timeout=15)


async def test_four_associations_into_one_series_store_and_count_every_object_once(live_url, tmp_path):
    """Four storescu at once (on the listener's two processes), into one study and series, each also
    resending some of another's objects: every object indexed once, every count right, nobody
    refused (on PostgreSQL, no deadlock between the row locks of the study and its series)."""
    require_dcmtk()
    listener = await asyncio.to_thread(live.start, live_url, tmp_path / "blobs", free_port(), tmp_path / "l.log")
    try:
        spec = SeriesSpec(count=40, size=64, accession_number="PARALLEL1")
        folders = [tmp_path / f"a{i}" for i in range(4)]
        for folder in folders:
            folder.mkdir()
        for i, data in enumerate(ct_series(spec)):
            for k in {i % 4, (i + 1) % 4} if i % 5 == 0 else {i % 4}:  # every fifth sent twice
                (folders[k] / f"ct{i:03d}.dcm").write_bytes(data)
        sent = await asyncio.gather(*[dcmtk("storescu", "-aet", live.PEER_AE, "-aec", "CAREBRIDGE", "127.0.0.1",
                                            str(listener.port), "+sd", str(folder)) for folder in folders])
        assert all(code == 0 and "E:" not in out for code, out in sent), sent
        engine = make_engine(live_url)
        try:
            async with engine.connect() as conn:
                counts = (await conn.execute(text(
                    "SELECT (SELECT count(*) FROM dicom_instances), s.item_count, r.instance_count, x.instance_count "
                    "FROM diagnostic_studies s JOIN dicom_series r ON r.study_id = s.id "
                    "JOIN dicom_studies x ON x.study_id = s.id"))).one()
        finally:
            await engine.dispose()
        assert tuple(counts) == (40, 40, 40, 40)
    finally:
        listener.process.terminate()
        listener.process.wait(timeout=15)
