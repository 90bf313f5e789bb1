"""Every accepted format, uploaded through the API by the sending site: the order goes straight onto
the hub's worklist (state ready, clock running) with its automatic pre-read, and the viewer's
signal and the original file can be read back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebridge.diagnostics.ecg.models import EcgRecording
from carebridge.diagnostics.models import DiagnosticStudy
from tests.diagnostics.ecg import samples
from tests.diagnostics.ecg.conftest import upload

STANDARD = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]

CASES = {
    "dicom": (lambda: [("ecg.dcm", samples.dicom_ecg())], {}, STANDARD, 10.0),
    "aecg": (lambda: [("ecg.xml", samples.aecg())], {}, STANDARD, 10.0),
    "wfdb-mat": (lambda: samples.cinc_parts("A00001"), {}, ["ECG"], 30.0),
    "wfdb-zip": (lambda: [("A00009.zip", samples.zipped(samples.cinc_parts("A00009")))], {}, ["ECG"], 30.0),
    "wfdb-dat": (lambda: samples.mitdb_excerpt("100", 60, 20), {}, ["MLII", "V5"], 20.0),
    "csv": (lambda: [("ecg.csv", samples.csv_from_dicom())], {"sample_rate": "1000"}, STANDARD, 10.0),
    "csv-rate-in-file": (lambda: [("ecg.csv", samples.csv_from_dicom(rate_line=True))], {"format": "csv"},
                         STANDARD, 10.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_an_uploaded_ecg_puts_the_order_on_the_worklist_with_its_preread(client, world, db, dnet, ecg_order,
                                                                               case):
    parts, form, leads, seconds = CASES[case][0](), CASES[case][1], CASES[case][2], CASES[case][3]
    sender = await world.token(dnet.sender_tech)
    done = await upload(client, sender, ecg_order.id, parts, **form)
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["lead_names"] == leads and abs(body["duration_s"] - seconds) < 0.6
    assert body["preread_label"] == "automatic pre-read"
    pre = body["preread"]
    assert pre["kind"] == "automatic_preread" and 40 <= pre["heart_rate_bpm"] <= 130 and pre["beats"] >= 5

    order = (await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}", headers=sender)).json()
    assert order["state"] == "ready" and order["due_at"] is not None
    assert [s["modality"] for s in order["studies"]] == ["ECG"] and order["studies"][0]["completed_at"]
    reader = await world.token(dnet.reader)
    seen = await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg", headers=reader)
    assert seen.status_code == 200 and seen.json()["preread"]["heart_rate_bpm"] == pre["heart_rate_bpm"]

    signal = (await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg/signal", headers=reader)).json()
    assert signal["leads"] == leads and signal["units"] == "uV" and signal["sample_rate"] <= 500
    assert len(signal["data"]) == len(leads) and 100 < max(max(map(abs, lead)) for lead in signal["data"]) < 10000
    original = await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg/original", headers=reader)
    assert original.status_code == 200 and len(original.content) == body["original_size"]


async def test_the_dicom_signal_keeps_the_millivolts_of_the_file(client, world, dnet, ecg_order):
    import io

    import pydicom

    sender = await world.token(dnet.sender)
    assert (await upload(client, sender, ecg_order.id, [("ecg.dcm", samples.dicom_ecg())])).status_code == 201
    signal = (await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}/ecg/signal?rate=1000&seconds=2",
                               headers=sender)).json()
    assert signal["sample_rate"] == 1000 and len(signal["data"][0]) == 2000
    expected = pydicom.dcmread(io.BytesIO(samples.dicom_ecg())).waveform_array(0)[:2000, 1]  # lead II, µV
    assert max(abs(a - b) for a, b in zip(signal["data"][1], expected, strict=True)) <= 1


async def test_a_second_ecg_for_the_same_order_is_refused(client, world, db, dnet, ecg_order):
    sender = await world.token(dnet.sender)
    assert (await upload(client, sender, ecg_order.id, [("a.dcm", samples.dicom_ecg())])).status_code == 201
    again = await upload(client, sender, ecg_order.id, [("b.xml", samples.aecg())])
    assert again.status_code == 409
    assert len((await db.scalars(select(EcgRecording).where(EcgRecording.order_id == ecg_order.id))).all()) == 1
    studies = (await db.scalars(select(DiagnosticStudy).where(DiagnosticStudy.order_id == ecg_order.id))).all()
    assert len(studies) == 1


async def test_the_page_uploads_without_script_and_shows_the_viewer(client, world, db, dnet, ecg_order):
    from tests.auth.conftest import login_as

    csrf = await login_as(client, db, dnet.sender_tech)
    page = await client.get(f"/diagnosis/orders/{ecg_order.id}/ecg")
    assert page.status_code == 200 and 'data-testid="ecg-upload"' in page.text
    posted = await client.post(f"/diagnosis/orders/{ecg_order.id}/ecg", data={"csrf_token": csrf},
                               files=[("file", ("ecg.xml", samples.aecg(), "text/xml"))])
    assert posted.status_code == 303
    page = await client.get(posted.headers["location"])
    assert 'data-testid="ecg-viewer"' in page.text and "HL7 aECG" in page.text
    assert "Automatic pre-read" in page.text and 'data-testid="ecg-upload"' not in page.text


async def test_a_failing_preread_does_not_stop_the_ecg_reaching_the_reader(client, world, db, dnet, ecg_order,
                                                                          monkeypatch):
    from carebridge.diagnostics.ecg import service
    from carebridge.diagnostics.ecg.hints import preread_hints

    def broken(_tracing):  # noqa: ANN001, ANN202 - a fault injected into the analysis, not the upload
        raise FloatingPointError("analysis bug")

    monkeypatch.setattr(service, "preread", broken)
    sender = await world.token(dnet.sender)
    done = await upload(client, sender, ecg_order.id, [("ecg.dcm", samples.dicom_ecg())])
    assert done.status_code == 201 and done.json()["preread"] is None and done.json()["preread_at"] is None
    order = (await client.get(f"/api/v1/diagnosis/orders/{ecg_order.id}", headers=sender)).json()
    assert order["state"] == "ready"
    assert await preread_hints(db, [ecg_order.id]) == {}
