"""Where the diagnosis features stop: who keeps seeing a study, consent before anything leaves the
facility, hostile DICOM headers, an administrator's own reader profile, a listener that checks where
a call comes from, what the timeline and the audit trail say."""

from __future__ import annotations

import io

import pytest
from pydicom import dcmread
from pydicom.encaps import encapsulate
from pydicom.uid import DeflatedExplicitVRLittleEndian, RLELossless
from sqlalchemy import select

from carebridge.access.service import access_patient, record_consent
from carebridge.audit.models import AuditEvent
from carebridge.demo.phantom import head_ct
from carebridge.diagnostics import assignment, studies
from carebridge.diagnostics import service as diagnosis
from carebridge.diagnostics.imaging.parse import InvalidDicom, Reason
from carebridge.diagnostics.imaging.scp import same_host
from carebridge.diagnostics.imaging.store import store_instance
from carebridge.diagnostics.models import OrderEvent
from carebridge.diagnostics.studies import Arrival
from carebridge.errors import Conflict, Forbidden, NotFound
from carebridge.kit.blobs import LocalBlobStore
from carebridge.kit.clock import utcnow
from tests.diagnostics.conftest import place_order
from tests.diagnostics.worklist.conftest import hub_admin


async def test_a_study_received_by_one_hub_is_read_and_seen_by_its_orders_hub(world, db, dnet):
    order = await place_order(world, db, dnet, accession_number="RELAY-1")
    study = await studies.receive_item(db, Arrival(
        study_uid="2.25.424242", sending_facility_id=dnet.community.id, hub_facility_id=dnet.other_hub.id,
        modality="CT", accession_number="RELAY-1", size_bytes=10))
    assert study.order_id == order.id and study.hub_facility_id == dnet.hub.id == order.hub_facility_id


async def test_nothing_is_ordered_for_a_patient_who_has_not_consented(world, db, dnet):
    await record_consent(db, await world.principal(dnet.sender), dnet.patient.id, status="revoked",
                         note="the patient withdrew consent")
    with pytest.raises(Conflict) as refused:
        await place_order(world, db, dnet)
    assert refused.value.code == "no_consent"


async def test_a_consent_withdrawn_during_an_order_closes_the_record_but_not_the_order(world, db, dnet):
    order = await place_order(world, db, dnet)
    reader = await world.principal(dnet.reader)
    assert (await access_patient(db, reader, dnet.patient.id)).basis == "grant"  # the order's grant
    await record_consent(db, await world.principal(dnet.sender), dnet.patient.id, status="revoked",
                         note="the patient withdrew consent")
    with pytest.raises((Forbidden, NotFound)):
        await access_patient(db, reader, dnet.patient.id)
    loaded, _parties = await diagnosis.load_order(db, reader, order.id)  # the reading goes on
    assert loaded.id == order.id


def _ct(accession: str) -> bytes:
    return head_ct(("MRN-X", "TEST^HOSTILE"), accession, utcnow(), slices=1)[0]


async def test_deflated_and_giant_frame_headers_are_refused_before_anything_is_decoded(world, db, dnet, tmp_path):
    blobs = LocalBlobStore(tmp_path)
    ds = dcmread(io.BytesIO(_ct("BOMB-1")))
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    deflated = io.BytesIO()
    ds.save_as(deflated, enforce_file_format=True)
    giant = dcmread(io.BytesIO(_ct("BOMB-2")))  # a small RLE file whose one frame would decode to 800 MB
    giant.file_meta.TransferSyntaxUID = RLELossless
    giant.Rows = giant.Columns = 20_000
    giant.PixelData = encapsulate([b"\0" * 64])
    giant["PixelData"].VR = "OB"
    too_big = io.BytesIO()
    giant.save_as(too_big, enforce_file_format=True)
    for data, reason in ((deflated.getvalue(), Reason.unsupported_transfer_syntax),
                         (too_big.getvalue(), Reason.bad_pixel_data)):
        with pytest.raises(InvalidDicom) as refused:
            await store_instance(db, blobs, data, sending_facility_id=dnet.community.id, hub_facility_id=dnet.hub.id)
        assert refused.value.reason == reason


async def test_an_administrator_does_not_set_their_own_reader_profile(world, db, dnet):
    admin = await hub_admin(world, dnet)
    with pytest.raises(Forbidden):
        await assignment.set_profile(db, await world.principal(admin), dnet.hub.id, admin.id,
                                     assignment.ProfileInput(["CT"], [], True))


def test_a_registered_host_must_be_where_the_call_comes_from():
    assert same_host("127.0.0.1", "127.0.0.1") and same_host("localhost", "127.0.0.1")
    assert not same_host("192.0.2.10", "127.0.0.1") and not same_host("no-such-host.invalid", "127.0.0.1")


async def test_the_reconciliation_queue_is_audited(world, db, dnet):
    await studies.receive_item(db, Arrival(study_uid="2.25.515151", sending_facility_id=dnet.community.id,
                                           hub_facility_id=dnet.hub.id, modality="CT", sent_patient_key="NOBODY",
                                           size_bytes=10))
    await studies.unmatched_studies(db, await world.principal(dnet.hub_tech), dnet.hub.id)
    audited = await db.scalar(select(AuditEvent).where(AuditEvent.action == "diagnosis_unmatched_list")
                              .order_by(AuditEvent.seq.desc()).limit(1))
    assert audited is not None and audited.actor_user_id == dnet.hub_tech.id


async def test_the_timeline_names_an_addendum_by_its_hash_not_its_text(world, db, dnet):
    from carebridge.diagnostics import reports
    from tests.diagnostics.reports.helpers import MemoryBlobs, hub_doctor, ready_order, write_and_sign

    order = await ready_order(world, db, dnet, body_part="HEAD")
    reader = await hub_doctor(world, db, dnet)
    blobs = MemoryBlobs()
    await write_and_sign(world, db, dnet, order, reader, blobs)
    secret = "附加：复查示血肿较前增大"
    await reports.add_addendum(db, await world.principal(reader), order.id, secret, blobs)
    notes = (await db.scalars(select(OrderEvent.note).where(OrderEvent.order_id == order.id,
                                                             OrderEvent.action == "report_addendum"))).all()
    assert len(notes) == 1 and notes[0].startswith("SHA-256") and secret not in notes[0]
