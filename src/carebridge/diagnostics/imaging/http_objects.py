"""The DICOM objects of an HTTP request (STOW-RS, the upload API), read from a spooled body.

The request's media type is checked before its body is read; the body goes to disk as it arrives
(kit/spool.py), and each object is copied out of it only when it is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from starlette.requests import Request

from carebridge.diagnostics.imaging.upload import DICOM_TYPES, related_boundary, split_related
from carebridge.kit.spool import spooled_body

SPOOL_FOLDER = "incoming"  # under data_dir


@asynccontextmanager
async def request_objects(request: Request, *, single_allowed: bool) -> AsyncIterator[Iterable[tuple[str, bytes]]]:
    """(content type, bytes) per object: the parts of a multipart/related body, or with
    `single_allowed` one `application/dicom` body as one object."""
    content_type = request.headers.get("content-type", "")
    single = single_allowed and content_type.split(";")[0].strip().lower() in DICOM_TYPES
    if not single:
        related_boundary(content_type)
    async with spooled_body(request, request.app.state.settings.data_dir / SPOOL_FOLDER) as body:
        yield [(DICOM_TYPES[0], body[:])] if single else split_related(body, content_type)
