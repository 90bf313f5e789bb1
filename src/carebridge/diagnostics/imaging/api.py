"""JSON routes under /api/v1: DICOM upload for an order (or for the caller's facility), and the
facility admin's DICOM peers. A request whose every object was refused answers 422 naming the
first reason; otherwise 200 with one result per object."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from carebridge.diagnostics.imaging import peers, upload
from carebridge.diagnostics.imaging.http_objects import request_objects
from carebridge.diagnostics.imaging.parse import LABELS
from carebridge.diagnostics.imaging.schemas import PeerIn, PeerOut, UploadOut, UploadResult
from carebridge.kit.i18n import gettext as _
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["imaging"])


def _result(o: upload.Outcome) -> UploadResult:
    if o.stored is not None:
        return UploadResult(position=o.position, status="duplicate" if o.stored.duplicate else "stored",
                            sop_instance_uid=o.sop_instance_uid, study_uid=o.stored.study_uid,
                            study_id=o.stored.study_id, order_id=o.stored.order_id)
    return UploadResult(position=o.position, status="refused", sop_instance_uid=o.sop_instance_uid,
                        reason=o.refused.reason.value, message=_(LABELS[o.refused.reason]),
                        detail=o.refused.message)


def _answer(outcomes: list[upload.Outcome]) -> JSONResponse:
    results = [_result(o) for o in outcomes]
    out = UploadOut(stored=sum(r.status == "stored" for r in results),
                    duplicates=sum(r.status == "duplicate" for r in results),
                    refused=sum(r.status == "refused" for r in results), results=results)
    if out.refused and out.refused == len(results):
        first = results[0]
        return JSONResponse({"code": "invalid_dicom", "message": first.message,
                             "details": out.model_dump(mode="json")}, status_code=422)
    return JSONResponse(out.model_dump(mode="json"))


async def _upload(request: Request, db: Db, principal: CurrentPrincipal, target: upload.Target) -> JSONResponse:
    async with request_objects(request, single_allowed=True) as objects:
        outcomes = await upload.store_objects(db, request.app.state.blobs, principal, target, objects,
                                              source="upload")
    return _answer(outcomes)


@router.post("/diagnosis/orders/{order_id}/dicom")
async def upload_for_order(order_id: int, request: Request, db: Db, principal: CurrentPrincipal) -> JSONResponse:
    """DICOM objects for an order, as one `application/dicom` body or multipart/related parts."""
    return await _upload(request, db, principal, await upload.target_for_order(db, principal, order_id))


@router.post("/diagnosis/dicom")
async def upload_without_order(request: Request, db: Db, principal: CurrentPrincipal,
                               facility_id: Annotated[int | None, Query()] = None) -> JSONResponse:
    """DICOM objects matched to an order by accession or patient ID, else queued for reconciliation."""
    return await _upload(request, db, principal, await upload.target_for_sender(db, principal, facility_id))


@router.get("/facilities/{facility_id}/dicom-peers", response_model=list[PeerOut])
async def list_peers(facility_id: int, db: Db, principal: CurrentPrincipal) -> list[PeerOut]:
    return [PeerOut.model_validate(p) for p in await peers.list_peers(db, principal, facility_id)]


@router.post("/facilities/{facility_id}/dicom-peers", response_model=PeerOut, status_code=201)
async def register_peer(facility_id: int, body: PeerIn, db: Db, principal: CurrentPrincipal) -> PeerOut:
    """Register a modality or PACS by AE title; unknown AE titles are refused by the listener."""
    return PeerOut.model_validate(await peers.register_peer(db, principal, facility_id,
                                                            peers.PeerData(**body.model_dump())))


@router.put("/dicom-peers/{peer_id}", response_model=PeerOut)
async def update_peer(peer_id: int, body: PeerIn, db: Db, principal: CurrentPrincipal) -> PeerOut:
    return PeerOut.model_validate(await peers.update_peer(db, principal, peer_id, peers.PeerData(**body.model_dump())))
