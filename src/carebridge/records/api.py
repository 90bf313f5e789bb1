"""JSON routes for records under /api/v1: parse, call the records service, return a schema.

Every route reaches patient data only through the service, which goes through the access layer;
missing and forbidden are the same 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel

from carebridge.records import codes, fhir_shapes, service
from carebridge.records.documents import clean_filename, file_headers
from carebridge.records.schemas import (
    AllergyIn,
    ConditionIn,
    EncounterIn,
    EntryOut,
    EntryPage,
    MedicationIn,
    MergeIn,
    NotDuplicateIn,
    ObservationIn,
    PatientIn,
    PatientOut,
    PatientPage,
    PatientUpdate,
    ProcedureIn,
    RegistrationIn,
    RegistrationOut,
    Series,
    SeriesPoint,
    VoidIn,
)
from carebridge.records.views import entries_out, facility_names
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router


class ErrorOut(BaseModel):
    code: str
    message: str
    details: Any = None


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 413, 415, 422)
}
router = make_router(prefix="/api/v1", tags=["records"], responses=ERRORS)


class LinkOut(BaseModel):
    id: int
    patient_id: int
    other_patient_id: int
    kind: str
    reason: str


class EntryWithFhir(EntryOut):
    fhir: dict[str, Any]


# ---- patients -------------------------------------------------------------------------------

@router.get("/patients", response_model=PatientPage, summary="Search patients")
async def search_patients(db: Db, principal: CurrentPrincipal,
                          q: Annotated[str, Query(max_length=100, description="name prefix, phone, ID or MRN")],
                          cursor: str | None = None,
                          limit: Annotated[int, Query(ge=1, le=200)] = 20) -> PatientPage:
    page = await service.search_patients(db, principal, q, limit=limit, cursor=cursor)
    return PatientPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/patients", response_model=PatientOut, status_code=201, summary="Register a patient")
async def register_patient(db: Db, principal: CurrentPrincipal, body: PatientIn) -> PatientOut:
    patient = await service.register_patient(db, principal, body)
    return await service.get_patient(db, principal, patient.id)


@router.get("/patients/{patient_id}", response_model=PatientOut)
async def get_patient(db: Db, principal: CurrentPrincipal, patient_id: int) -> PatientOut:
    return await service.get_patient(db, principal, patient_id)


@router.patch("/patients/{patient_id}", response_model=PatientOut, summary="Correct demographics")
async def update_patient(db: Db, principal: CurrentPrincipal, patient_id: int, body: PatientUpdate) -> PatientOut:
    patient = await service.update_patient(db, principal, patient_id, body)
    return await service.get_patient(db, principal, patient.id)


@router.post("/patients/{patient_id}/registrations", response_model=RegistrationOut, status_code=201,
             summary="Register a known patient at one of your facilities")
async def register_at_facility(db: Db, principal: CurrentPrincipal, patient_id: int,
                               body: RegistrationIn) -> RegistrationOut:
    registration = await service.register_at_facility(db, principal, patient_id, body)
    names = await facility_names(db, [registration.facility_id])
    return RegistrationOut(facility_id=registration.facility_id, facility_name=names.get(registration.facility_id, ""),
                           mrn=registration.mrn, registered_at=registration.registered_at)


@router.post("/patients/{patient_id}/merge", response_model=PatientOut,
             summary="Merge a duplicate record into this one")
async def merge_patients(db: Db, principal: CurrentPrincipal, patient_id: int, body: MergeIn) -> PatientOut:
    patient = await service.merge_patients(db, principal, patient_id, body)
    return await service.get_patient(db, principal, patient.id)


@router.post("/patients/{patient_id}/not-duplicate", response_model=LinkOut,
             summary="Record that two look-alike records are different people")
async def mark_not_duplicate(db: Db, principal: CurrentPrincipal, patient_id: int, body: NotDuplicateIn) -> LinkOut:
    link = await service.mark_not_duplicate(db, principal, patient_id, body)
    return LinkOut(id=link.id, patient_id=link.patient_id, other_patient_id=link.other_patient_id,
                   kind=link.kind, reason=link.reason)


# ---- the record -----------------------------------------------------------------------------

@router.get("/patients/{patient_id}/timeline", response_model=EntryPage, summary="The record, newest first")
async def timeline(db: Db, principal: CurrentPrincipal, patient_id: int,
                   kind: Annotated[list[str] | None, Query()] = None, facility_id: int | None = None,
                   cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> EntryPage:
    page = await service.timeline(db, principal, patient_id, kinds=kind, facility_id=facility_id,
                                  limit=limit, cursor=cursor)
    return EntryPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/patients/{patient_id}/observations/series", response_model=Series,
            summary="One observation over time, for trend charts")
async def observation_series(db: Db, principal: CurrentPrincipal, patient_id: int,
                             code: Annotated[str, Query(max_length=10, description="LOINC code")]) -> Series:
    points = await service.observation_series(db, principal, patient_id, code)
    known = codes.OBSERVATIONS.get(code)
    return Series(code=code, display=known.name_en if known else code, unit=known.unit if known else "",
                  ref_low=known.ref_low if known else None, ref_high=known.ref_high if known else None,
                  points=[SeriesPoint(at=at, value=value) for at, value in points])


async def _created(db: Db, entry) -> EntryOut:  # noqa: ANN001 - any RecordEntry
    return (await entries_out(db, [entry]))[0]


@router.post("/patients/{patient_id}/observations", response_model=EntryOut, status_code=201)
async def add_observation(db: Db, principal: CurrentPrincipal, patient_id: int, body: ObservationIn) -> EntryOut:
    return await _created(db, await service.add_observation(db, principal, patient_id, body))


@router.post("/patients/{patient_id}/conditions", response_model=EntryOut, status_code=201)
async def add_condition(db: Db, principal: CurrentPrincipal, patient_id: int, body: ConditionIn) -> EntryOut:
    return await _created(db, await service.add_condition(db, principal, patient_id, body))


@router.post("/patients/{patient_id}/encounters", response_model=EntryOut, status_code=201)
async def add_encounter(db: Db, principal: CurrentPrincipal, patient_id: int, body: EncounterIn) -> EntryOut:
    return await _created(db, await service.add_encounter(db, principal, patient_id, body))


@router.post("/patients/{patient_id}/medications", response_model=EntryOut, status_code=201)
async def add_medication(db: Db, principal: CurrentPrincipal, patient_id: int, body: MedicationIn) -> EntryOut:
    return await _created(db, await service.add_medication(db, principal, patient_id, body))


@router.post("/patients/{patient_id}/allergies", response_model=EntryOut, status_code=201)
async def add_allergy(db: Db, principal: CurrentPrincipal, patient_id: int, body: AllergyIn) -> EntryOut:
    return await _created(db, await service.add_allergy(db, principal, patient_id, body))


@router.post("/patients/{patient_id}/procedures", response_model=EntryOut, status_code=201)
async def add_procedure(db: Db, principal: CurrentPrincipal, patient_id: int, body: ProcedureIn) -> EntryOut:
    return await _created(db, await service.add_procedure(db, principal, patient_id, body))


@router.post("/patients/{patient_id}/documents", response_model=EntryOut, status_code=201,
             summary="Upload a PDF, JPEG, PNG or DICOM file")
async def upload_document(request: Request, db: Db, principal: CurrentPrincipal, patient_id: int,
                          file: Annotated[UploadFile, File()], title: Annotated[str, Form(max_length=200)] = "",
                          occurred_at: Annotated[AwareDatetime | None, Form()] = None) -> EntryOut:
    max_bytes = request.app.state.settings.upload_max_bytes
    data = await file.read(max_bytes + 1)  # one byte over is enough to know it is too big
    document = await service.add_document(
        db, principal, patient_id, blobs=request.app.state.blobs, data=data, filename=file.filename or "",
        declared_type=file.content_type or "", title=title, occurred_at=occurred_at, max_bytes=max_bytes)
    return await _created(db, document)


@router.get("/documents/{document_id}/content", summary="The document's file (inline, or as a download)",
            response_class=Response, responses={200: {"content": {"application/pdf": {}, "image/png": {}}}})
async def document_content(request: Request, db: Db, principal: CurrentPrincipal, document_id: int,
                           download: bool = False) -> Response:
    document, _ = await service.open_document(db, principal, document_id, download=download)
    data = await request.app.state.blobs.get(document.blob_digest)
    return Response(data, media_type=document.media_type, headers=document_headers(document, download=download))


def document_headers(document, *, download: bool) -> dict[str, str]:  # noqa: ANN001 - a Document
    return file_headers(document.filename or clean_filename("", document.media_type), document.media_type,
                        download=download)


@router.get("/entries/{entry_id}", response_model=EntryWithFhir, summary="One entry, with its FHIR R4 shape")
async def get_entry(db: Db, principal: CurrentPrincipal, entry_id: int) -> EntryWithFhir:
    entry = await service.get_entry(db, principal, entry_id)
    out = await _created(db, entry)
    fhir = fhir_shapes.to_fhir(entry, facility_name=out.provenance.facility_name,
                               author_name=out.provenance.author_name)
    return EntryWithFhir(**out.model_dump(), fhir=fhir)


@router.post("/entries/{entry_id}/void", response_model=EntryOut, summary="Void an entry (never deleted)")
async def void_entry(db: Db, principal: CurrentPrincipal, entry_id: int, body: VoidIn) -> EntryOut:
    return await _created(db, await service.void_entry(db, principal, entry_id, body.reason))
