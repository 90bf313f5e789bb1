"""The opinion JSON API: the route matrix (anonymous, outsider, wrong part, allowed) for every
route, the lead's path from draft to signature, and the bilingual PDF read back with pypdf."""

from __future__ import annotations

import io

import pypdf
import pytest
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.consultations import service, team
from tests.consultations.test_opinion_service import accepted_case

DRAFT = {"assessment": "Paroxysmal atrial fibrillation.", "diagnoses": [{"code": "I48.9"}, {"code": "i10"}],
         "recommendations": "Start apixaban 5 mg twice daily.", "treatment_plan": "Metoprolol 25 mg bid.",
         "referral_advice": "refer_up", "referral_note": "Ablation work-up at the county hospital",
         "follow_up_days": 28}


@pytest.fixture
async def api(consult_app, client):  # noqa: ANN001, ANN201
    return client


def _routes(case_id: int) -> list[tuple[str, str, dict | None]]:
    base = f"/api/v1/consultations/{case_id}"
    return [("GET", f"{base}/opinion", None), ("PUT", f"{base}/opinion", DRAFT),
            ("POST", f"{base}/opinion/sections", {"text": "my part"}), ("POST", f"{base}/opinion/sign", {}),
            ("POST", f"{base}/opinion/addenda", {"text": "a correction"}), ("GET", f"{base}/opinion.pdf", None),
            ("POST", f"{base}/outcome", {"outcome": "better"}), ("POST", f"{base}/referral", {})]


async def _call(api, method, url, body, headers=None):  # noqa: ANN001, ANN202
    return await api.request(method, url, json=body, headers=headers or {})


async def test_every_route_is_401_anonymous_and_404_for_other_facilities(api, world, db, net):
    case = await accepted_case(world, db, net)
    outsider, city = await world.token(net.outsider), await world.token(net.city_doctor)
    for method, url, body in _routes(case.id):
        assert (await _call(api, method, url, body)).status_code == 401, url
        assert (await _call(api, method, url, body, outsider)).status_code == 404, url
        assert (await _call(api, method, url, body, city)).status_code == 404, url


async def test_the_requester_cannot_write_the_opinion(api, world, db, net):
    case = await accepted_case(world, db, net)
    h = await world.token(net.requester)
    base = f"/api/v1/consultations/{case.id}"
    for method, url, body in [("PUT", f"{base}/opinion", DRAFT), ("POST", f"{base}/opinion/sections", {"text": "x"}),
                              ("POST", f"{base}/opinion/sign", {})]:
        answer = await _call(api, method, url, body, h)
        assert answer.status_code == 403 and answer.json()["code"] == "not_your_move", url
    assert (await api.get(f"{base}/opinion", headers=h)).status_code == 404  # nothing signed to read yet
    generic = await api.post(f"{base}/actions/sign_opinion", json={}, headers=await world.token(net.county_doctor))
    assert generic.status_code == 409 and generic.json()["code"] == "opinion_not_signed"


async def test_the_lead_drafts_signs_and_everyone_reading_sees_it_verified(api, world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.token(net.county_doctor)
    base = f"/api/v1/consultations/{case.id}"
    bad = await api.put(f"{base}/opinion", json={**DRAFT, "diagnoses": [{"code": "XYZ"}]}, headers=lead)
    assert bad.status_code == 422
    saved = await api.put(f"{base}/opinion", json=DRAFT, headers=lead)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["signed"] is False and body["can"] == ["edit", "write_section", "sign"]
    assert [d["code"] for d in body["diagnoses"]] == ["I48.9", "I10"]
    signed = await api.post(f"{base}/opinion/sign", json={}, headers=lead)
    assert signed.status_code == 200, signed.text
    assert signed.json()["case_state"] == "opinion_signed" and signed.json()["document_entry_id"]
    assert (await api.post(f"{base}/opinion/sign", json={}, headers=lead)).status_code == 409
    assert (await api.put(f"{base}/opinion", json=DRAFT, headers=lead)).status_code == 409
    seen = await api.get(f"{base}/opinion", headers=await world.token(net.requester))
    assert seen.status_code == 200
    opinion = seen.json()
    assert opinion["verification"]["verified"] is True
    assert opinion["verification"]["recomputed"] == opinion["content_hash"] == signed.json()["content_hash"]
    added = await api.post(f"{base}/opinion/addenda", json={"text": "Apixaban 2.5 mg if creatinine rises."},
                           headers=lead)
    assert added.status_code == 201 and added.json()["addenda"][0]["prev_hash"] == opinion["content_hash"]
    admin = await api.get(f"{base}/opinion", headers=await world.token(net.county_admin))
    assert admin.status_code == 403  # reads the case, not the patient's data


async def test_a_member_writes_only_their_section(api, world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.principal(net.county_doctor)
    await team.invite_member(db, lead, case.id, net.city_doctor.id)
    member = await world.token(net.city_doctor)
    base = f"/api/v1/consultations/{case.id}"
    assert (await api.put(f"{base}/opinion", json=DRAFT, headers=member)).status_code == 403
    assert (await api.post(f"{base}/opinion/sign", json={}, headers=member)).status_code == 403
    written = await api.post(f"{base}/opinion/sections", json={"text": "Neurology: no deficit."}, headers=member)
    assert written.status_code == 200, written.text
    assert [(s["author_id"], s["text"]) for s in written.json()["sections"]] == [
        (net.city_doctor.id, "Neurology: no deficit.")]
    assert (await api.post(f"{base}/opinion/sections", json={"text": " "}, headers=member)).status_code == 422


async def test_the_pdf_is_bilingual_masks_the_id_and_is_audited_as_an_export(api, world, db, net):
    case = await accepted_case(world, db, net)
    lead = await world.token(net.county_doctor)
    base = f"/api/v1/consultations/{case.id}"
    await api.put(f"{base}/opinion", json=DRAFT, headers=lead)
    assert (await api.get(f"{base}/opinion.pdf", headers=lead)).status_code == 409  # not signed yet
    content_hash = (await api.post(f"{base}/opinion/sign", json={}, headers=lead)).json()["content_hash"]
    await api.post(f"{base}/opinion/addenda", json={"text": "复查心电图 / Repeat the ECG."}, headers=lead)
    answer = await api.get(f"{base}/opinion.pdf", headers=await world.token(net.requester))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(answer.content)).pages)
    for expected in ("远程会诊报告 / Teleconsultation report", "会诊意见 / Consultation opinion", "评估 / Assessment",
                     "Paroxysmal atrial fibrillation.", "I48.9", "心房颤动", "Is this atrial fibrillation?",
                     "Heart rate", net.patient.name, net.patient.national_id_masked, content_hash[:32],
                     "上转 / Refer up", "复查心电图 / Repeat the ECG.", "通过 / Verified"):
        assert expected in text.replace("\n", " ") or expected in text, expected
    assert net.patient.national_id not in text
    exported = await db.scalar(select(AuditEvent).where(AuditEvent.action == "export",
                                                        AuditEvent.resource_type == "ConsultationOpinion"))
    assert exported.actor_user_id == net.requester.id and exported.patient_id == net.patient.id
    assert (await api.get(f"{base}/opinion.pdf", headers=await world.token(net.county_admin))).status_code == 403


async def test_outcome_and_referral_routes(api, world, db, net):
    case = await accepted_case(world, db, net)
    lead, requester = await world.token(net.county_doctor), await world.token(net.requester)
    base = f"/api/v1/consultations/{case.id}"
    await api.put(f"{base}/opinion", json=DRAFT, headers=lead)
    await api.post(f"{base}/opinion/sign", json={}, headers=lead)
    assert (await api.post(f"{base}/referral", json={}, headers=lead)).status_code == 403
    referral = await api.post(f"{base}/referral", json={}, headers=requester)
    assert referral.status_code == 201, referral.text
    assert referral.json()["direction"] == "up" and referral.json()["to_facility_id"] == net.county.id
    assert (await api.post(f"{base}/referral", json={}, headers=requester)).status_code == 409
    early = await api.post(f"{base}/outcome", json={"outcome": "Better."}, headers=requester)
    assert early.status_code == 409
    acked = await api.post(f"{base}/actions/acknowledge", json={}, headers=requester)
    assert acked.status_code == 200
    assert (await api.post(f"{base}/outcome", json={"outcome": "Better."}, headers=lead)).status_code == 403
    done = await api.post(f"{base}/outcome", json={"outcome": "Better, in sinus rhythm.", "close": True},
                          headers=requester)
    assert done.status_code == 200 and done.json()["outcome"] == "Better, in sinus rhythm."
    assert done.json()["case_state"] == "closed" and done.json()["referral_id"] == referral.json()["id"]
    case_view = await service.access_case(db, await world.principal(net.requester), case.id)
    assert [e.action for e in case_view.events][-4:] == ["start_referral", "acknowledge", "outcome", "close"]
