"""The visit itself, by the nurse who accepted it: on the way, check-in and check-out (the browser's
position and the server's clock), the visit record and photos. Check-in farther from the patient's
pin than `nursing_checkin_radius_m` needs a reason. At check-out the record goes into the patient's
health record: vital signs as observations, the service as a procedure; photos are documents
from the moment they are uploaded."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.blobs import BlobStore
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.home_nursing import notices
from carebridge.portal.home_nursing.assessment import assessment_of
from carebridge.portal.home_nursing.geo import haversine_m
from carebridge.portal.home_nursing.lifecycle import Action, Party, State
from carebridge.portal.home_nursing.models import NursingOrder, NursingPhoto, NursingVisitRecord
from carebridge.portal.home_nursing.nurses import check_position, my_profile
from carebridge.portal.home_nursing.service import OrderAccess, Where, access_order, add_event, audit_order, move
from carebridge.portal.home_nursing.vitals import VITALS, beyond_limits, check_vitals
from carebridge.records.documents import add_document
from carebridge.records.entries import add_observation, add_procedure
from carebridge.records.schemas import ObservationIn, ProcedureIn

MAX_PROCEDURES, PROCEDURE_MAX = 20, 100
NOTES_MAX = 4000


@dataclass(frozen=True)
class Position:
    latitude: float
    longitude: float
    accuracy_m: float | None = None


@dataclass(frozen=True)
class RecordInput:
    procedures: list[str] = field(default_factory=list)
    vitals: dict = field(default_factory=dict)
    notes: str = ""


async def _as_nurse(session: AsyncSession, principal: Principal, order_id: int, action: str) -> OrderAccess:
    seen = await access_order(session, principal, order_id, action=action, for_update=True)
    if Party.nurse not in seen.parties:
        raise Forbidden(N_("only the nurse who accepted this visit can do this"), code="not_your_visit")
    return seen


async def _where(session: AsyncSession, principal: Principal, order: NursingOrder, at: Position) -> Where:
    check_position(at.latitude, at.longitude)
    profile = await my_profile(session, principal)
    profile.current_latitude, profile.current_longitude, profile.position_at = at.latitude, at.longitude, utcnow()
    distance = round(haversine_m(at.latitude, at.longitude, order.latitude, order.longitude))
    return Where(at.latitude, at.longitude, distance)


async def depart(session: AsyncSession, principal: Principal, order_id: int) -> NursingOrder:
    seen = await _as_nurse(session, principal, order_id, "depart")
    await move(session, principal, seen.order, Action.depart, seen.parties)
    await notices.tell(session, await notices.patient_users(session, seen.order), order=seen.order,
                       title=N_("Your nurse is on the way: %(service)s"), link=notices.patient_link(order_id))
    return seen.order


async def check_in(session: AsyncSession, principal: Principal, order_id: int, at: Position,
                   reason: str = "") -> NursingOrder:
    seen = await _as_nurse(session, principal, order_id, "check_in")
    order = seen.order
    where = await _where(session, principal, order, at)
    radius = get_settings().nursing_checkin_radius_m
    reason = reason.strip()
    if where.distance_m > radius and len(reason) < 3:
        raise InvalidInput(_("you are %(distance)s m from the patient's address (more than %(radius)s m); "
                              "give a reason to check in here") % {"distance": where.distance_m, "radius": radius},
                           code="too_far", details={"distance_m": where.distance_m, "radius_m": radius})
    await move(session, principal, order, Action.check_in, seen.parties, note=reason, where=where,
               extra={"checked_in_at": utcnow()})
    await notices.tell(session, await notices.patient_users(session, order), order=order,
                       title=N_("Your nurse has arrived: %(service)s"), link=notices.patient_link(order_id))
    return order


async def record_of(session: AsyncSession, order_id: int) -> NursingVisitRecord | None:
    return await session.scalar(select(NursingVisitRecord).where(NursingVisitRecord.order_id == order_id))


def _check_record(data: RecordInput) -> tuple[list[str], dict[str, float], str]:
    procedures = [p.strip() for p in data.procedures if p and p.strip()]
    if len(procedures) > MAX_PROCEDURES or any(len(p) > PROCEDURE_MAX for p in procedures):
        raise InvalidInput(N_("at most 20 procedures of 100 characters each"), details={"field": "procedures"})
    if len(data.notes) > NOTES_MAX:
        raise InvalidInput(N_("the notes are too long (at most 4000 characters)"), details={"field": "notes"})
    return list(dict.fromkeys(procedures)), check_vitals(data.vitals), data.notes.strip()


async def save_record(session: AsyncSession, principal: Principal, order_id: int,
                      data: RecordInput) -> NursingVisitRecord:
    seen = await _as_nurse(session, principal, order_id, "record")
    if seen.order.state != State.checked_in:
        raise Conflict(N_("the visit record is written between check-in and check-out"), code="not_checked_in")
    procedures, vitals, notes = _check_record(data)
    assessment = await assessment_of(session, order_id)
    record = await record_of(session, order_id)
    if record is None:
        record = NursingVisitRecord(order_id=order_id, nurse_user_id=principal.user_id)
        session.add(record)
    record.procedures, record.vitals, record.notes = procedures, vitals, notes
    record.flags = beyond_limits(vitals, assessment.thresholds if assessment else {})
    record.updated_at = utcnow()
    await session.flush()
    await audit_order(session, principal, seen.order, "record", flags=record.flags)
    return record


async def add_photo(session: AsyncSession, principal: Principal, order_id: int, *, blobs: BlobStore, data: bytes,
                    filename: str, content_type: str, max_bytes: int) -> NursingPhoto:
    seen = await _as_nurse(session, principal, order_id, "photo")
    order = seen.order
    if order.state != State.checked_in:
        raise Conflict(N_("photos are taken between check-in and check-out"), code="not_checked_in")
    document = await add_document(session, principal, order.patient_id, blobs=blobs, data=data, filename=filename,
                                  declared_type=content_type, title=f"{order.service_name} · 上门护理照片",
                                  max_bytes=max_bytes)
    photo = NursingPhoto(order_id=order.id, document_id=document.id, uploaded_by_id=principal.user_id)
    session.add(photo)
    await session.flush()
    await add_event(session, principal, order, "photo", Party.nurse)
    return photo


async def photos_of(session: AsyncSession, order_id: int) -> list[NursingPhoto]:
    return list((await session.scalars(select(NursingPhoto).where(NursingPhoto.order_id == order_id)
                                       .order_by(NursingPhoto.id))).all())


async def _file_into_record(session: AsyncSession, principal: Principal, order: NursingOrder,
                            record: NursingVisitRecord) -> list[int]:
    ids = []
    for key, value in sorted(record.vitals.items()):
        vital = VITALS[key]
        observation = await add_observation(session, principal, order.patient_id, ObservationIn(
            code=vital.loinc, value=value, unit=vital.unit))
        ids.append(observation.id)
    outcome = "；".join(record.procedures)[:200]
    procedure = await add_procedure(session, principal, order.patient_id, ProcedureIn(
        display=f"上门护理：{order.service_name}"[:300], code=order.service_code, code_system="carebridge-home-nursing",
        outcome=outcome))
    return [*ids, procedure.id]


async def check_out(session: AsyncSession, principal: Principal, order_id: int, at: Position) -> NursingOrder:
    seen = await _as_nurse(session, principal, order_id, "check_out")
    order = seen.order
    record = await record_of(session, order.id)
    if order.state == State.checked_in and (record is None or not record.procedures):
        raise Conflict(N_("write the visit record (at least one procedure) before checking out"), code="no_record")
    where = await _where(session, principal, order, at)
    await move(session, principal, order, Action.check_out, seen.parties, where=where,
               extra={"checked_out_at": utcnow()})
    record.filed_entry_ids = await _file_into_record(session, principal, order, record)
    await session.flush()
    await notices.tell(session, await notices.patient_users(session, order), order=order,
                       title=N_("Your home visit is finished: %(service)s"),
                       body=N_("Tell us how it went: rate the visit."), link=notices.patient_link(order_id))
    if record.flags:
        await notices.tell(session, await notices.coordinators(session, order.facility_id), order=order,
                           title=N_("Vital signs beyond the limits at a home visit: %(service)s"),
                           link=notices.staff_link(order_id))
    return order
