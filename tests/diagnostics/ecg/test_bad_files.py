"""Bad uploads get a 4xx that says what is wrong, and nothing is kept: no recording, no study, the
order still waiting for its ECG, no blob written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from carebridge.diagnostics.ecg.models import EcgRecording
from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy
from tests.diagnostics.ecg import samples
from tests.diagnostics.ecg.conftest import upload

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<AnnotatedECG xmlns="urn:hl7-org:v3">&lol2;</AnnotatedECG>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<AnnotatedECG xmlns="urn:hl7-org:v3"><id root="&secret;"/></AnnotatedECG>"""


def _bad_header(record: str, data_file: str) -> list[tuple[str, bytes]]:
    parts = samples.cinc_parts(record)
    header = parts[0][1].replace(f"{record}.mat".encode(), data_file.encode())
    return [(parts[0][0], header), parts[1]]


def _no_rate_csv() -> bytes:
    return b"I,II\n" + b"\n".join(b"0.1,0.2" for _ in range(3000)) + b"\n"


BAD = {
    "empty": ([("ecg.dcm", b"")], {}, 422, "empty"),
    "random bytes": ([("ecg.bin", bytes(range(256)) * 40)], {}, 422, "not an ECG"),
    "truncated dicom": ([("ecg.dcm", samples.dicom_ecg()[:4000])], {}, 422, "not a readable DICOM"),
    "dicom that is a CT image": ([("ct.dcm", samples.dicom_ct())], {}, 422, "not an ECG waveform"),
    "xml entity expansion": ([("ecg.xml", BILLION_LAUGHS)], {}, 422, "entities"),
    "xml external entity": ([("ecg.xml", XXE)], {}, 422, "entities"),
    "broken xml": ([("ecg.xml", samples.aecg()[:20000])], {}, 422, "well-formed"),
    "xml that is not an aECG": ([("ecg.xml", b"<?xml version='1.0'?><html>AnnotatedECG</html>")], {}, 422,
                                "not an HL7 annotated ECG"),
    "csv without a rate": ([("ecg.csv", _no_rate_csv())], {}, 422, "sampling rate"),
    "csv with words": ([("ecg.csv", b"I,II\n0.1,abc\n")], {"sample_rate": "500"}, 422, "not a number"),
    "csv too short": ([("ecg.csv", b"I,II\n0.1,0.2\n0.1,0.2\n")], {"sample_rate": "500"}, 422, "too short"),
    "csv rate out of range": ([("ecg.csv", _no_rate_csv())], {"sample_rate": "5"}, 422, "sampling rate"),
    "wfdb header only": ([samples.cinc_parts("A00001")[0]], {}, 422, "not uploaded"),
    "wfdb header reaching outside": (_bad_header("A00001", "../../etc/passwd"), {}, 422, "WFDB header"),
    "wfdb truncated signal": ([samples.cinc_parts("A00001")[0], ("A00001.mat", b"\x00" * 100)], {}, 422,
                              "cannot be read"),
    "two files that are no wfdb record": ([("a.dcm", samples.dicom_ecg()), ("b.xml", samples.aecg())], {}, 422,
                                          ".hea"),
    "unknown format named": ([("ecg.dcm", samples.dicom_ecg())], {"format": "scp"}, 422, "unknown ECG format"),
    "wrong format named": ([("ecg.dcm", samples.dicom_ecg())], {"format": "aecg"}, 422, ""),
}


@pytest.mark.parametrize("case", sorted(BAD))
async def test_a_bad_file_is_refused_with_the_reason_and_nothing_is_kept(client, world, db, dnet, ecg_order, app,
                                                                          case):
    parts, form, status, reason = BAD[case]
    blob_root = app.state.blobs.root
    before = sorted(blob_root.rglob("*")) if blob_root.exists() else []
    refused = await upload(client, await world.token(dnet.sender), ecg_order.id, parts, **form)
    assert refused.status_code == status, refused.text
    assert reason.lower() in refused.json()["message"].lower()
    assert await db.scalar(select(func.count()).select_from(EcgRecording)) == 0
    assert await db.scalar(select(func.count()).select_from(DiagnosticStudy)) == 0
    assert (await db.get(DiagnosisOrder, ecg_order.id)).state == "awaiting_study"
    assert (sorted(blob_root.rglob("*")) if blob_root.exists() else []) == before


async def test_a_recording_longer_than_the_limit_is_refused(client, world, dnet, ecg_order, settings, monkeypatch):
    monkeypatch.setattr(settings, "ecg_max_seconds", 15.0)
    refused = await upload(client, await world.token(dnet.sender), ecg_order.id, samples.cinc_parts("A00001"))
    assert refused.status_code == 422 and refused.json()["details"]["max_seconds"] == 15.0


async def test_a_zip_with_too_many_files_is_refused(client, world, dnet, ecg_order):
    parts = samples.cinc_parts("A00001") + [(f"extra{i}.txt", b"x") for i in range(10)]
    refused = await upload(client, await world.token(dnet.sender), ecg_order.id,
                           [("record.zip", samples.zipped(parts))])
    assert refused.status_code == 422 and "too many" in refused.json()["message"]


async def test_only_an_ecg_order_waiting_for_its_study_takes_an_upload(client, world, db, dnet):
    from tests.diagnostics.conftest import place_order

    ct = await place_order(world, db, dnet, modality="CT")
    refused = await upload(client, await world.token(dnet.sender), ct.id, [("ecg.dcm", samples.dicom_ecg())])
    assert refused.status_code == 409 and refused.json()["code"] == "not_ecg"


async def test_the_page_shows_why_a_file_was_refused(client, world, db, dnet, ecg_order):
    from tests.auth.conftest import login_as

    csrf = await login_as(client, db, dnet.sender)
    page = await client.post(f"/diagnosis/orders/{ecg_order.id}/ecg", data={"csrf_token": csrf, "format": "csv"},
                             files=[("file", ("ecg.csv", _no_rate_csv(), "text/csv"))])
    assert page.status_code == 422 and 'data-testid="ecg-upload-error"' in page.text
    assert "sampling rate" in page.text
