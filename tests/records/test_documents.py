"""Document upload: the bytes decide the type; mislabelled, oversized and empty files are refused
with nothing written; downloads are audited and labelled so browsers cannot sniff them."""

import pytest
from sqlalchemy import func, select

from carebridge.records.models import Document, RecordEntry
from tests.records.conftest import DICOM, JPEG, PDF, PNG, audit_rows


def _path(clinic) -> str:
    return f"/api/v1/patients/{clinic.patient.id}/documents"


async def _rows(db) -> tuple[int, int]:
    return (await db.scalar(select(func.count()).select_from(RecordEntry)),
            await db.scalar(select(func.count()).select_from(Document)))


@pytest.mark.parametrize(("filename", "data", "declared", "expected"), [
    ("report.pdf", PDF, "application/pdf", "application/pdf"),
    ("scan.png", PNG, "image/png", "image/png"),
    ("photo.JPG", JPEG, "image/jpg", "image/jpeg"),
    ("CT0001", DICOM, "application/octet-stream", "application/dicom"),
    ("ct.dcm", DICOM, "application/dicom", "application/dicom"),
])
async def test_good_files_are_stored_content_addressed(client, clinic, app, filename, data, declared, expected):
    response = await client.post(_path(clinic), headers=clinic.headers["doctor_a"], data={"title": "检查报告"},
                                 files={"file": (filename, data, declared)})
    assert response.status_code == 201, response.text
    details = response.json()["details"]
    assert details["media_type"] == expected and details["size_bytes"] == len(data)
    assert response.json()["display"] == "检查报告"
    import hashlib

    assert await app.state.blobs.get(hashlib.sha256(data).hexdigest()) == data


@pytest.mark.parametrize(("filename", "data", "declared"), [
    ("report.pdf", PNG, "application/pdf"),  # a PNG calling itself a PDF
    ("report.png", PDF, "application/octet-stream"),  # extension contradicts the bytes
    ("script.pdf", b"<script>alert(1)</script>" * 10, "application/pdf"),  # not a document at all
    ("notes.txt", b"just some text", "text/plain"),
    ("payload.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/octet-stream"),
])
async def test_mislabelled_or_unsupported_files_are_415_and_nothing_is_written(client, clinic, db, filename,
                                                                                 data, declared):
    before = await _rows(db)
    response = await client.post(_path(clinic), headers=clinic.headers["doctor_a"],
                                 files={"file": (filename, data, declared)})
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "unsupported_media_type"
    assert await _rows(db) == before


async def test_oversized_file_is_413_and_empty_file_is_422(client, clinic, db, app, settings):
    app.state.settings = settings.model_copy(update={"upload_max_bytes": 2048})
    before = await _rows(db)
    big = PDF + b"%" * 4096
    response = await client.post(_path(clinic), headers=clinic.headers["doctor_a"],
                                 files={"file": ("big.pdf", big, "application/pdf")})
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    empty = await client.post(_path(clinic), headers=clinic.headers["doctor_a"],
                              files={"file": ("empty.pdf", b"", "application/pdf")})
    assert empty.status_code == 422
    missing = await client.post(_path(clinic), headers=clinic.headers["doctor_a"], data={"title": "x"})
    assert missing.status_code == 422
    assert await _rows(db) == before


async def test_download_and_inline_view_are_audited_with_safe_headers(client, clinic, db):
    h = clinic.headers["doctor_a"]
    created = await client.post(_path(clinic), headers=h, files={"file": ("化验单.pdf", PDF, "application/pdf")})
    url = created.json()["details"]["content_url"]
    inline = await client.get(url, headers=h)
    assert inline.status_code == 200 and inline.content == PDF
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith("inline;")
    assert "filename*=UTF-8''%E5%8C%96%E9%AA%8C%E5%8D%95.pdf" in inline.headers["content-disposition"]
    assert inline.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in inline.headers["content-security-policy"]
    download = await client.get(url, params={"download": "true"}, headers=h)
    assert download.headers["content-disposition"].startswith("attachment;")
    rows = await audit_rows(db, patient_id=clinic.patient.id, resource_type="Document")
    assert [r.action for r in rows][-2:] == ["read", "export"]
    assert rows[-1].resource_id == str(created.json()["id"])
    assert (await client.get(url, headers=clinic.headers["doctor_b"])).status_code == 404


async def test_dicom_is_always_a_download(client, clinic):
    h = clinic.headers["doctor_a"]
    created = await client.post(_path(clinic), headers=h, files={"file": ("ct.dcm", DICOM, "application/dicom")})
    response = await client.get(created.json()["details"]["content_url"], headers=h)
    assert response.headers["content-type"] == "application/dicom"
    assert response.headers["content-disposition"].startswith("attachment;")
