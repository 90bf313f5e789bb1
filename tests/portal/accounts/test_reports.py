"""'My reports': the patient sees the final signed diagnosis report and the signed consultation
opinion, and the status of those still being written; never a draft, a preliminary version or
a blind second reading; a family member sees them too; someone else's report is a 404."""

from __future__ import annotations

from carebridge.auth.models import Role
from carebridge.consultations import opinion
from carebridge.diagnostics import reports
from carebridge.diagnostics.report_models import DoubleRead, ReadingHubSettings
from tests.consultations.conftest import build_net
from tests.consultations.opinion_helpers import DRAFT, sign_opinion
from tests.consultations.test_opinion_service import accepted_case
from tests.diagnostics.conftest import build_diag_net
from tests.diagnostics.reports.helpers import (
    CT_HEAD_DRAFT,
    MemoryBlobs,
    claimed,
    hub_doctor,
    ready_order,
    write_and_sign,
)

DRAFT_ONLY = reports.DraftInput(impression="DRAFT: not for the patient yet")


async def _patient_headers(world, patient, facility):  # noqa: ANN001, ANN202
    user = await world.user((Role.patient, facility.id), patient_id=patient.id)
    return await world.token(user)


async def test_only_the_final_signed_report_reaches_the_patient(client, app, world, db):
    dnet = await build_diag_net(world, db)
    reader = await hub_doctor(world, db, dnet)
    headers = await _patient_headers(world, dnet.patient, dnet.community)
    drafted = await ready_order(world, db, dnet, body_part="HEAD")
    await reports.save_draft(db, await claimed(world, db, drafted, reader), drafted.id, DRAFT_ONLY)
    final = await ready_order(world, db, dnet, body_part="HEAD")
    await write_and_sign(world, db, dnet, final, reader, app.state.blobs)  # the PDF where the app serves it
    db.add(DoubleRead(order_id=final.id, version_id=(await reports.versions_of(
        db, (await reports.report_of(db, final.id)).id))[0].id, hub_facility_id=dnet.hub.id,
        first_reader_id=reader.id, state="read", second_impression="SECOND READER: blind impression"))
    await db.flush()

    listing = await client.get(f"/api/v1/portal/patients/{dnet.patient.id}/reports", headers=headers)
    assert listing.status_code == 200
    by_id = {i["id"]: i for i in listing.json() if i["kind"] == "diagnosis"}
    assert by_id[drafted.id]["status"] == "in_progress" and by_id[drafted.id]["url"] == ""
    assert by_id[final.id]["status"] == "final" and by_id[final.id]["url"].startswith(
        f"/portal/reports/diagnosis/{final.id}")
    assert "DRAFT" not in listing.text

    assert (await client.get(f"/api/v1/portal/reports/diagnosis/{drafted.id}", headers=headers)).status_code == 404
    report = await client.get(f"/api/v1/portal/reports/diagnosis/{final.id}", headers=headers)
    assert report.status_code == 200
    body = report.json()
    assert body["impression"] == CT_HEAD_DRAFT.impression and body["verified"] and body["document_url"]
    assert "SECOND READER" not in report.text
    page = await client.get(f"/portal/reports/diagnosis/{final.id}", headers=headers)
    assert page.status_code == 200 and CT_HEAD_DRAFT.impression in page.text and "SECOND READER" not in page.text
    document = await client.get(body["document_url"], headers=headers)
    assert document.status_code == 200 and document.content.startswith(b"%PDF")


async def test_a_preliminary_report_is_not_shown(client, world, db):
    dnet = await build_diag_net(world, db)
    resident = await hub_doctor(world, db, dnet, title="resident")
    headers = await _patient_headers(world, dnet.patient, dnet.community)
    db.add(ReadingHubSettings(facility_id=dnet.hub.id, two_step=True, double_read_percent=0))
    order = await ready_order(world, db, dnet, body_part="HEAD")
    await write_and_sign(world, db, dnet, order, resident, MemoryBlobs(), kind="preliminary")
    answer = await client.get(f"/api/v1/portal/reports/diagnosis/{order.id}", headers=headers)
    assert answer.status_code == 404 and answer.json()["code"] == "report_not_ready"
    listing = (await client.get(f"/api/v1/portal/patients/{dnet.patient.id}/reports", headers=headers)).json()
    assert [i["status"] for i in listing] == ["in_progress"]
    assert CT_HEAD_DRAFT.impression not in str(listing)


async def test_someone_elses_report_is_not_found(client, world, db):
    dnet = await build_diag_net(world, db)
    reader = await hub_doctor(world, db, dnet)
    order = await ready_order(world, db, dnet, body_part="HEAD")
    await write_and_sign(world, db, dnet, order, reader, MemoryBlobs())
    other = await world.patient(dnet.community, name="别人")
    headers = await _patient_headers(world, other, dnet.community)
    for path in (f"/api/v1/portal/reports/diagnosis/{order.id}", f"/portal/reports/diagnosis/{order.id}"):
        assert (await client.get(path, headers=headers)).status_code == 404
    assert (await client.get("/api/v1/portal/reports/diagnosis/999999", headers=headers)).status_code == 404


async def test_the_signed_consultation_opinion_reaches_the_patient_the_draft_does_not(client, world, db):
    net = await build_net(world, db)
    headers = await _patient_headers(world, net.patient, net.township)
    case = await accepted_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    await opinion.save_draft(db, lead, case.id, DRAFT)
    listing = (await client.get(f"/api/v1/portal/patients/{net.patient.id}/reports", headers=headers)).json()
    assert [(i["kind"], i["status"]) for i in listing] == [("opinion", "in_progress")]
    assert (await client.get(f"/api/v1/portal/reports/opinions/{case.id}", headers=headers)).status_code == 404
    await sign_opinion(db, lead, case.id)
    signed = await client.get(f"/api/v1/portal/reports/opinions/{case.id}", headers=headers)
    assert signed.status_code == 200
    body = signed.json()
    assert body["assessment"] == DRAFT.assessment and body["verified"] and body["follow_up_days"] == 28
    page = await client.get(f"/portal/reports/opinions/{case.id}", headers=headers)
    assert page.status_code == 200 and DRAFT.recommendations in page.text
    stranger = await _patient_headers(world, await world.patient(net.township, name="别人"), net.township)
    assert (await client.get(f"/api/v1/portal/reports/opinions/{case.id}", headers=stranger)).status_code == 404
