"""JSON routes for ECG recordings under /api/v1/diagnosis/orders/{order_id}/ecg."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from carebridge.diagnostics.ecg import service
from carebridge.diagnostics.ecg.read_wfdb import NamedFile
from carebridge.diagnostics.ecg.schemas import EcgOut, SignalOut
from carebridge.errors import NotFound, PayloadTooLarge
from carebridge.kit.i18n import N_
from carebridge.records.documents import disposition
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["diagnosis"])


async def read_files(request: Request, files: list[UploadFile]) -> list[NamedFile]:
    """The uploaded parts, refusing (413) more than the upload limit in total without reading it all."""
    limit = request.app.state.settings.upload_max_bytes
    out, total = [], 0
    for upload in files:
        data = await upload.read(limit - total + 1)
        total += len(data)
        if total > limit:
            raise PayloadTooLarge(N_("the file is larger than the upload limit"), details={"max_bytes": limit})
        out.append(NamedFile(upload.filename or "", data))
    return out


async def upload(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                 files: list[NamedFile], fmt: str, sample_rate: float | None):  # noqa: ANN201 - EcgRecording
    settings = request.app.state.settings
    return await service.upload_ecg(
        db, principal, order_id, service.UploadRequest(files=files, declared_format=fmt, sample_rate=sample_rate),
        blobs=request.app.state.blobs, max_bytes=settings.upload_max_bytes, max_seconds=settings.ecg_max_seconds)


@router.post("/diagnosis/orders/{order_id}/ecg", response_model=EcgOut, status_code=201,
             summary="Upload the ECG of an ECG order (DICOM waveform, HL7 aECG, WFDB files or a zip, CSV)")
async def upload_ecg(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                     file: Annotated[list[UploadFile], File(description="the file; a WFDB record's .hea and "
                                                                       ".dat/.mat as several `file` parts or a zip")],
                     format: Annotated[str, Form(max_length=8, description="dicom, aecg, wfdb or csv; "  # noqa: A002
                                                                           "empty: recognised from the bytes")] = "",
                     sample_rate: Annotated[float | None, Form(gt=0, description="Hz, for CSV")] = None) -> EcgOut:
    """By a doctor, nurse or technician of the sending facility while the order waits for its study.
    The order goes onto the hub's worklist at once, with its automatic pre-read."""
    recording = await upload(request, db, principal, order_id, await read_files(request, file), format, sample_rate)
    return EcgOut.model_validate(recording)


@router.get("/diagnosis/orders/{order_id}/ecg", response_model=EcgOut,
            summary="The order's ECG: metadata and the automatic pre-read")
async def get_ecg(db: Db, principal: CurrentPrincipal, order_id: int) -> EcgOut:
    _order, _parties, recording = await service.read_ecg(db, principal, order_id)
    if recording is None:
        raise NotFound(N_("no ECG has arrived for this order yet"))
    return EcgOut.model_validate(recording)


@router.get("/diagnosis/orders/{order_id}/ecg/signal", response_model=SignalOut,
            summary="A window of the signal for the viewer, in microvolts")
async def get_signal(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                     start: Annotated[float, Query(ge=0, description="seconds from the start")] = 0.0,
                     seconds: Annotated[float, Query(gt=0, le=60)] = 10.0,
                     rate: Annotated[float, Query(ge=50, le=1000, description="at most this many samples/s")] = 500.0,
                     ) -> SignalOut:
    window = await service.ecg_signal(db, principal, order_id, blobs=request.app.state.blobs, start_s=start,
                                      seconds=seconds, rate=rate)
    micro = np.rint(window.samples.astype(np.float64) * 1000).astype(np.int64)
    return SignalOut(leads=window.leads, sample_rate=window.sample_rate, start_s=window.start_s,
                     duration_s=micro.shape[0] / window.sample_rate, data=micro.T.tolist())


@router.get("/diagnosis/orders/{order_id}/ecg/original", summary="The file as it was uploaded",
            response_class=Response)
async def get_original(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    recording, data = await service.original_file(db, principal, order_id, request.app.state.blobs)
    name = recording.original_name or f"ecg-{order_id}"
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": disposition(name, "application/octet-stream", download=True),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
