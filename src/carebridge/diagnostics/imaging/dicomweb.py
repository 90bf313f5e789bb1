"""DICOMweb under /dicomweb (PS3.18): QIDO-RS searches and WADO-RS retrieval for standard clients
(dicomweb-client, OHIF) and for our own viewer. STOW-RS lives with the ingest (imaging-ingest).

Authentication is the app's own: a Bearer API token or a signed-in web session. Authorization and
auditing are in `study_access`: searches see only visible studies; a retrieval of a study the
caller may not see is the same 404 as a missing one. Blob reads, DICOM parsing and rendering run in
a thread (`asyncio.to_thread`), so a large series never blocks the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import select

from carebridge.auth.principal import Principal
from carebridge.diagnostics.imaging import dicomweb_media as media
from carebridge.diagnostics.imaging import qido, rendering
from carebridge.diagnostics.imaging.models import DicomInstance, DicomSeries
from carebridge.diagnostics.imaging.study_access import StudyAccess, access_study, audit_pixels, audit_read
from carebridge.diagnostics.models import DiagnosticStudy
from carebridge.errors import NotFound
from carebridge.kit.i18n import N_
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/dicomweb", tags=["dicomweb"])
PRIVATE = {"Cache-Control": "private, no-store"}
Accept = Annotated[str | None, Header()]
STUDY = "/studies/{study}"
SERIES = STUDY + "/series/{series}"
INSTANCE = SERIES + "/instances/{instance}"


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/dicomweb"


def _json(body: object, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, media_type=media.DICOM_JSON, headers={**PRIVATE, **(headers or {})})


# --- QIDO-RS ---------------------------------------------------------------------------------------

async def _search(request: Request, db: Db, principal: Principal, level: qido.Level, accept: str | None,
                  scope: dict[str, str]) -> JSONResponse:
    media.require_json_acceptable(accept)
    search = qido.parse_search(level, list(request.query_params.multi_items()))
    search.filters.update(scope)
    result = await qido.run_search(db, principal, search)
    await _audit_search(db, principal, result, level)
    headers = {"Warning": '299 CareBridge: "There are additional results that can be requested"'} \
        if result.more else {}
    return _json(qido.to_json(search, result, base_url(request), with_study="StudyInstanceUID" not in scope),
                 headers)


async def _audit_search(db: Db, principal: Principal, result: qido.SearchResult, level: qido.Level) -> None:
    """One row per patient (per unmatched study) whose studies the answer shows."""
    studies: dict[int, DiagnosticStudy] = {}
    for row in result.rows:
        study = row[0] if level == qido.Level.study else row[-2]
        studies.setdefault(study.id, study)
    by_patient: dict[object, list[DiagnosticStudy]] = {}
    for study in studies.values():
        by_patient.setdefault(study.patient_id or f"study:{study.id}", []).append(study)
    for found in by_patient.values():
        access = await access_study(db, principal, found[0], found[0].study_uid)
        await audit_read(db, principal, access, "search",
                         {"level": level.value, "studies": [s.study_uid for s in found[:20]]})


@router.get("/studies")
async def search_studies(request: Request, db: Db, principal: CurrentPrincipal, accept: Accept = None) -> Response:
    return await _search(request, db, principal, qido.Level.study, accept, {})


@router.get("/series")
async def search_all_series(request: Request, db: Db, principal: CurrentPrincipal, accept: Accept = None) -> Response:
    return await _search(request, db, principal, qido.Level.series, accept, {})


@router.get("/instances")
async def search_all_instances(request: Request, db: Db, principal: CurrentPrincipal,
                               accept: Accept = None) -> Response:
    return await _search(request, db, principal, qido.Level.instance, accept, {})


@router.get(STUDY + "/series")
async def search_series(request: Request, db: Db, principal: CurrentPrincipal, study: str,
                        accept: Accept = None) -> Response:
    return await _search(request, db, principal, qido.Level.series, accept, {"StudyInstanceUID": study})


@router.get(STUDY + "/instances")
async def search_study_instances(request: Request, db: Db, principal: CurrentPrincipal, study: str,
                                 accept: Accept = None) -> Response:
    return await _search(request, db, principal, qido.Level.instance, accept, {"StudyInstanceUID": study})


@router.get(SERIES + "/instances")
async def search_instances(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                           accept: Accept = None) -> Response:
    return await _search(request, db, principal, qido.Level.instance, accept,
                         {"StudyInstanceUID": study, "SeriesInstanceUID": series})


# --- finding what a WADO-RS request names ----------------------------------------------------------

async def _study(db: Db, principal: Principal, study_uid: str) -> StudyAccess:
    study = await db.scalar(select(DiagnosticStudy).where(DiagnosticStudy.study_uid == study_uid))
    return await access_study(db, principal, study, study_uid)


async def _instances(db: Db, access: StudyAccess, series_uid: str | None = None,
                     instance_uid: str | None = None) -> list[tuple[DicomInstance, DicomSeries]]:
    stmt = (select(DicomInstance, DicomSeries).join(DicomSeries, DicomInstance.series_id == DicomSeries.id)
            .where(DicomInstance.study_id == access.study.id))
    if series_uid is not None:
        stmt = stmt.where(DicomSeries.series_uid == series_uid)
    if instance_uid is not None:
        stmt = stmt.where(DicomInstance.sop_instance_uid == instance_uid)
    stmt = stmt.order_by(DicomSeries.series_number.asc().nulls_last(), DicomSeries.id,
                         DicomInstance.instance_number.asc().nulls_last(), DicomInstance.id)
    found = [tuple(r) for r in (await db.execute(stmt)).all()]
    if not found:
        raise NotFound(N_("no such series or instance in this study"),
                       details={"series": series_uid, "instance": instance_uid})
    return found


async def _one(db: Db, principal: Principal, study: str, series: str,
               instance: str) -> tuple[StudyAccess, DicomInstance]:
    access = await _study(db, principal, study)
    return access, (await _instances(db, access, series, instance))[0][0]


def _instance_url(request: Request, study: str, series: str, instance: str) -> str:
    return f"{base_url(request)}/studies/{study}/series/{series}/instances/{instance}"


# --- WADO-RS: instances, metadata ----------------------------------------------------------------

async def _dicom_parts(request: Request, rows: list[tuple[DicomInstance, DicomSeries]],
                       syntax_for: dict[str, str]) -> AsyncIterator[tuple[str, bytes]]:
    blobs = request.app.state.blobs
    for instance, _series in rows:
        data = await blobs.get(instance.blob_digest)
        syntax = syntax_for[instance.sop_instance_uid]
        if syntax != instance.transfer_syntax_uid:
            data = await asyncio.to_thread(
                lambda d=data: media.transcode_to_explicit_le(rendering.read_dataset(d)))
        yield f"{media.DICOM}; transfer-syntax={syntax}", data


async def _retrieve(request: Request, db: Db, principal: Principal, accept: str | None, study: str,
                    series: str | None = None, instance: str | None = None) -> Response:
    access = await _study(db, principal, study)
    rows = await _instances(db, access, series, instance)
    syntax_for = {i.sop_instance_uid: media.choose_dicom_syntax(accept, i.transfer_syntax_uid) for i, _ in rows}
    await audit_read(db, principal, access, "instances", {"series_uid": series, "sop_instance_uid": instance,
                                                          "count": len(rows)})
    boundary = media.new_boundary()
    return StreamingResponse(media.multipart_stream(boundary, _dicom_parts(request, rows, syntax_for)),
                             media_type=media.multipart_content_type(boundary, media.DICOM), headers=PRIVATE)


@router.get(STUDY)
async def retrieve_study(request: Request, db: Db, principal: CurrentPrincipal, study: str,
                         accept: Accept = None) -> Response:
    return await _retrieve(request, db, principal, accept, study)


@router.get(SERIES)
async def retrieve_series(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                          accept: Accept = None) -> Response:
    return await _retrieve(request, db, principal, accept, study, series)


@router.get(INSTANCE)
async def retrieve_instance(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                            instance: str, accept: Accept = None) -> Response:
    return await _retrieve(request, db, principal, accept, study, series, instance)


async def _metadata(request: Request, db: Db, principal: Principal, accept: str | None, study: str,
                    series: str | None = None, instance: str | None = None) -> Response:
    media.require_json_acceptable(accept)
    access = await _study(db, principal, study)
    rows = await _instances(db, access, series, instance)
    await audit_read(db, principal, access, "metadata", {"series_uid": series, "sop_instance_uid": instance,
                                                         "count": len(rows)})
    blobs = request.app.state.blobs
    out = []
    for row_instance, row_series in rows:
        data = await blobs.get(row_instance.blob_digest)
        bulk = _instance_url(request, study, row_series.series_uid, row_instance.sop_instance_uid) + \
            "/bulkdata/7FE00010"
        out.append(await asyncio.to_thread(lambda d=data, b=bulk: media.to_dicom_json(rendering.read_dataset(d), b)))
    return _json(out)


@router.get(STUDY + "/metadata")
async def study_metadata(request: Request, db: Db, principal: CurrentPrincipal, study: str,
                         accept: Accept = None) -> Response:
    return await _metadata(request, db, principal, accept, study)


@router.get(SERIES + "/metadata")
async def series_metadata(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                          accept: Accept = None) -> Response:
    return await _metadata(request, db, principal, accept, study, series)


@router.get(INSTANCE + "/metadata")
async def instance_metadata(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                            instance: str, accept: Accept = None) -> Response:
    return await _metadata(request, db, principal, accept, study, series, instance)


# --- WADO-RS: frames, bulk data, rendered, thumbnails ------------------------------------------------

def _octet_parts(request: Request, study: str, series: str, instance: str, chunks: list[bytes],
                 numbers: list[int] | None) -> Response:
    boundary = media.new_boundary()
    part_type = f"{media.OCTETS}; transfer-syntax={media.EXPLICIT_LE}"
    url = _instance_url(request, study, series, instance)
    parts = [(part_type, chunk, f"{url}/frames/{n}" if numbers else None)
             for chunk, n in zip(chunks, numbers or [None] * len(chunks), strict=True)]
    return Response(media.multipart_body(boundary, parts), headers=PRIVATE,
                    media_type=media.multipart_content_type(boundary, media.OCTETS))


@router.get(INSTANCE + "/frames/{frames}")
async def retrieve_frames(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                          instance: str, frames: str, accept: Accept = None) -> Response:
    """Uncompressed frames (compressed syntaxes are decoded here), one part per frame."""
    media.require_frames_acceptable(accept)
    access, row = await _one(db, principal, study, series, instance)
    numbers = media.parse_frame_numbers(frames, row.number_of_frames)
    await audit_pixels(db, principal, access, series)
    data = await request.app.state.blobs.get(row.blob_digest)
    chunks = await asyncio.to_thread(lambda: media.frames_of(rendering.read_dataset(data), numbers))
    return _octet_parts(request, study, series, instance, chunks, numbers)


@router.get(INSTANCE + "/bulkdata/{tag}")
async def retrieve_bulkdata(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                            instance: str, tag: str, accept: Accept = None) -> Response:
    """The BulkDataURI of the metadata: the whole pixel data, uncompressed, in one part."""
    if tag.upper() not in media.PIXEL_KEYS:
        raise NotFound(N_("only pixel data is served as bulk data; everything else is inline in the metadata"))
    media.require_frames_acceptable(accept)
    access, row = await _one(db, principal, study, series, instance)
    await audit_pixels(db, principal, access, series)
    data = await request.app.state.blobs.get(row.blob_digest)
    chunk = await asyncio.to_thread(lambda: media.all_frames(rendering.read_dataset(data)))
    return _octet_parts(request, study, series, instance, [chunk], None)


async def _render(request: Request, db: Db, principal: Principal, accept: str | None, study: str, series: str,
                  instance: str, frame: int, viewport: tuple[int, int] | None) -> Response:
    params = request.query_params
    media_type = media.choose_image_type(params.get("accept") or accept)
    options = rendering.RenderOptions(
        frame=frame, window=rendering.parse_window(params.get("window")), media_type=media_type,
        viewport=rendering.parse_viewport(params.get("viewport")) or viewport,
        quality=rendering.parse_quality(params.get("quality")))
    access, row = await _one(db, principal, study, series, instance)
    if not 0 <= frame < row.number_of_frames:
        raise media.NotFoundFrame(N_("there is no such frame in this instance"),
                                  details={"frame": frame + 1, "number_of_frames": row.number_of_frames})
    await audit_pixels(db, principal, access, series)
    data = await request.app.state.blobs.get(row.blob_digest)
    image = await asyncio.to_thread(rendering.render, data, options)
    return Response(image, media_type=media_type, headers=PRIVATE)


def _single_frame(frames: str) -> int:
    if not frames.isdigit() or int(frames) < 1:
        raise rendering.BadParameter(N_("a rendered frame is one frame number"), details={"frames": frames})
    return int(frames) - 1


@router.get(INSTANCE + "/rendered")
async def instance_rendered(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                            instance: str, accept: Accept = None) -> Response:
    return await _render(request, db, principal, accept, study, series, instance, 0, None)


@router.get(INSTANCE + "/frames/{frames}/rendered")
async def frame_rendered(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                         instance: str, frames: str, accept: Accept = None) -> Response:
    return await _render(request, db, principal, accept, study, series, instance, _single_frame(frames), None)


THUMB = (rendering.THUMBNAIL_SIZE, rendering.THUMBNAIL_SIZE)


@router.get(INSTANCE + "/thumbnail")
async def instance_thumbnail(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                             instance: str, accept: Accept = None) -> Response:
    return await _render(request, db, principal, accept, study, series, instance, 0, THUMB)


@router.get(INSTANCE + "/frames/{frames}/thumbnail")
async def frame_thumbnail(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                          instance: str, frames: str, accept: Accept = None) -> Response:
    return await _render(request, db, principal, accept, study, series, instance, _single_frame(frames), THUMB)


async def _representative(db: Db, principal: Principal, study: str, series: str | None) -> tuple[str, str]:
    """The middle instance of the series (of the first series for a study): what a person recognises."""
    rows = await _instances(db, await _study(db, principal, study), series)
    first_series = rows[0][1].id
    in_series = [r for r in rows if r[1].id == first_series]
    instance, chosen = in_series[len(in_series) // 2]
    return chosen.series_uid, instance.sop_instance_uid


@router.get(SERIES + "/thumbnail")
async def series_thumbnail(request: Request, db: Db, principal: CurrentPrincipal, study: str, series: str,
                           accept: Accept = None) -> Response:
    series_uid, instance = await _representative(db, principal, study, series)
    return await _render(request, db, principal, accept, study, series_uid, instance, 0, THUMB)


@router.get(STUDY + "/thumbnail")
async def study_thumbnail(request: Request, db: Db, principal: CurrentPrincipal, study: str,
                          accept: Accept = None) -> Response:
    series_uid, instance = await _representative(db, principal, study, None)
    return await _render(request, db, principal, accept, study, series_uid, instance, 0, THUMB)
