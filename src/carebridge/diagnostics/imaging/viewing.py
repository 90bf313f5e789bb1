"""What the viewer opens for an order: its DICOM studies with their series, the patient line of the
overlay, and the prior studies of the same patient the caller may see (for side-by-side comparison).

Both reads go through `diagnostics.service.read_order`, which authorises and audits the look at the
order; the pixels themselves then come from /dicomweb, authorised and audited per study there."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.diagnostics import service
from carebridge.diagnostics.imaging.models import DicomSeries, DicomStudy
from carebridge.diagnostics.imaging.study_access import visible_studies_clause
from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy
from carebridge.records.models import Patient

MAX_PRIORS = 20


@dataclass
class SeriesView:
    series_uid: str
    series_number: int | None
    modality: str
    description: str
    body_part: str
    instance_count: int


@dataclass
class StudyView:
    study_uid: str
    order_id: int | None
    modality: str
    description: str
    accession_number: str
    study_date: str
    acquired_at: dt.datetime | None
    sent_patient_name: str
    sent_patient_key: str
    series: list[SeriesView] = field(default_factory=list)


@dataclass
class OrderImages:
    order: DiagnosisOrder
    patient: Patient
    studies: list[StudyView]


def _taken_at(study: DiagnosticStudy) -> dt.datetime:
    """When the images were made; the arrival time when the sender's equipment did not say."""
    return study.acquired_at or study.first_received_at


TAKEN_AT = func.coalesce(DiagnosticStudy.acquired_at, DiagnosticStudy.first_received_at)


async def _views(session: AsyncSession, rows: list[tuple[DiagnosticStudy, DicomStudy]]) -> list[StudyView]:
    ids = [study.id for study, _ in rows]
    series = (await session.scalars(select(DicomSeries).where(DicomSeries.study_id.in_(ids))
                                    .order_by(DicomSeries.series_number.asc().nulls_last(), DicomSeries.id))).all() \
        if ids else []
    by_study: dict[int, list[SeriesView]] = {}
    for s in series:
        by_study.setdefault(s.study_id, []).append(SeriesView(s.series_uid, s.series_number, s.modality,
                                                              s.description, s.body_part, s.instance_count))
    return [StudyView(study.study_uid, study.order_id, study.modality, study.description, study.accession_number,
                      extra.study_date, study.acquired_at, study.sent_patient_name, study.sent_patient_key,
                      by_study.get(study.id, [])) for study, extra in rows]


def _imaging() -> Select:
    return select(DiagnosticStudy, DicomStudy).join(DicomStudy, DicomStudy.study_id == DiagnosticStudy.id)


async def order_images(session: AsyncSession, principal: Principal, order_id: int) -> OrderImages:
    order, _parties = await service.read_order(session, principal, order_id, action="diagnosis_images")
    rows = (await session.execute(_imaging().where(DiagnosticStudy.order_id == order.id)
                                  .order_by(DiagnosticStudy.id))).all()
    patient = await session.get(Patient, order.patient_id)
    return OrderImages(order, patient, await _views(session, [tuple(r) for r in rows]))


async def priors(session: AsyncSession, principal: Principal, order_id: int) -> list[StudyView]:
    """Earlier imaging studies of the order's patient that the caller may see, newest first."""
    order, _parties = await service.read_order(session, principal, order_id, action="diagnosis_priors")
    own = (await session.scalars(select(DiagnosticStudy).where(DiagnosticStudy.order_id == order.id))).all()
    before = max((_taken_at(s) for s in own), default=order.created_at)
    rows = (await session.execute(
        _imaging().where(DiagnosticStudy.patient_id == order.patient_id, TAKEN_AT < before,
                         DiagnosticStudy.id.not_in([s.id for s in own] or [0]),
                         visible_studies_clause(principal))
        .order_by(TAKEN_AT.desc(), DiagnosticStudy.id.desc()).limit(MAX_PRIORS))).all()
    return await _views(session, [tuple(r) for r in rows])
