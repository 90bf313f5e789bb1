"""The DICOM listener against real DCMTK peers: echo, store, find, get, move; unknown AE titles
refused; what a peer may query; bad files refused while the listener keeps answering."""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import time

import pytest
from pydicom import dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.sop_class import CTImageStorage
from sqlalchemy import func, select

from carebridge.audit.models import AuditEvent
from carebridge.diagnostics.imaging import peers
from carebridge.diagnostics.imaging.models import DicomInstance, DicomSeries
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_series
from carebridge.diagnostics.models import DiagnosticStudy
from tests.diagnostics.conftest import place_order
from tests.diagnostics.imaging.corpus import MODALITY_WORKLIST_FIND, bundled_file, corpus
from tests.diagnostics.imaging.dimse import Peers, dcmtk, free_port, require_dcmtk, start_listener


@pytest.fixture
async def scp(world, db, dnet, settings, sessionmaker, blobs):  # noqa: ANN001, ANN201
    require_dcmtk()
    running = await start_listener(world, db, dnet, settings, sessionmaker, blobs)
    yield running
    await asyncio.to_thread(running.listener.stop)


def _write(tmp_path, spec: SeriesSpec) -> list:  # noqa: ANN001
    paths = []
    for i, data in enumerate(ct_series(spec)):
        path = tmp_path / f"ct{i:03d}.dcm"
        path.write_bytes(data)
        paths.append(path)
    return paths


async def _store(scp: Peers, *files, aet: str | None = None) -> tuple[int, str]:  # noqa: ANN002
    return await dcmtk("storescu", "-v", "-aet", aet or scp.ct, "-aec", "CAREBRIDGE", "127.0.0.1", str(scp.port),
                       *map(str, files))


async def _echo(scp: Peers, aet: str) -> tuple[int, str]:
    return await dcmtk("echoscu", "-v", "-aet", aet, "-aec", "CAREBRIDGE", "127.0.0.1", str(scp.port))


async def test_echo_answers_a_registered_peer_and_refuses_an_unknown_ae(scp):
    code, out = await _echo(scp, scp.ct)
    assert code == 0 and "Received Echo Response (Success)" in out
    code, out = await _echo(scp, "STRANGER")
    assert code != 0 and "Association Rejected" in out and "Calling AE Title Not Recognized" in out


async def test_an_inactive_peer_is_refused(scp, world, db, dnet):
    admin = await world.principal(await world.user(("facility_admin", dnet.community.id)))
    peer = (await peers.list_peers(db, admin, dnet.community.id))[0]
    await peers.update_peer(db, admin, peer.id, peers.PeerData(peer.ae_title, active=False))
    await db.flush()
    code, out = await _echo(scp, scp.ct)
    assert code != 0 and "Association Rejected" in out


async def test_storescu_stores_a_ct_series_that_finds_its_order(scp, world, db, dnet, tmp_path):
    order = await place_order(world, db, dnet)
    await db.flush()
    spec = SeriesSpec(accession_number=order.accession_number, patient_id=dnet.mrn, count=4)
    files = _write(tmp_path, spec)
    code, out = await _store(scp, *files)
    assert code == 0, out
    assert out.count("Received Store Response (Success)") == 4
    study = await db.scalar(select(DiagnosticStudy).where(DiagnosticStudy.study_uid == spec.study_uid)
                            .execution_options(populate_existing=True))
    assert study.order_id == order.id and study.item_count == 4 and study.hub_facility_id == dnet.hub.id
    rows = (await db.scalars(select(DicomInstance).where(DicomInstance.study_id == study.id)
                             .order_by(DicomInstance.instance_number))).all()
    assert [r.instance_number for r in rows] == [1, 2, 3, 4] and {r.calling_ae for r in rows} == {"CB_CT1"}
    # Sent again (a sender that never saw the acknowledgement): success, nothing counted twice.
    code, out = await _store(scp, *files)
    assert code == 0 and out.count("Received Store Response (Success)") == 4
    await db.refresh(study)
    assert study.item_count == 4


async def test_objects_resent_within_one_association_are_answered_once_counted_once(scp, world, db, dnet, tmp_path):
    """After its first object the association stores by the rows it remembers (known.py): a resend
    in the same association is still recognised, answered with success and not counted again."""
    order = await place_order(world, db, dnet)
    await db.flush()
    spec = SeriesSpec(accession_number=order.accession_number, patient_id=dnet.mrn, count=3, size=64)
    files = _write(tmp_path, spec)
    code, out = await _store(scp, *files, *files, files[0])
    assert code == 0 and out.count("Received Store Response (Success)") == 7, out
    study = await db.scalar(select(DiagnosticStudy).where(DiagnosticStudy.study_uid == spec.study_uid)
                            .execution_options(populate_existing=True))
    assert study.item_count == 3 and study.order_id == order.id
    assert await db.scalar(select(func.count()).select_from(DicomInstance)
                           .where(DicomInstance.study_id == study.id)) == 3
    series = await db.scalar(select(DicomSeries).where(DicomSeries.series_uid == spec.series_uid)
                             .execution_options(populate_existing=True))
    assert series.instance_count == 3


def test_the_kept_file_has_the_meta_pynetdicom_would_write():
    """part10_file encodes the File Meta Information itself; byte for byte what pynetdicom writes."""
    from types import SimpleNamespace

    from pynetdicom.dsutils import create_file_meta, encode_file_meta

    from carebridge.diagnostics.imaging.part10 import part10_file

    body = b"\x08\x00\x16\x00UI\x1a\x001.2.840.10008.5.1.4.1.1.2\x00"
    for sop_class, instance, syntax in [(CTImageStorage, "1.2.3.4.5", ExplicitVRLittleEndian),
                                        ("1.2.840.10008.5.1.4.1.1.9.1.1", generate_uid(), "1.2.840.10008.1.2")]:
        request = SimpleNamespace(AffectedSOPClassUID=sop_class, AffectedSOPInstanceUID=instance,
                                  DataSet=io.BytesIO(body))
        meta = create_file_meta(sop_class_uid=sop_class, sop_instance_uid=instance, transfer_syntax=syntax)
        assert part10_file(request, syntax) == bytes(128) + b"DICM" + encode_file_meta(meta) + body


@pytest.mark.parametrize(("status", "comment"), [(0x0000, None), (0xA900, "pixel data has 4096 bytes; the header "
                                                                  "implies 8192"), (0xC000, "odd"), (0xA700, "")])
def test_the_store_response_is_what_pynetdicom_would_send(status, comment):
    """store_response.py writes the C-STORE-RSP command set itself; byte for byte pynetdicom's."""
    from pynetdicom.dimse_messages import C_STORE_RSP
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.dsutils import encode

    from carebridge.diagnostics.imaging.store_response import encoded_store_response

    response = C_STORE()
    response.MessageID = response.MessageIDBeingRespondedTo = 7
    response.AffectedSOPClassUID, response.AffectedSOPInstanceUID, response.Status = CTImageStorage, "1.2.3.45", status
    if comment is not None:
        response.ErrorComment = comment
    message = C_STORE_RSP()
    message.primitive_to_message(response)
    assert encoded_store_response(response) == encode(message.command_set, True, True)
    response.OffendingElement = [0x00100010]
    assert encoded_store_response(response) is None  # anything more: pynetdicom encodes it


@pytest.mark.parametrize(("name", "propose"), [
    ("CT_small.dcm", "-x="), ("MR_small.dcm", "-x="), ("MR_small_implicit.dcm", "-xi"), ("MR_small.dcm", "-xd"),
    ("JPEG2000.dcm", "-xw"), ("SC_rgb_rle.dcm", "-xr"), ("SC_rgb_jpeg_dcmtk.dcm", "-xy"),
    ("MR_small_jpeg_ls_lossless.dcm", "-xt"), ("SC_rgb_rle_2frame.dcm", "-xr")])
async def test_real_files_in_compressed_and_uncompressed_syntaxes_are_stored_as_sent(scp, db, blobs, name, propose):
    path = bundled_file(name)
    code, out = await dcmtk("storescu", "-v", propose, "-aet", scp.ct, "-aec", "CAREBRIDGE", "127.0.0.1",
                            str(scp.port), path)
    assert code == 0 and "Received Store Response (Success)" in out, out
    uid = dcmread(path, stop_before_pixels=True).SOPInstanceUID
    row = await db.scalar(select(DicomInstance).where(DicomInstance.sop_instance_uid == uid))
    data = await blobs.get(row.blob_digest)
    assert hashlib.sha256(data).hexdigest() == row.blob_digest  # hashed as it arrived: store_request.py
    stored = dcmread(io.BytesIO(data))
    assert stored.SOPInstanceUID == uid and stored.file_meta.TransferSyntaxUID == row.transfer_syntax_uid


def _send_raw(port: int, payload: bytes, as_ct: bool = False) -> int:
    """A C-STORE request carrying these bytes as its data set, undecoded: the way a broken or hostile
    sender would send it (the file's own context when its meta can be read, else CT)."""
    meta, body = _split(payload)
    if as_ct:
        meta.MediaStorageSOPClassUID = CTImageStorage
    ae = AE(ae_title="CB_CT1")
    ae.add_requested_context(meta.MediaStorageSOPClassUID, meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", port, ae_title="CAREBRIDGE")
    assert assoc.is_established
    try:
        request = C_STORE()
        request.MessageID, request.Priority = 1, 2
        request.AffectedSOPClassUID = meta.MediaStorageSOPClassUID
        request.AffectedSOPInstanceUID = meta.MediaStorageSOPInstanceUID
        request.DataSet = io.BytesIO(body)
        assoc._reactor_checkpoint.clear()  # as pynetdicom's own send_c_*: the reactor must not take the reply
        while not assoc._is_paused:
            time.sleep(0.0001)
        assoc.dimse.send_msg(request, assoc.accepted_contexts[0].context_id)
        _, response = assoc.dimse.get_msg(block=True)
        assoc._reactor_checkpoint.set()
        return int(response.Status) if response is not None else -1
    finally:
        assoc.release()


def _split(payload: bytes) -> tuple[FileMetaDataset, bytes]:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if payload[128:132] != b"DICM" or len(payload) < 144:
        return meta, payload
    end = 144 + struct.unpack("<I", payload[140:144])[0]  # (0002,0000) group length, explicit VR
    try:
        found = dcmread(io.BytesIO(payload[:end]), force=True).file_meta
        meta.MediaStorageSOPClassUID, meta.TransferSyntaxUID = (found.MediaStorageSOPClassUID,
                                                                found.TransferSyntaxUID)
    except Exception:  # noqa: BLE001 - a meta cut short: send the rest as a CT data set
        return meta, payload[132:]
    return meta, payload[end:]


# An empty file has no C-STORE form (a request without a data set is not a message): STOW covers it.
@pytest.mark.parametrize("name", sorted(set(corpus()) - {"empty"}))
async def test_bad_files_get_a_failure_status_and_the_listener_keeps_answering(scp, db, name):
    data, reason = corpus()[name]
    before = await db.scalar(select(func.count()).select_from(DicomInstance))
    # A non-storage class is refused at negotiation (below); sent over a CT context it does not match it.
    status = await asyncio.to_thread(_send_raw, scp.port, data, name == "non_storage_sop_class")
    assert status in (0xA900, 0xC000, 0x0122, 0xA700), hex(status)
    assert await db.scalar(select(func.count()).select_from(DicomInstance)) == before
    code, out = await _echo(scp, scp.ct)
    assert code == 0 and "Success" in out


async def test_storescu_sees_the_reason_for_a_refused_file(scp, tmp_path):
    path = tmp_path / "short.dcm"
    path.write_bytes(corpus()["pixel_length_mismatch"][0])
    code, out = await dcmtk("storescu", "-d", "-aet", scp.ct, "-aec", "CAREBRIDGE", "127.0.0.1", str(scp.port),
                            str(path))
    assert "0xa900: Error: Data Set does not match SOP Class" in out, out
    assert "pixel data has 4096 bytes; the header implies 8192" in out  # the Error Comment (0000,0902)


async def _find(scp: Peers, aet: str, *keys: str, model: str = "-S") -> list:
    rc, out = await dcmtk("findscu", "-v", model, "-aet", aet, "-aec", "CAREBRIDGE", "-X", "-od", str(scp.tmp),
                          *[x for k in keys for x in ("-k", k)], "127.0.0.1", str(scp.port))
    assert rc == 0, out
    found = sorted(scp.tmp.glob("rsp*.dcm"))
    answers = [dcmread(p) for p in found]
    for p in found:
        p.unlink()
    return answers


async def _sent_study(scp, tmp_path, dnet, count: int = 3) -> SeriesSpec:  # noqa: ANN001
    spec = SeriesSpec(patient_id=dnet.mrn, patient_name="Zhang^San", count=count, size=64)
    code, out = await _store(scp, *_write(tmp_path, spec))
    assert code == 0, out
    return spec


async def test_findscu_queries_studies_series_and_images_of_the_own_facility_only(scp, db, dnet, tmp_path):
    scp.tmp = tmp_path / "rsp"
    scp.tmp.mkdir()
    spec = await _sent_study(scp, tmp_path, dnet)
    studies = await _find(scp, scp.ct, "QueryRetrieveLevel=STUDY", f"PatientID={dnet.mrn}", "PatientName",
                          "StudyInstanceUID", "ModalitiesInStudy", "NumberOfStudyRelatedInstances", "StudyDate")
    assert [(a.StudyInstanceUID, str(a.PatientName), a.ModalitiesInStudy, int(a.NumberOfStudyRelatedInstances),
             a.StudyDate) for a in studies] == [(spec.study_uid, "Zhang^San", "CT", 3, "20260301")]
    assert await _find(scp, scp.ct, "QueryRetrieveLevel=STUDY", "PatientName=Zhang*") != []
    assert await _find(scp, scp.ct, "QueryRetrieveLevel=STUDY", "PatientName=Li*") == []
    series = await _find(scp, scp.ct, "QueryRetrieveLevel=SERIES", f"StudyInstanceUID={spec.study_uid}",
                         "SeriesInstanceUID", "Modality", "NumberOfSeriesRelatedInstances")
    assert [(s.SeriesInstanceUID, s.Modality, int(s.NumberOfSeriesRelatedInstances)) for s in series] == [
        (spec.series_uid, "CT", 3)]
    images = await _find(scp, scp.ct, "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={spec.study_uid}",
                         f"SeriesInstanceUID={spec.series_uid}", "SOPInstanceUID", "InstanceNumber")
    assert sorted(int(i.InstanceNumber) for i in images) == [1, 2, 3]
    patients = await _find(scp, scp.ct, "QueryRetrieveLevel=PATIENT", "PatientID", "PatientName", model="-P")
    assert [p.PatientID for p in patients] == [dnet.mrn]
    # The hub the studies were sent to sees them; another hub sees nothing.
    assert len(await _find(scp, scp.hub_pacs, "QueryRetrieveLevel=STUDY", "StudyInstanceUID")) == 1
    assert await _find(scp, scp.other, "QueryRetrieveLevel=STUDY", "StudyInstanceUID") == []
    audited = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "dicom_find",
                                                         AuditEvent.actor_name == "DICOM CB_CT1"))).all()
    assert audited and all(a.outcome == "allowed" for a in audited)


async def test_getscu_retrieves_a_study_byte_for_byte(scp, dnet, tmp_path):
    spec = await _sent_study(scp, tmp_path, dnet)
    out_dir = tmp_path / "got"
    out_dir.mkdir()
    rc, out = await dcmtk("getscu", "-v", "-S", "-aet", scp.ct, "-aec", "CAREBRIDGE", "-od", str(out_dir),
                          "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={spec.study_uid}",
                          "127.0.0.1", str(scp.port))
    assert rc == 0, out
    got = sorted(dcmread(p).InstanceNumber for p in out_dir.iterdir())
    assert got == [1, 2, 3]
    rc, out = await dcmtk("getscu", "-v", "-S", "-aet", scp.other, "-aec", "CAREBRIDGE", "-od", str(out_dir),
                          "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={spec.study_uid}",
                          "127.0.0.1", str(scp.port))
    assert len(list(out_dir.iterdir())) == 3  # another hub's PACS retrieves nothing


async def test_movescu_sends_a_study_to_a_registered_storescp(scp, world, db, dnet, tmp_path):
    spec = await _sent_study(scp, tmp_path, dnet)
    port = free_port()
    admin = await world.principal(await world.user(("facility_admin", dnet.community.id)))
    await peers.register_peer(db, admin, dnet.community.id,
                              peers.PeerData("CB_VIEW", "reading station", host="127.0.0.1", port=port))
    await db.flush()
    received = tmp_path / "moved"
    received.mkdir()
    storescp = await asyncio.create_subprocess_exec(
        "storescp", "-aet", "CB_VIEW", "-od", str(received), str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.sleep(0.5)
        rc, out = await dcmtk("movescu", "-v", "-S", "-aet", scp.ct, "-aec", "CAREBRIDGE", "-aem", "CB_VIEW",
                              "-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={spec.study_uid}",
                              "-k", f"SeriesInstanceUID={spec.series_uid}", "127.0.0.1", str(scp.port))
        assert rc == 0, out
        assert sorted(dcmread(p).InstanceNumber for p in received.iterdir()) == [1, 2, 3]
        rc, out = await dcmtk("movescu", "-v", "-S", "-aet", scp.ct, "-aec", "CAREBRIDGE", "-aem", "HUB_PACS",
                              "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={spec.study_uid}",
                              "127.0.0.1", str(scp.port))
        assert "Refused: MoveDestinationUnknown" in out, out  # the hub PACS is not the community centre's AE
    finally:
        storescp.terminate()
        await storescp.wait()


async def test_a_non_storage_sop_class_gets_no_presentation_context(scp):
    def propose() -> bool:
        ae = AE(ae_title="CB_CT1")
        ae.add_requested_context(MODALITY_WORKLIST_FIND)
        assoc = ae.associate("127.0.0.1", scp.port, ae_title="CAREBRIDGE")
        established = assoc.is_established
        if established:
            assoc.release()
        return established

    assert not await asyncio.to_thread(propose)
    code, out = await _echo(scp, scp.ct)
    assert code == 0


def _store_request_command(**fields) -> bytes:  # noqa: ANN003
    from pynetdicom.dimse_messages import C_STORE_RQ
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.dsutils import encode

    request = C_STORE()
    request.MessageID, request.Priority = 3, 2
    request.AffectedSOPClassUID, request.AffectedSOPInstanceUID = CTImageStorage, "1.2.3.4.5"
    request.DataSet = io.BytesIO(b"\x08\x00\x18\x00")
    for key, value in fields.items():
        setattr(request, key, value)
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    return encode(message.command_set, True, True)


def test_the_store_request_decoder_reads_what_pynetdicom_writes_and_gives_back_the_rest():
    """store_request.py decodes a C-STORE-RQ command set itself; anything else is pynetdicom's."""
    from pynetdicom.dimse_messages import C_ECHO_RQ
    from pynetdicom.dimse_primitives import C_ECHO
    from pynetdicom.dsutils import encode

    from carebridge.diagnostics.imaging.store_request import c_store_request, pdvs_of

    decoded = c_store_request(_store_request_command(MoveOriginatorApplicationEntityTitle="HUB_PACS",
                                                     MoveOriginatorMessageID=9), 5)
    assert (decoded.MessageID, decoded.Priority, decoded.AffectedSOPClassUID, decoded.AffectedSOPInstanceUID,
            decoded.MoveOriginatorApplicationEntityTitle, decoded.MoveOriginatorMessageID, decoded._context_id) == (
        3, 2, CTImageStorage, "1.2.3.4.5", "HUB_PACS", 9, 5)
    assert c_store_request(_store_request_command(), 1).MoveOriginatorMessageID is None
    echo = C_ECHO()
    echo.MessageID = 1
    message = C_ECHO_RQ()
    message.primitive_to_message(echo)
    assert c_store_request(encode(message.command_set, True, True), 1) is None  # not a C-STORE
    command = _store_request_command()
    assert c_store_request(command[:-3], 1) is None  # cut short
    assert c_store_request(command + b"\x00\x00\x20\x01\x02\x00\x00\x00\x01\x00", 1) is None  # (0000,0120) too
    assert pdvs_of(bytearray(b"\x00\x00\x00\x03\x01\x03\xff")) == [(1, memoryview(b"\x03\xff"))]
    assert pdvs_of(bytearray(b"\x00\x00\x00\x09\x01\x03\xff")) is None  # an item longer than the PDU


async def test_small_pdus_from_storescu_arrive_whole(scp, db, blobs, tmp_path):
    """Hundreds of 4 KiB fragments per object (DCMTK --max-send-pdu): the data set is kept complete."""
    spec = SeriesSpec(count=2, size=128)
    files = _write(tmp_path, spec)
    code, out = await dcmtk("storescu", "-v", "--max-send-pdu", "4096", "-aet", scp.ct, "-aec", "CAREBRIDGE",
                            "127.0.0.1", str(scp.port), *map(str, files))
    assert code == 0 and out.count("Received Store Response (Success)") == 2, out
    for path in files:
        sent = dcmread(path)
        row = await db.scalar(select(DicomInstance).where(DicomInstance.sop_instance_uid == sent.SOPInstanceUID))
        kept = dcmread(io.BytesIO(await blobs.get(row.blob_digest)))
        assert kept == sent and kept.PixelData == sent.PixelData


def test_a_pdu_length_is_not_taken_on_trust():
    """A peer declaring a 4 GiB PDU and sending ten bytes costs a megabyte, not four gigabytes; a
    real 2.5 MB PDU arrives whole."""
    import socket
    import threading
    import tracemalloc
    from types import SimpleNamespace

    from carebridge.diagnostics.imaging.reactors import _receiver

    sender, receiver = socket.socketpair()
    recv = _receiver(SimpleNamespace(socket=receiver))
    tracemalloc.start()
    try:
        sender.sendall(b"0123456789")
        sender.shutdown(socket.SHUT_WR)
        assert bytes(recv(0xFFFFFFFF)) == b"0123456789"
        assert tracemalloc.get_traced_memory()[1] < 4 << 20
    finally:
        tracemalloc.stop()
        sender.close()
        receiver.close()
    sender, receiver = socket.socketpair()
    payload = bytes(range(256)) * 10_000
    feeder = threading.Thread(target=sender.sendall, args=(payload,))
    feeder.start()
    try:
        assert bytes(_receiver(SimpleNamespace(socket=receiver))(len(payload))) == payload
    finally:
        feeder.join()
        sender.close()
        receiver.close()
