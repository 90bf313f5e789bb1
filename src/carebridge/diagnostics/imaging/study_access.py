"""Who may see which DICOM study, as one SQL clause (for QIDO) and as a check on one study (WADO),
and the audit rows that record each look.

A study is visible to the parties of its order, exactly as `diagnostics.service.load_order` decides:
clinicians and technicians of the sending facility, and doctors and technicians of the reading hub.
A study that matched no order is visible to the doctors and technicians of the hub whose queue it
waits in (they reconcile it). Nobody else sees anything: QIDO leaves the study out, WADO answers
404, and the refusal is audited like any other.

Auditing: every search and every retrieval of instances or metadata is one audit row per request
(per patient for a search). Frames, rendered images, thumbnails and bulk data are audited once per
person per series per `PIXEL_AUDIT_SECONDS`: a viewer scrolling a 300-slice series or playing a cine
loop fetches hundreds of frames a minute, and one row per frame would bury the trail in noise
without telling anyone more than "this person looked at this series then"."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from carebridge.access.models import Purpose
from carebridge.access.service import record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.diagnostics import service
from carebridge.diagnostics.lifecycle import Party
from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy
from carebridge.errors import NotFound
from carebridge.kit import events
from carebridge.kit.i18n import N_

PIXEL_AUDIT_SECONDS = 15 * 60
_PIXEL_AUDIT_MAX_KEYS = 50_000
HUB_STAFF = (Role.doctor, Role.technician)


def visible_studies_clause(principal: Principal) -> ColumnElement[bool]:
    """The studies `principal` may see, as a WHERE clause on DiagnosticStudy."""
    senders = principal.facilities_with(*service.SENDER_ROLES)
    hubs = principal.facilities_with(*HUB_STAFF)
    if not senders and not hubs:
        return false()
    order_parties = []
    if senders:
        order_parties.append(DiagnosisOrder.requesting_facility_id.in_(senders))
    if hubs:
        order_parties.append(DiagnosisOrder.hub_facility_id.in_(hubs))
    matched = DiagnosticStudy.order_id.in_(select(DiagnosisOrder.id).where(or_(*order_parties)))
    if not hubs:
        return matched
    return or_(matched, and_(DiagnosticStudy.order_id.is_(None), DiagnosticStudy.hub_facility_id.in_(hubs)))


@dataclass(frozen=True)
class StudyAccess:
    study: DiagnosticStudy
    order: DiagnosisOrder | None
    facility_id: int | None  # the facility the caller acts for (for the audit row)


async def access_study(session: AsyncSession, principal: Principal, study: DiagnosticStudy | None,
                       requested: str) -> StudyAccess:
    """Authorises one study; missing and forbidden are the same 404 (audited as a denial)."""
    if study is not None and study.order_id is not None:
        try:
            order, parties = await service.load_order(session, principal, study.order_id)
        except NotFound:
            raise NotFound(N_("no such study"), details={"uid": requested}) from None
        facility = order.requesting_facility_id if Party.sender in parties else order.hub_facility_id
        return StudyAccess(study, order, facility)
    if study is not None and service.is_hub_staff(principal, study.hub_facility_id):
        return StudyAccess(study, None, study.hub_facility_id)
    record_denial(session, principal, study.patient_id if study else None, action="diagnosis_image_read",
                  resource_type="DiagnosticStudy", resource_id=study.id if study else requested,
                  purpose=Purpose.diagnosis.value)
    raise NotFound(N_("no such study"), details={"uid": requested})


async def audit_read(session: AsyncSession, principal: Principal, access: StudyAccess, what: str,
                     detail: dict | None = None) -> None:
    """One row saying this person looked at this study's images (`what`: instances, metadata, ...)."""
    detail = {"study_uid": access.study.study_uid, **(detail or {})}
    actor = principal.actor(access.facility_id)
    if access.order is not None:
        await service.audit_order(session, actor, access.order, f"image_{what}", outcome="allowed", detail=detail)
        return
    await audit.append(session, audit.Entry(
        action=f"diagnosis_image_{what}", outcome="allowed", actor=actor, patient_id=access.study.patient_id,
        resource_type="DiagnosticStudy", resource_id=access.study.id, purpose=Purpose.diagnosis.value,
        facility_id=access.facility_id, detail=detail))


_pixel_audited: dict[tuple[int, str], float] = {}


async def audit_pixels(session: AsyncSession, principal: Principal, access: StudyAccess, series_uid: str) -> None:
    """Frames and rendered images: one row per person per series per PIXEL_AUDIT_SECONDS, remembered in
    this process (each server process writes its own first row: more rows, never fewer)."""
    key, now = (principal.user_id, series_uid), time.monotonic()
    last = _pixel_audited.get(key)
    if last is not None and now - last < PIXEL_AUDIT_SECONDS:
        return
    if len(_pixel_audited) >= _PIXEL_AUDIT_MAX_KEYS:
        _pixel_audited.clear()
    await audit_read(session, principal, access, "pixels", {"series_uid": series_uid})

    async def remember() -> None:  # only once the row is saved
        _pixel_audited[key] = now

    events.after_commit(session, remember)


def forget_pixel_audits() -> None:
    """For tests that count audit rows from a clean slate."""
    _pixel_audited.clear()
