"""JSON and Deep Zoom routes for pathology slides under /api/v1.

Upload and listing run in the usual one transaction per request. The image routes (.dzi, tiles,
thumbnail, label/macro) authorise in a short transaction of their own and render after it has
ended: on SQLite every transaction holds the write lock (db.py), and a tile rendered inside one
would queue every writer in the process behind OpenSlide."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from carebridge.db import unit_of_work
from carebridge.diagnostics.pathology import intake, service, storage, tiles
from carebridge.diagnostics.pathology.models import PathologySlide
from carebridge.diagnostics.pathology.schemas import SlideOut
from carebridge.errors import NotFound
from carebridge.kit.i18n import N_
from carebridge.web.deps import CurrentPrincipal, Db, require_principal
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["pathology"])
media = APIRouter(prefix="/api/v1", tags=["pathology"])
SLIDE = "/diagnosis/orders/{order_id}/slides/{slide_id:int}"
IMMUTABLE = "private, max-age=31536000, immutable"


def _spool(uploads: list[UploadFile], staging: Path) -> list[tuple[str, Path]]:
    """The request's files, copied into the upload's staging folder (blocking; run in a thread)."""
    parts = []
    for i, upload in enumerate(uploads):
        name = intake.safe_name(upload.filename or "")
        dest = staging / f"part-{i:04d}"
        upload.file.seek(0)
        with dest.open("wb") as out:
            shutil.copyfileobj(upload.file, out, intake.CHUNK)
        parts.append((name, dest))
    return parts


@router.post("/diagnosis/orders/{order_id}/slides", response_model=list[SlideOut], status_code=201)
async def upload_slides(order_id: int, request: Request, db: Db, principal: CurrentPrincipal,
                        files: Annotated[list[UploadFile], File()],
                        label: Annotated[str, Form(max_length=200)] = "",
                        stain: Annotated[str, Form(max_length=200)] = "",
                        block: Annotated[str, Form(max_length=200)] = "") -> list[SlideOut]:
    """Whole-slide images (Aperio SVS, pyramidal TIFF and the other formats OpenSlide reads), a DICOM
    WSI series (its .dcm files together, or one zip), or micrographs (JPEG, PNG, TIFF). Every file
    is read and checked first: one bad file refuses the upload with its name, and nothing is stored.
    The first slide completes the order's study and puts the order on the reading worklist."""
    await service.order_for_upload(db, principal, order_id)
    staging = await asyncio.to_thread(storage.staging_dir)
    try:
        parts = await asyncio.to_thread(_spool, files, staging)
        slides = await service.upload_slides(db, principal, order_id, staging, parts,
                                             service.SlideDetails(label, stain, block), request.app.state.blobs)
    finally:
        await asyncio.to_thread(storage.discard, staging)
    return [SlideOut.model_validate(s) for s in slides]


@router.get("/diagnosis/orders/{order_id}/slides", response_model=list[SlideOut])
async def list_slides(order_id: int, db: Db, principal: CurrentPrincipal) -> list[SlideOut]:
    _order, _parties, slides = await service.list_slides(db, principal, order_id)
    return [SlideOut.model_validate(s) for s in slides]


@router.get(SLIDE, response_model=SlideOut)
async def slide_metadata(order_id: int, slide_id: int, db: Db, principal: CurrentPrincipal) -> SlideOut:
    """Opening a slide: audited, like its .dzi."""
    return SlideOut.model_validate(await service.slide_of_order(db, principal, order_id, slide_id, opening=True))


async def _authorised(request: Request, order_id: int, slide_id: int, *, opening: bool) -> PathologySlide:
    async with unit_of_work(request.app.state.sessionmaker) as db:
        request.state.db = db
        principal = await require_principal(request, db)
        return await service.slide_of_order(db, principal, order_id, slide_id, opening=opening)


def _cache(request: Request) -> tiles.SlideCache:
    state = request.app.state
    if getattr(state, "pathology_slides", None) is None:
        state.pathology_slides = tiles.SlideCache(state.settings.pathology_open_slides)
    return state.pathology_slides


async def _draw(request: Request, slide: PathologySlide, draw) -> bytes:  # noqa: ANN001 - a view -> bytes callable
    path = await storage.ensure_working_copy(slide, request.app.state.blobs)
    return await asyncio.to_thread(tiles.render, _cache(request), slide.blob_digest, path, slide.kind, draw)


def _image(request: Request, etag: str, body: bytes | None) -> Response:
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if body is None:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="image/jpeg", headers=headers)


def _fresh(request: Request, etag: str) -> bool:
    return etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]


@media.get(SLIDE + ".dzi")
async def slide_dzi(order_id: int, slide_id: int, request: Request) -> Response:
    """The Deep Zoom descriptor; fetching it is the audited opening of the slide, so it is never cached."""
    slide = await _authorised(request, order_id, slide_id, opening=True)
    xml = await _draw(request, slide, lambda view: view.dzi().encode())
    return Response(xml, media_type="application/xml", headers={"Cache-Control": "private, no-store"})


@media.get(SLIDE + "_files/{level:int}/{col:int}_{row:int}.jpeg")
async def slide_tile(order_id: int, slide_id: int, level: int, col: int, row: int, request: Request) -> Response:
    """One Deep Zoom tile (254 px, 1 px overlap). A slide's content never changes, so tiles are
    cached by the browser for good (private: they are patient data)."""
    slide = await _authorised(request, order_id, slide_id, opening=False)
    quality = request.app.state.settings.pathology_tile_quality
    etag = f'"{slide.blob_digest[:24]}-{level}-{col}-{row}-q{quality}"'
    if _fresh(request, etag):
        return _image(request, etag, None)
    body = await _draw(request, slide, lambda view: view.tile(level, col, row, quality))
    return _image(request, etag, body)


@media.get(SLIDE + "/thumbnail.jpeg")
async def slide_thumbnail(order_id: int, slide_id: int, request: Request) -> Response:
    slide = await _authorised(request, order_id, slide_id, opening=False)
    quality = request.app.state.settings.pathology_tile_quality
    etag = f'"{slide.blob_digest[:24]}-thumb-q{quality}"'
    if _fresh(request, etag):
        return _image(request, etag, None)
    return _image(request, etag, await _draw(request, slide, lambda view: view.thumbnail(quality)))


@media.get(SLIDE + "/associated/{name}.jpeg")
async def slide_associated(order_id: int, slide_id: int, name: str, request: Request) -> Response:
    """The slide's label or macro (overview) photograph, where the scanner stored one."""
    slide = await _authorised(request, order_id, slide_id, opening=False)
    if name not in slide.associated:
        raise NotFound(N_("this slide has no such image"))
    quality = request.app.state.settings.pathology_tile_quality
    etag = f'"{slide.blob_digest[:24]}-{name}-q{quality}"'
    if _fresh(request, etag):
        return _image(request, etag, None)
    return _image(request, etag, await _draw(request, slide, lambda view: view.associated(name, quality)))
