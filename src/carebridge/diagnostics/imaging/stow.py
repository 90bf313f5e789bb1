"""STOW-RS (PS3.18 10.5): POST /dicomweb/studies[/{study}] with multipart/related DICOM parts,
authenticated by an API token (Bearer) or a signed-in session (with its CSRF header). Each part
is stored or refused on its own; the DICOM JSON answer lists them in Referenced SOP Sequence
(0008,1199) and Failed SOP Sequence (0008,1198) with a Failure Reason (0008,1197). 200 when all
were stored, 202 when some were, 409 when none (PS3.18 10.5.3.1). The transaction commits before
the answer leaves, so what the answer calls stored is stored and indexed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from carebridge.diagnostics.imaging import upload
from carebridge.diagnostics.imaging.http_objects import request_objects
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/dicomweb", tags=["dicomweb"])
DICOM_JSON = "application/dicom+json"


def _ui(value: str) -> dict:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


def stow_answer(outcomes: list[upload.Outcome], base_url: str) -> tuple[int, dict]:
    stored = [o for o in outcomes if o.stored is not None]
    failed = [o for o in outcomes if o.refused is not None]
    body: dict = {}
    studies = {o.stored.study_uid for o in stored}
    if len(studies) == 1:
        body["00081190"] = {"vr": "UR", "Value": [f"{base_url}dicomweb/studies/{studies.pop()}"]}
    if stored:
        body["00081199"] = {"vr": "SQ", "Value": [{
            "00081150": _ui(o.sop_class_uid), "00081155": _ui(o.sop_instance_uid),
            "00081190": {"vr": "UR", "Value": [f"{base_url}dicomweb/studies/{o.stored.study_uid}/series/"
                                               f"{o.stored.series_uid}/instances/{o.sop_instance_uid}"]},
        } for o in stored]}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": [{
            "00081150": _ui(o.sop_class_uid), "00081155": _ui(o.sop_instance_uid),
            "00081197": {"vr": "US", "Value": [o.refused.stow_failure_reason]},
        } for o in failed]}
    return (200 if not failed else 202 if stored else 409), body


async def _stow(request: Request, db: Db, principal: CurrentPrincipal, facility_id: int | None,
                study_uid: str | None) -> JSONResponse:
    target = await upload.target_for_sender(db, principal, facility_id)
    async with request_objects(request, single_allowed=False) as parts:
        outcomes = await upload.store_objects(db, request.app.state.blobs, principal, target, parts, source="stow",
                                              expected_study_uid=study_uid)
    status, body = stow_answer(outcomes, str(request.base_url))
    return JSONResponse(body, status_code=status, media_type=DICOM_JSON)


@router.post("/studies")
async def store_instances(request: Request, db: Db, principal: CurrentPrincipal,
                          facility_id: Annotated[int | None, Query()] = None) -> JSONResponse:
    """Store Instances (STOW-RS). `facility_id` names the sending facility for someone who works at several."""
    return await _stow(request, db, principal, facility_id, None)


@router.post("/studies/{study_uid}")
async def store_study_instances(study_uid: str, request: Request, db: Db, principal: CurrentPrincipal,
                                facility_id: Annotated[int | None, Query()] = None) -> JSONResponse:
    """Store Instances into one study: an instance of another study is refused (0xA900)."""
    return await _stow(request, db, principal, facility_id, study_uid)
