"""The DICOM objects of an HTTP request (STOW-RS, the upload API), read from a spooled body.

The request's media type is checked before its body is read; the body goes to disk as it arrives
(kit/spool.py). Scanning its structure and copying each object out of it read pages the kernel may
have dropped, so both run in a worker thread, not on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import Request

from carebridge.diagnostics.imaging.upload import DICOM_TYPES, Buffer, related_boundary, related_parts
from carebridge.kit.spool import spooled_body

SPOOL_FOLDER = "incoming"  # under data_dir


@asynccontextmanager
async def request_objects(request: Request, *, single_allowed: bool) -> AsyncIterator[AsyncIterator[tuple[str, bytes]]]:
    """(content type, bytes) per object, copied out one at a time: the parts of a multipart/related
    body, or with `single_allowed` one `application/dicom` body as one object."""
    settings = request.app.state.settings
    content_type = request.headers.get("content-type", "")
    single = single_allowed and content_type.split(";")[0].strip().lower() in DICOM_TYPES
    if not single:
        related_boundary(content_type)
    async with spooled_body(request, settings.data_dir / SPOOL_FOLDER) as body:
        if single:
            parts = [(DICOM_TYPES[0], 0, len(body))]
        else:
            parts = await asyncio.to_thread(related_parts, body, content_type, settings.dicom_max_request_parts)
        yield _copied(body, parts, settings.dicom_max_instance_bytes)


async def _copied(body: Buffer, parts: list[tuple[str, int, int]], max_instance_bytes: int,
                  ) -> AsyncIterator[tuple[str, bytes]]:
    for content_type, start, end in parts:
        # An oversized object is copied only one byte past the limit: enough for its refusal (too_large).
        yield content_type, await asyncio.to_thread(_copy, body, start, min(end, start + max_instance_bytes + 1))


def _copy(body: Buffer, start: int, end: int) -> bytes:
    return body[start:end]
