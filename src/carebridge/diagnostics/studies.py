"""Studies arriving for reading, of any modality, and how they find their order.

The modality adapters (the DICOM listener and STOW-RS, ECG and slide uploads) call `receive_item`
once per stored object, in the transaction that indexes it. A study matches an open order of the
sending facility by accession number, else by the sender's patient ID (the MRN the patient is
registered under there) when exactly one open order of that kind waits for that patient; otherwise
it lands in the hub's reconciliation queue, where a technician or doctor links it by hand.

A multi-object study (DICOM) is complete when nothing more has arrived for the quiet period; the
completion loop (`complete_quiet_studies`) notices it. A single-object study (an ECG, a slide) is
complete on arrival. Completing a matched study puts its order on the worklist and starts the
turnaround clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import BigInteger, Integer, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import record_denial
from carebridge.audit import service as audit
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.db import UTCDateTime
from carebridge.diagnostics import service
from carebridge.diagnostics.lifecycle import Action, Party, State
from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy, StudyKind, kind_of
from carebridge.errors import Conflict, Forbidden, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.pagination import check_limit
from carebridge.records.models import PatientRegistration

BATCH = 200


@dataclass(frozen=True)
class Arrival:
    """One stored object, as the adapter read it from the object's own header."""

    study_uid: str
    sending_facility_id: int
    hub_facility_id: int | None
    modality: str
    accession_number: str = ""
    sent_patient_key: str = ""
    sent_patient_name: str = ""
    description: str = ""
    acquired_at: dt.datetime | None = None
    size_bytes: int = 0
    single_object: bool = False
    order_id: int | None = None  # an upload made from the order's own page names it


async def receive_item(session: AsyncSession, arrival: Arrival) -> DiagnosticStudy:
    """Counts one stored object into its study, creating and matching the study on its first object.
    Two objects of a new study arriving at once on two connections both end in the same row."""
    study = await _find(session, arrival.study_uid)
    if study is None:
        study = await _create(session, arrival) or await _find(session, arrival.study_uid)
    await _bump(session, study, arrival)
    return study


async def _find(session: AsyncSession, study_uid: str) -> DiagnosticStudy | None:
    return await session.scalar(select(DiagnosticStudy).where(DiagnosticStudy.study_uid == study_uid))


async def _create(session: AsyncSession, arrival: Arrival) -> DiagnosticStudy | None:
    study = DiagnosticStudy(
        kind=kind_of(arrival.modality).value, sending_facility_id=arrival.sending_facility_id,
        hub_facility_id=arrival.hub_facility_id, sent_patient_key=arrival.sent_patient_key[:64],
        sent_patient_name=arrival.sent_patient_name[:200], accession_number=arrival.accession_number[:16],
        study_uid=arrival.study_uid, modality=arrival.modality[:8], description=arrival.description[:200],
        acquired_at=arrival.acquired_at, item_count=0, byte_count=0)
    try:
        async with session.begin_nested():
            session.add(study)
            await session.flush()
    except IntegrityError:  # another connection created it first; count into theirs
        return None
    order = await _order_for(session, arrival)
    if order is not None:
        await _attach(session, study, order)
    return study


async def _bump(session: AsyncSession, study: DiagnosticStudy, arrival: Arrival) -> None:
    now = utcnow()
    await count_item(session, study.id, arrival.size_bytes, now)
    await session.refresh(study)
    if arrival.single_object and study.completed_at is None:
        await complete_study(session, study, now)


_STUDIES = DiagnosticStudy.__table__
COUNT_ITEM = update(_STUDIES).where(_STUDIES.c.id == bindparam("study_row")).values(
    item_count=_STUDIES.c.item_count + bindparam("items", type_=Integer()),
    byte_count=_STUDIES.c.byte_count + bindparam("size", type_=BigInteger()),
    last_received_at=bindparam("now", type_=UTCDateTime())).returning(_STUDIES.c.order_id)


async def count_item(session: AsyncSession, study_id: int, size_bytes: int, now: dt.datetime | None = None,
                     items: int = 1) -> int | None:
    """One more object of a multi-object study whose first object has been received: counted (and the
    quiet period restarted) in one statement, for the DICOM listener's hot path (`items=-1` takes a
    count back). Returns the study's order, which may have been linked since the caller last looked.
    Every writer of a study's objects updates this row first: on PostgreSQL its row lock orders them,
    so their later updates of the study's series rows cannot deadlock."""
    result = await (await session.connection()).execute(COUNT_ITEM, {
        "study_row": study_id, "items": items, "size": size_bytes, "now": now or utcnow()})
    return result.scalar_one()


async def _order_for(session: AsyncSession, arrival: Arrival) -> DiagnosisOrder | None:
    open_orders = select(DiagnosisOrder).where(
        DiagnosisOrder.requesting_facility_id == arrival.sending_facility_id,
        DiagnosisOrder.state == State.awaiting_study.value)
    if arrival.order_id is not None:
        return await session.scalar(open_orders.where(DiagnosisOrder.id == arrival.order_id))
    if arrival.accession_number:
        found = await session.scalar(open_orders.where(DiagnosisOrder.accession_number == arrival.accession_number))
        if found is not None:
            return found
    if not arrival.sent_patient_key:
        return None
    patient_id = await session.scalar(select(PatientRegistration.patient_id).where(
        PatientRegistration.facility_id == arrival.sending_facility_id,
        PatientRegistration.mrn == arrival.sent_patient_key))
    if patient_id is None:
        return None
    kind = kind_of(arrival.modality)
    candidates = [o for o in (await session.scalars(open_orders.where(DiagnosisOrder.patient_id == patient_id))).all()
                  if kind_of(o.modality) == kind]
    return candidates[0] if len(candidates) == 1 else None


async def _attach(session: AsyncSession, study: DiagnosticStudy, order: DiagnosisOrder) -> None:
    # The order's hub reads it, whichever hub received it: a hub that only relayed the study must not
    # keep seeing it (C-FIND, QIDO match on the hub of an unmatched study only).
    study.order_id, study.patient_id, study.hub_facility_id = order.id, order.patient_id, order.hub_facility_id
    await session.flush()
    await service.record_event(session, None, order, Party.system, "study_arrived", study.study_uid)
    if study.kind == StudyKind.ecg.value:
        from carebridge.diagnostics.ecg import service as ecg  # ecg builds on this module
        await ecg.attach_recording(session, study, order)  # an ECG that waited for its order brings its pre-read


async def complete_study(session: AsyncSession, study: DiagnosticStudy, now: dt.datetime) -> None:
    study.completed_at = now
    await session.flush()
    if study.order_id is not None:
        await _start_clock(session, study.order_id, now)


async def _start_clock(session: AsyncSession, order_id: int, now: dt.datetime) -> None:
    order = await session.get(DiagnosisOrder, order_id)
    if order is None or order.state != State.awaiting_study.value:
        return  # a second study for an order already on the worklist adds images, not a second clock
    due = now + service.turnaround_target(order)
    await service.move(session, order, Action.complete_study, Party.system, actor_user_id=None,
                       changes={"study_complete_at": now, "due_at": due})
    from carebridge.diagnostics import assignment  # the worklist's automatic assignment builds on this
    await assignment.on_ready(session, order)


async def complete_quiet_studies(session: AsyncSession, now: dt.datetime) -> int:
    """Completes studies that have been quiet for the configured period. Claims each with a
    conditional UPDATE, so two server processes running this at once complete a study once."""
    quiet_since = now - dt.timedelta(seconds=get_settings().diagnosis_quiet_seconds)
    ids = (await session.scalars(select(DiagnosticStudy.id).where(
        DiagnosticStudy.completed_at.is_(None), DiagnosticStudy.last_received_at <= quiet_since)
        .order_by(DiagnosticStudy.last_received_at).limit(BATCH))).all()
    done = 0
    for study_id in ids:
        claimed = await session.execute(update(DiagnosticStudy).where(
            DiagnosticStudy.id == study_id, DiagnosticStudy.completed_at.is_(None),
            DiagnosticStudy.last_received_at <= quiet_since).values(completed_at=now)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        study = await session.get(DiagnosticStudy, study_id)
        await session.refresh(study)
        if study.order_id is not None:
            await _start_clock(session, study.order_id, now)
        done += 1
    return done


async def match_waiting_studies(session: AsyncSession, order: DiagnosisOrder) -> None:
    """A study that arrived before its order (same sender, same accession number) joins it now."""
    waiting = (await session.scalars(select(DiagnosticStudy).where(
        DiagnosticStudy.order_id.is_(None), DiagnosticStudy.sending_facility_id == order.requesting_facility_id,
        DiagnosticStudy.accession_number == order.accession_number))).all()
    for study in waiting:
        await _attach(session, study, order)
        if study.completed_at is not None:
            await _start_clock(session, order.id, study.completed_at)


def _may_reconcile(principal: Principal, study: DiagnosticStudy) -> bool:
    return service.is_hub_staff(principal, study.hub_facility_id)


async def unmatched_studies(session: AsyncSession, principal: Principal, hub_facility_id: int,
                            limit: int = 50) -> list[DiagnosticStudy]:
    """The reconciliation queue of one hub, oldest first; only its doctors and technicians see it."""
    limit = check_limit(limit)
    if not service.is_hub_staff(principal, hub_facility_id):
        raise Forbidden(N_("only the hub's doctors and technicians see its reconciliation queue"))
    waiting = list((await session.scalars(select(DiagnosticStudy).where(
        DiagnosticStudy.hub_facility_id == hub_facility_id, DiagnosticStudy.order_id.is_(None))
        .order_by(DiagnosticStudy.first_received_at, DiagnosticStudy.id).limit(limit))).all())
    if waiting:  # the sender's patient names and IDs: one audit row for the list as shown
        await audit.append(session, audit.Entry(
            action="diagnosis_unmatched_list", outcome="allowed", actor=principal.actor(hub_facility_id),
            resource_type="ReconciliationQueue", resource_id=hub_facility_id,
            purpose=Purpose.diagnosis.value, facility_id=hub_facility_id,
            detail={"study_ids": [s.id for s in waiting], "sent_patient_keys": [s.sent_patient_key for s in waiting]}))
    return waiting


async def link_study(session: AsyncSession, principal: Principal, study_id: int, order_id: int) -> DiagnosticStudy:
    """A technician or doctor at the hub links a study from the queue to an order of that hub, sent
    by the same facility. Linking is recorded on the order's timeline and audited."""
    study = await session.get(DiagnosticStudy, study_id)
    if study is None or not _may_reconcile(principal, study):
        record_denial(session, principal, study.patient_id if study else None, action="diagnosis_link",
                      resource_type="DiagnosticStudy", resource_id=study_id, purpose=Purpose.diagnosis.value)
        raise NotFound(N_("study not found"))
    if study.order_id is not None:
        raise Conflict(N_("this study is already linked to an order"), code="already_linked")
    order = await session.get(DiagnosisOrder, order_id)
    if (order is None or order.hub_facility_id != study.hub_facility_id
            or order.requesting_facility_id != study.sending_facility_id):
        raise NotFound(N_("no such order from this sender at this hub"))
    if order.state != State.awaiting_study.value:
        raise Conflict(N_("this order is not waiting for a study"), code="order_not_waiting")
    await _attach(session, study, order)
    study.reconciled_by_id, study.reconciled_at = principal.user_id, utcnow()
    await service.record_event(session, principal.user_id, order, Party.system, "study_linked", study.study_uid)
    await service.audit_order(session, principal.actor(order.hub_facility_id), order, "link_study",
                              detail={"study_id": study.id})
    if study.completed_at is not None:
        await _start_clock(session, order.id, study.completed_at)
    return study


async def studies_of_order(session: AsyncSession, order_id: int) -> list[DiagnosticStudy]:
    """For code that already read the order through `service.read_order`."""
    return list((await session.scalars(select(DiagnosticStudy).where(DiagnosticStudy.order_id == order_id)
                                       .order_by(DiagnosticStudy.id))).all())


