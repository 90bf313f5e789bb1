"""The image viewer: the page /diagnosis/orders/{id}/images, and the two JSON reads its script starts
from (the order's studies and series; the patient's prior studies). The viewer itself is the partial
template `imaging/imaging_viewer.html` (context: `order`), which the reading page includes beside
the report form; everything else it needs it fetches from these routes and from /dicomweb."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from carebridge.diagnostics.imaging import viewing
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
api_router = make_router(prefix="/api/v1", tags=["diagnosis"])


class SeriesOut(BaseModel):
    series_uid: str
    series_number: int | None
    modality: str
    description: str
    body_part: str
    instance_count: int


class ImagingStudyOut(BaseModel):
    study_uid: str
    order_id: int | None
    modality: str
    description: str
    accession_number: str
    study_date: str
    acquired_at: dt.datetime | None
    sent_patient_name: str
    sent_patient_key: str
    series: list[SeriesOut]


class ViewerPatientOut(BaseModel):
    id: int
    name: str
    name_en: str
    sex: str
    birth_date: dt.date


class OrderImagesOut(BaseModel):
    order_id: int
    accession_number: str
    modality: str
    body_part: str
    clinical_question: str
    patient: ViewerPatientOut
    studies: list[ImagingStudyOut]


def _study_out(view: viewing.StudyView) -> ImagingStudyOut:
    return ImagingStudyOut(**{**view.__dict__, "series": [SeriesOut(**s.__dict__) for s in view.series]})


@api_router.get("/diagnosis/orders/{order_id}/images", response_model=OrderImagesOut)
async def order_images(order_id: int, db: Db, principal: CurrentPrincipal) -> OrderImagesOut:
    """The order's DICOM studies and their series, and the patient line the viewer's overlay shows."""
    found = await viewing.order_images(db, principal, order_id)
    order, patient = found.order, found.patient
    return OrderImagesOut(
        order_id=order.id, accession_number=order.accession_number, modality=order.modality,
        body_part=order.body_part, clinical_question=order.clinical_question,
        patient=ViewerPatientOut(id=patient.id, name=patient.name, name_en=patient.name_en, sex=patient.sex,
                                 birth_date=patient.birth_date),
        studies=[_study_out(s) for s in found.studies])


@api_router.get("/diagnosis/orders/{order_id}/priors", response_model=list[ImagingStudyOut])
async def order_priors(order_id: int, db: Db, principal: CurrentPrincipal) -> list[ImagingStudyOut]:
    """Earlier imaging studies of the same patient that the caller may see, newest first (at most 20)."""
    return [_study_out(s) for s in await viewing.priors(db, principal, order_id)]


@router.get("/diagnosis/orders/{order_id}/images")
async def viewer_page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    found = await viewing.order_images(db, principal, order_id)
    return render(request, "imaging/viewer_page.html", {"order": found.order, "patient": found.patient,
                                                        "studies": found.studies})
