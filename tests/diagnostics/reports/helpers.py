"""Arranging report tests: a ready order (placed, its study arrived as one object), readers with
practitioner titles (the two-step rules read them), a claim, an in-memory blob store."""

from __future__ import annotations

import itertools

from carebridge.auth.models import Role, User
from carebridge.diagnostics import claims, reports, studies
from carebridge.diagnostics.studies import Arrival
from carebridge.network.models import Practitioner
from tests.diagnostics.conftest import place_order

_uid = itertools.count(1)


class MemoryBlobs:
    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}

    async def put(self, data: bytes) -> str:
        import hashlib

        digest = hashlib.sha256(data).hexdigest()
        self.items[digest] = data
        return digest

    async def get(self, digest: str) -> bytes:
        return self.items[digest]

    async def exists(self, digest: str) -> bool:
        return digest in self.items


async def titled(db, user: User, title: str) -> User:  # noqa: ANN001
    db.add(Practitioner(user_id=user.id, title=title, license_no=f"LIC-{user.id}-{next(_uid)}", languages=["zh"]))
    await db.flush()
    return user


async def hub_doctor(world, db, dnet, title: str = "attending") -> User:  # noqa: ANN001
    user = await world.user((Role.doctor, dnet.hub.id))
    return await titled(db, user, title) if title else user


async def ready_order(world, db, dnet, modality: str = "CT", **kw):  # noqa: ANN001, ANN201
    order = await place_order(world, db, dnet, modality=modality, **kw)
    await studies.receive_item(db, Arrival(study_uid=f"1.2.826.0.1.{next(_uid)}", sending_facility_id=dnet.community.id,
                                           hub_facility_id=dnet.hub.id, modality=modality, size_bytes=1000,
                                           single_object=True, order_id=order.id))
    await db.refresh(order)
    assert order.state == "ready"
    return order


async def claimed(world, db, order, user: User):  # noqa: ANN001, ANN201
    principal = await world.principal(user)
    await claims.claim(db, principal, order.id)
    return principal


CT_HEAD_DRAFT = reports.DraftInput(
    findings={"haemorrhage": "subdural", "midline_shift": "6", "ventricles": "compressed",
              "other": "左侧额顶部新月形高密度影"},
    impression="左侧急性硬膜下血肿，中线右移约6毫米。", free_text="建议神经外科急会诊。")


async def write_and_sign(world, db, dnet, order, user: User, blobs, kind: str = "final",  # noqa: ANN001, ANN201
                         draft: reports.DraftInput = CT_HEAD_DRAFT):
    principal = await claimed(world, db, order, user)
    await reports.save_draft(db, principal, order.id, draft)
    return await reports.sign(db, principal, order.id, kind, blobs)


async def ecg_order_with_preread(world, db, dnet, blobs) -> tuple:  # noqa: ANN001
    """An ECG order whose real 12-lead tracing (pydicom's waveform_ecg.dcm) went through the ECG
    upload, so its automatic pre-read is the engine's own; returns (order, the pre-read JSON)."""
    from pathlib import Path

    from pydicom.data import get_testdata_file

    from carebridge.diagnostics.ecg.read_wfdb import NamedFile
    from carebridge.diagnostics.ecg.service import UploadRequest, upload_ecg

    order = await place_order(world, db, dnet, "ECG")
    tracing = NamedFile("ecg.dcm", Path(get_testdata_file("waveform_ecg.dcm")).read_bytes())  # noqa: ASYNC240 - small
    recording = await upload_ecg(db, await world.principal(dnet.sender_tech), order.id, UploadRequest([tracing]),
                                 blobs=blobs, max_bytes=10**7, max_seconds=300)
    await db.refresh(order)
    return order, recording.preread
