"""DICOM objects sent over HTTP (STOW-RS, the order's upload route, the upload page): who may send
for which facility, where the study goes, and storing each object with its own outcome.

The sender is a doctor, nurse or technician of the sending facility. An upload made for an order
sends for the order's facility to the order's hub (the order's page, or the order API); one without
an order sends for the caller's facility (named with `facility_id` when they work at several) to the
nearest hub reading its images, and the study is matched like any other (accession number, patient
ID, else the hub's reconciliation queue). Each stored study is audited once per request."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Iterator
from dataclasses import dataclass
from mmap import mmap

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.diagnostics import service as diagnosis
from carebridge.diagnostics.imaging.parse import InvalidDicom, Reason
from carebridge.diagnostics.imaging.peers import reading_hubs
from carebridge.diagnostics.imaging.store import StoredInstance, store_instance
from carebridge.diagnostics.lifecycle import Party, State
from carebridge.diagnostics.models import DiagnosticStudy
from carebridge.errors import Conflict, Forbidden, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from carebridge.kit.blobs import BlobStore
from carebridge.kit.i18n import N_

DICOM_TYPES = ("application/dicom",)
Buffer = bytes | mmap  # a body in memory, or spooled to disk (kit/spool.py)


@dataclass(frozen=True)
class Target:
    sending_facility_id: int
    hub_facility_id: int | None
    order_id: int | None


@dataclass(frozen=True)
class Outcome:
    """One object of the request: stored (maybe as a duplicate) or refused with its reason."""

    position: int
    stored: StoredInstance | None = None
    refused: InvalidDicom | None = None
    sop_class_uid: str = ""
    sop_instance_uid: str = ""


async def target_for_order(session: AsyncSession, principal: Principal, order_id: int) -> Target:
    order, parties = await diagnosis.load_order(session, principal, order_id)
    if Party.sender not in parties:
        raise Forbidden(N_("only the sending facility uploads images for an order"))
    if order.state != State.awaiting_study.value:
        raise Conflict(N_("this order is no longer waiting for images"), code="order_not_waiting")
    return Target(order.requesting_facility_id, order.hub_facility_id, order.id)


async def target_for_sender(session: AsyncSession, principal: Principal, facility_id: int | None) -> Target:
    mine = principal.facilities_with(*diagnosis.SENDER_ROLES)
    if not mine:
        raise Forbidden(N_("only clinicians and technicians send images"))
    if facility_id is None and len(mine) > 1:
        raise InvalidInput(N_("you work at several facilities: name the sending one (facility_id)"),
                           details={"field": "facility_id"})
    facility_id = facility_id if facility_id is not None else next(iter(mine))
    if facility_id not in mine:
        raise Forbidden(N_("you do not send images for that facility"))
    hubs = await reading_hubs(session, facility_id)
    if not hubs:
        raise Conflict(N_("no facility in the network reads images for yours"), code="no_provider")
    return Target(facility_id, hubs[0].id, None)


async def store_objects(session: AsyncSession, blobs: BlobStore, principal: Principal, target: Target,
                        objects: AsyncIterable[tuple[str, bytes]], *, source: str,
                        expected_study_uid: str | None = None) -> list[Outcome]:
    """Stores each (content type, bytes) object; a refused one does not stop the others."""
    outcomes: list[Outcome] = []
    position = -1
    async for content_type, data in objects:
        position += 1
        if content_type.split(";")[0].strip().lower() not in DICOM_TYPES:
            refused = InvalidDicom(Reason.not_dicom, f"part {position + 1} is {content_type or 'untyped'}, "
                                                     "not application/dicom")
            outcomes.append(Outcome(position, refused=refused))
            continue
        try:
            stored = await store_instance(
                session, blobs, data, sending_facility_id=target.sending_facility_id,
                hub_facility_id=target.hub_facility_id, calling_ae="", source=source, order_id=target.order_id,
                expected_study_uid=expected_study_uid)
        except InvalidDicom as refused:
            outcomes.append(Outcome(position, refused=refused, **_uids(data)))
            continue
        outcomes.append(Outcome(position, stored=stored, sop_class_uid=stored.sop_class_uid,
                                sop_instance_uid=stored.sop_instance_uid))
    await _audit(session, principal, target, outcomes, source)
    return outcomes


def _uids(data: bytes) -> dict[str, str]:
    """The UIDs of a refused object when they can be read, for the failure report."""
    found = {}
    for key, tag in (("sop_class_uid", b"\x08\x00\x16\x00"), ("sop_instance_uid", b"\x08\x00\x18\x00")):
        at = data.find(tag, 132)
        if at > 0 and data[at + 4:at + 6] == b"UI":
            length = int.from_bytes(data[at + 6:at + 8], "little")
            value = data[at + 8:at + 8 + min(length, 64)].rstrip(b"\0 ").decode("ascii", "replace")
            if re.fullmatch(r"[0-9.]{1,64}", value):
                found[key] = value
    return found


async def _audit(session: AsyncSession, principal: Principal, target: Target, outcomes: list[Outcome],
                 source: str) -> None:
    counts: dict[int, int] = {}
    for outcome in outcomes:
        if outcome.stored is not None:
            counts[outcome.stored.study_id] = counts.get(outcome.stored.study_id, 0) + 1
    for study_id, count in counts.items():
        study = await session.get(DiagnosticStudy, study_id)
        await audit.append(session, audit.Entry(
            action="dicom_store", outcome="success", actor=principal.actor(target.sending_facility_id),
            patient_id=study.patient_id, resource_type="DiagnosticStudy", resource_id=study_id,
            purpose=Purpose.diagnosis.value, facility_id=target.sending_facility_id,
            detail={"source": source, "instances": count, "order_id": study.order_id}))


def related_parts(body: Buffer, content_type: str, max_parts: int) -> list[tuple[str, int, int]]:
    """The parts of a multipart/related body (RFC 2387, PS3.18 8.6.1.2) as (content type, start,
    end) offsets into `body`, the whole body checked first (a malformed body stores nothing); the
    caller copies each part out when its turn comes (a spooled body, kit/spool.py, is then never
    in memory whole). More than `max_parts` parts is refused: a body of tiny parts would otherwise
    cost many times its size in bookkeeping."""
    boundary, default_type = related_boundary(content_type)
    parts = []
    for part in _part_spans(body, boundary, default_type):
        if len(parts) == max_parts:
            raise PayloadTooLarge(N_("too many objects in one request"), details={"max_parts": max_parts})
        parts.append(part)
    return parts


def related_boundary(content_type: str) -> tuple[str, str]:
    """The boundary and the parts' default type; refuses another media type before the body is read."""
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "multipart/related":
        raise UnsupportedMediaType(N_("send multipart/related; type=\"application/dicom\""))
    boundary = _parameter(params, "boundary")
    if not boundary:
        raise InvalidInput(N_("the multipart body has no boundary"), details={"field": "content-type"})
    return boundary, _parameter(params, "type") or "application/dicom"


def _part_spans(body: Buffer, boundary: str, default_type: str) -> Iterator[tuple[str, int, int]]:
    delimiter = b"--" + boundary.encode("latin-1")
    start = 0 if body[:len(delimiter)] == delimiter else body.find(b"\r\n" + delimiter) + 2
    if body[start:start + len(delimiter)] != delimiter:
        raise InvalidInput(N_("the multipart body holds no part"), details={"field": "body"})
    while True:
        start += len(delimiter)
        if body[start:start + 2] == b"--":
            return
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise InvalidInput(N_("the multipart body ends inside a part"), details={"field": "body"})
        head_end = body.find(b"\r\n\r\n", start, end + 2)  # an empty part's blank line ends in the delimiter's CRLF
        if head_end < 0:
            raise InvalidInput(N_("a part of the multipart body has no header end"), details={"field": "body"})
        yield _part_type(body[start:head_end], default_type), min(head_end + 4, end), end
        start = end + 2


def _parameter(params: str, name: str) -> str:
    for item in params.split(";"):
        key, _, value = item.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return ""


def _part_type(headers: bytes, default: str) -> str:
    for line in headers.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() == "content-type":
            return value.strip()
    return default
