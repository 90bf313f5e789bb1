"""Documents: PDF, JPEG, PNG and DICOM files in the content-addressed blob store.

The type is decided by the bytes, never by the label: a declared content type or file extension
that disagrees with what the bytes are is refused (415), so a script cannot ride in as a 'PDF'."""

from __future__ import annotations

import datetime as dt
from pathlib import PurePath

import filetype
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.service import PatientAccess
from carebridge.auth.principal import Principal
from carebridge.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from carebridge.kit.blobs import BlobStore
from carebridge.kit.i18n import N_
from carebridge.records.entries import access_entry, open_for_write, spine_for
from carebridge.records.models import Document

PDF, JPEG, PNG, DICOM = "application/pdf", "image/jpeg", "image/png", "application/dicom"
EXTENSIONS = {PDF: {".pdf"}, JPEG: {".jpg", ".jpeg"}, PNG: {".png"}, DICOM: {".dcm", ".dicom"}}
PREFERRED_EXTENSION = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", DICOM: ".dcm"}
# Labels that say nothing: browsers send octet-stream for files they do not know (e.g. .dcm).
UNDECLARED = {"", "application/octet-stream", "binary/octet-stream"}
ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "application/x-pdf": PDF, "application/dicom+dcm": DICOM}
INLINE_TYPES = {PDF, JPEG, PNG}


def sniff(data: bytes) -> str | None:
    """What the bytes are, if they are one of the accepted kinds."""
    # DICOM PS3.10 7.1: a 128-byte preamble, then the magic "DICM".
    if data[128:132] == b"DICM":
        return DICOM
    kind = filetype.guess(data)
    return kind.mime if kind is not None and kind.mime in EXTENSIONS else None


def check_upload(data: bytes, filename: str, declared_type: str, max_bytes: int) -> str:
    """The sniffed media type of an acceptable upload, or the 4xx that names the problem."""
    if not data:
        raise InvalidInput(N_("the file is empty"), details={"field": "file"})
    if len(data) > max_bytes:
        raise PayloadTooLarge(N_("the file is larger than the upload limit"), details={"max_bytes": max_bytes})
    media_type = sniff(data)
    if media_type is None:
        raise UnsupportedMediaType(N_("only PDF, JPEG, PNG and DICOM files can be uploaded"),
                                   details={"accepted": sorted(EXTENSIONS)})
    declared = ALIASES.get(_bare(declared_type), _bare(declared_type))
    if declared not in UNDECLARED and declared != media_type:
        raise UnsupportedMediaType(N_("the file's declared type does not match its content"),
                                   details={"declared": declared, "detected": media_type})
    suffix = PurePath(filename or "").suffix.lower()
    if suffix and suffix not in EXTENSIONS[media_type]:
        raise UnsupportedMediaType(N_("the file name's extension does not match its content"),
                                   details={"extension": suffix, "detected": media_type})
    return media_type


def _bare(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def clean_filename(filename: str, media_type: str) -> str:
    name = PurePath((filename or "").replace("\\", "/")).name.strip()[:150]
    if not name:
        name = "document"
    if PurePath(name).suffix.lower() not in EXTENSIONS[media_type]:
        name += PREFERRED_EXTENSION[media_type]
    return name


async def add_document(
    session: AsyncSession, principal: Principal, patient_id: int, *, blobs: BlobStore, data: bytes,
    filename: str, declared_type: str, title: str = "", occurred_at: dt.datetime | None = None,
    max_bytes: int,
) -> Document:
    access = await open_for_write(session, principal, patient_id, "DocumentReference")
    media_type = check_upload(data, filename, declared_type, max_bytes)
    name = clean_filename(filename, media_type)
    title = (title or "").strip()[:200] or PurePath(name).stem[:200]
    spine = spine_for(access, principal, occurred_at)
    # The blob goes in before the row: a rolled-back request leaves at most an unreferenced,
    # content-addressed file, never a row pointing at nothing.
    digest = await blobs.put(data)
    document = Document(**spine, display=title, title=title, media_type=media_type, size_bytes=len(data),
                        blob_digest=digest, filename=name)
    session.add(document)
    await session.flush()
    return document


async def open_document(
    session: AsyncSession, principal: Principal, document_id: int, *, download: bool = False
) -> tuple[Document, PatientAccess]:
    """The document row, opened through the access layer: 'export' when it leaves as a file."""
    entry, access = await access_entry(session, principal, document_id, action="export" if download else "read")
    if not isinstance(entry, Document):
        raise NotFound(N_("document not found"))
    return entry, access


def disposition(name: str, media_type: str, *, download: bool) -> str:
    """RFC 6266: an ASCII fallback name plus the real UTF-8 name (Chinese file names are usual)."""
    from urllib.parse import quote

    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in name)
    kind = "attachment" if download or media_type not in INLINE_TYPES else "inline"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_headers(name: str, media_type: str, *, download: bool) -> dict[str, str]:
    """Headers for serving a stored patient file (record documents, consultation chat files)."""
    return {
        "Content-Disposition": disposition(name, media_type, download=download),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        # Framed only by our own pages (the inline viewer); the file itself may run nothing.
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
                                   "object-src 'self'; frame-ancestors 'self'",
    }
