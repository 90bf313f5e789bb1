"""The ECG page of an order: the upload form (with progress) for the sending site while the order
waits for its study, the viewer with the automatic pre-read once the ECG has arrived. Uses the
same services as the JSON API; the form falls back to a plain multipart post without script."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from carebridge.diagnostics.ecg import service
from carebridge.diagnostics.ecg.api import read_files, upload
from carebridge.diagnostics.ecg.ingest import FORMATS
from carebridge.diagnostics.labels import LABELS
from carebridge.diagnostics.lifecycle import Party, State
from carebridge.diagnostics.models import Modality
from carebridge.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from carebridge.kit.i18n import gettext as _
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)

FORMAT_LABELS = {"dicom": "DICOM", "aecg": "HL7 aECG", "wfdb": "WFDB", "csv": "CSV"}


async def _page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int, *,
                error: str = "", status_code: int = 200) -> Response:
    order, parties, recording = await service.read_ecg(db, principal, order_id, action="diagnosis_ecg_page")
    may_upload = (recording is None and Party.sender in parties and order.modality == Modality.ECG
                  and order.state == State.awaiting_study.value)
    return render(request, "ecg/page.html", {
        "order": order, "recording": recording, "may_upload": may_upload, "error": error,
        "formats": FORMATS, "format_labels": FORMAT_LABELS, "labels": LABELS,
        "max_mb": request.app.state.settings.upload_max_bytes // (1024 * 1024)}, status_code=status_code)


@router.get("/diagnosis/orders/{order_id}/ecg")
async def ecg_page(request: Request, db: Db, principal: CurrentPrincipal, order_id: int) -> Response:
    return await _page(request, db, principal, order_id)


@router.post("/diagnosis/orders/{order_id}/ecg")
async def ecg_upload(request: Request, db: Db, principal: CurrentPrincipal, order_id: int,
                     file: Annotated[list[UploadFile], File()],
                     format: Annotated[str, Form(max_length=8)] = "",  # noqa: A002
                     sample_rate: Annotated[str, Form(max_length=20)] = "") -> Response:
    try:
        rate = float(sample_rate) if sample_rate.strip() else None
        await upload(request, db, principal, order_id, await read_files(request, file), format, rate)
    except ValueError:
        return await _page(request, db, principal, order_id, error=_("the sampling rate must be a number in Hz"),
                           status_code=422)
    except (InvalidInput, PayloadTooLarge, UnsupportedMediaType) as exc:
        # raised while reading the file, before anything was written: the page shows why
        return await _page(request, db, principal, order_id, error=_(exc.message), status_code=exc.status_code)
    return RedirectResponse(f"/diagnosis/orders/{order_id}/ecg", status_code=303)
