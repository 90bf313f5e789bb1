"""Slides of a pathology order: upload by the sender, listing and opening by the order's parties.

An upload is read and checked whole before anything is stored (intake.py): one bad file refuses
the request with its name and nothing is kept. Each stored slide is one object of the order's
pathology study (`studies.receive_item`, single object), so the first slide completes the study,
puts the order on the hub's worklist and starts its turnaround clock (a frozen section runs on
the STAT target). Opening a slide (its .dzi or metadata) is audited once; its tiles are not: one
view asks for hundreds of tiles, and the opening already records who looked at which slide."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.diagnostics import service as orders
from carebridge.diagnostics import studies
from carebridge.diagnostics.lifecycle import Party, State
from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy, Modality
from carebridge.diagnostics.pathology import intake, storage
from carebridge.diagnostics.pathology.models import PathologySlide
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.blobs import BlobStore
from carebridge.kit.i18n import N_

UPLOAD_STATES = frozenset({State.awaiting_study.value, State.ready.value})
LABEL_MAX, STAIN_MAX, BLOCK_MAX = 64, 64, 32


@dataclass(frozen=True)
class SlideDetails:
    """What the sender types about the slides of one upload (applies to each of them)."""

    label: str = ""
    stain: str = ""
    block: str = ""

    def checked(self) -> SlideDetails:
        for name, value, limit in (("label", self.label, LABEL_MAX), ("stain", self.stain, STAIN_MAX),
                                   ("block", self.block, BLOCK_MAX)):
            if len(value.strip()) > limit or not value.isprintable():
                raise InvalidInput(N_("this field is too long or holds characters that cannot be shown"),
                                   details={"field": name, "max_length": limit})
        return SlideDetails(self.label.strip(), self.stain.strip(), self.block.strip())


def limits() -> intake.Limits:
    settings = get_settings()
    return intake.Limits(max_bytes=settings.pathology_upload_max_bytes, max_side=settings.pathology_max_side_pixels,
                         micrograph_max_pixels=settings.pathology_micrograph_max_pixels)


async def order_for_upload(session: AsyncSession, principal: Principal, order_id: int) -> DiagnosisOrder:
    """The order, if the caller may add slides to it now: its sender, a pathology order, still open."""
    order, parties = await orders.load_order(session, principal, order_id)
    if Party.sender not in parties:
        raise Forbidden(N_("only the sending facility can add slides to an order"))
    if order.modality != Modality.SM:
        raise Conflict(N_("slides can only be added to a pathology order"), code="not_pathology")
    if order.state not in UPLOAD_STATES:
        raise Conflict(N_("this order no longer takes slides"), code="order_closed")
    return order


async def upload_slides(session: AsyncSession, principal: Principal, order_id: int, staging: Path,
                        parts: list[tuple[str, Path]], details: SlideDetails, blobs: BlobStore) -> list[PathologySlide]:
    """Stores every slide of one upload (files already in `staging`) or none of them."""
    order = await order_for_upload(session, principal, order_id)
    details = details.checked()
    found = await asyncio.to_thread(intake.inspect_upload, parts, staging, limits())
    await _refuse_duplicates(session, order.id, found)
    study_uid = await _study_uid(session, order)
    slides = []
    for item in found:
        # Files first, rows after: a rolled-back request leaves at most unreferenced content-addressed
        # files, never a row pointing at nothing.
        await asyncio.to_thread(storage.keep, item)
        await storage.store_blobs(blobs, item)
        study = await studies.receive_item(session, studies.Arrival(
            study_uid=study_uid, sending_facility_id=order.requesting_facility_id,
            hub_facility_id=order.hub_facility_id, modality=Modality.SM.value,
            accession_number=order.accession_number, description=details.label or item.original_name,
            size_bytes=item.size, single_object=True, order_id=order.id))
        slides.append(_row(order, study, item, details, principal.user_id))
    session.add_all(slides)
    await session.flush()
    await orders.audit_order(session, principal.actor(order.requesting_facility_id), order, "slide_upload",
                             detail={"slide_ids": [s.id for s in slides]})
    await orders.record_event(session, principal.user_id, order, Party.sender, "slides_uploaded",
                              ", ".join(s.original_name for s in slides))
    return slides


def _row(order: DiagnosisOrder, study: DiagnosticStudy, item: intake.Found, details: SlideDetails,
         user_id: int) -> PathologySlide:
    return PathologySlide(
        order_id=order.id, study_id=study.id, label=details.label, stain=details.stain, block=details.block,
        kind=item.kind.value, format=item.format[:32], original_name=item.original_name[:200],
        width=item.width, height=item.height, level_count=item.level_count, mpp_x=item.mpp_x, mpp_y=item.mpp_y,
        objective_power=item.objective_power, associated=item.associated, blob_digest=item.digest,
        files=[{"name": m.name, "digest": m.digest, "size": m.size} for m in item.members],
        size_bytes=item.size, uploaded_by_id=user_id)


async def _refuse_duplicates(session: AsyncSession, order_id: int, found: list[intake.Found]) -> None:
    digests = [f.digest for f in found]
    if len(set(digests)) != len(digests):
        raise InvalidInput(N_("the same slide is in this upload twice"), details={"field": "files"})
    already = (await session.scalars(select(PathologySlide.original_name).where(
        PathologySlide.order_id == order_id, PathologySlide.blob_digest.in_(digests)))).all()
    if already:
        raise Conflict(N_("this slide is already on the order"), code="duplicate_slide",
                       details={"file": already[0]})


async def _study_uid(session: AsyncSession, order: DiagnosisOrder) -> str:
    """All slides of an order are one study: the one already linked to it (also one that came by
    DICOM and was linked by the hub), or a new UID (PS3.5 B.2: 2.25 + a UUID). A new study for an
    order that is no longer waiting would not match it and would land in reconciliation."""
    existing = await session.scalar(select(DiagnosticStudy.study_uid).where(DiagnosticStudy.order_id == order.id)
                                    .order_by(DiagnosticStudy.id).limit(1))
    return existing or f"2.25.{uuid.uuid4().int}"


async def slides_of(session: AsyncSession, order_id: int) -> list[PathologySlide]:
    """For code that already read the order through `orders.read_order`."""
    return list((await session.scalars(select(PathologySlide).where(PathologySlide.order_id == order_id)
                                       .order_by(PathologySlide.id))).all())


async def list_slides(session: AsyncSession, principal: Principal,
                      order_id: int) -> tuple[DiagnosisOrder, frozenset, list[PathologySlide]]:
    order, parties = await orders.read_order(session, principal, order_id, action="diagnosis_slides_list")
    return order, parties, await slides_of(session, order.id)


async def slide_of_order(session: AsyncSession, principal: Principal, order_id: int, slide_id: int,
                         *, opening: bool) -> PathologySlide:
    """A slide for one of the order's parties; anyone else gets the order's 404 (audited by
    `load_order`). `opening` writes the audit row of a slide being opened; tiles pass False."""
    order, parties = await orders.load_order(session, principal, order_id)
    slide = await session.get(PathologySlide, slide_id)
    if slide is None or slide.order_id != order.id:
        raise NotFound(N_("slide not found"))
    if opening:
        facility = order.requesting_facility_id if Party.sender in parties else order.hub_facility_id
        await orders.audit_order(session, principal.actor(facility), order, "slide_open", outcome="allowed",
                                 detail={"slide_id": slide.id})
    return slide
