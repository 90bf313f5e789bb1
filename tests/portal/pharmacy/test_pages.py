"""The pages through cookie sessions with CSRF: the doctor's form, the pharmacist's queue and review
page, the patient's list with the refill button, and refusals shown where the patient asked."""

from __future__ import annotations

from sqlalchemy import select

from carebridge.portal.pharmacy import dispensing, refills, service
from carebridge.portal.pharmacy.models import Prescription, RefillRequest
from tests.access.conftest import sign_in
from tests.portal.pharmacy.conftest import age_out, approve, line, write


def _form(*rows: dict, **fields: str) -> dict:
    """Form fields as the page posts them: one value per field, the line fields once per row."""
    names = ("drug_code", "dose", "frequency", "duration_days", "route", "quantity", "instructions")
    return {**fields, **{name: [str(row.get(name, "")) for row in rows] for name in names}}


async def test_the_doctor_writes_on_the_form_and_sees_the_checks(client, world, net):
    csrf = await sign_in(client, world.db, net.doctor)
    form = await client.get(f"/prescriptions/new?patient={net.patient.id}&visit=77")
    assert form.status_code == 200 and "王建国" in form.text and 'name="visit_id" value="77"' in form.text
    suggestion = await client.get("/prescriptions/suggest", params={
        "drug_code": "metformin-500mg-tab", "dose": "500", "frequency": "tid", "duration_days": "30"})
    assert "Suggested: 2 boxes" in suggestion.text and "1500 of at most 2000" in suggestion.text

    posted = await client.post("/prescriptions/new", data=_form(
        line("ibuprofen-sr-300mg-cap", 300, "bid", 5), {"drug_code": ""}, csrf_token=csrf,
        patient_id=str(net.patient.id), visit_id="77", kind="acute", refills_allowed="0", diagnosis="膝骨关节炎"))
    assert posted.status_code == 303, posted.text
    prescription = await world.db.scalar(select(Prescription).order_by(Prescription.id.desc()).limit(1))
    assert posted.headers["location"] == f"/prescriptions/{prescription.id}"
    assert prescription.visit_id == 77 and prescription.kind == "acute"
    page = await client.get(posted.headers["location"])
    assert "Waiting for pharmacist review" in page.text and 'data-severity="moderate"' in page.text
    assert 'data-testid="action-cancel"' in page.text and 'data-testid="action-approve"' not in page.text


async def test_a_refused_form_is_shown_again_with_the_reason_and_nothing_kept(client, world, net):
    csrf = await sign_in(client, world.db, net.doctor)
    posted = await client.post("/prescriptions/new", data=_form(
        line("amoxicillin-500mg-cap", 500, "tid", 7), csrf_token=csrf, patient_id=str(net.patient.id), kind="chronic",
        refills_allowed="1"))
    assert posted.status_code == 422 and "cannot be on a long-term prescription" in posted.text
    assert 'value="amoxicillin-500mg-cap" selected' in posted.text  # what the doctor typed is kept
    assert await world.db.scalar(select(Prescription.id)) is None


async def test_the_pharmacist_reviews_from_the_queue(client, world, net):
    first = await write(world, net, kind="acute", refills_allowed=0, items=[line("clarithromycin-250mg-tab", 500,
                                                                                 "bid", 7)])
    second = await write(world, net)
    csrf = await sign_in(client, world.db, net.pharmacist)
    queue = await client.get("/pharmacy/review")
    assert queue.text.index(f"queue-row-{first.id}") < queue.text.index(f"queue-row-{second.id}")  # oldest first
    page = await client.get(f"/pharmacy/review/{first.id}")
    assert 'data-testid="action-approve"' in page.text and 'data-testid="action-return"' in page.text
    returned = await client.post(f"/prescriptions/{first.id}/actions/return",
                                 data={"csrf_token": csrf, "reason": "克拉霉素与利伐沙班？请核对"})
    assert returned.status_code == 303 and returned.headers["location"] == "/pharmacy/review"
    approved = await client.post(f"/prescriptions/{second.id}/actions/approve", data={"csrf_token": csrf})
    assert approved.status_code == 303
    assert "queue-empty" in (await client.get("/pharmacy/review")).text
    forged = await client.post(f"/prescriptions/{second.id}/actions/approve", data={"csrf_token": "wrong"})
    assert forged.status_code == 403


async def test_the_doctor_revises_a_returned_prescription_on_the_form(client, world, net):
    prescription = await write(world, net)
    await service.review(
        world.db, await world.principal(net.pharmacist), prescription.id, "return", "请改用瑞舒伐他汀")
    csrf = await sign_in(client, world.db, net.doctor)
    form = await client.get(f"/prescriptions/{prescription.id}/revise")
    assert "请改用瑞舒伐他汀" in form.text and 'value="atorvastatin-20mg-tab" selected' in form.text
    posted = await client.post(f"/prescriptions/{prescription.id}/revise", data=_form(
        line(), line("rosuvastatin-10mg-tab", 10), csrf_token=csrf, note="已改"))
    assert posted.status_code == 303
    await world.db.refresh(prescription)
    assert (prescription.state, prescription.version_no) == ("pending_review", 2)


async def test_the_patient_asks_for_a_refill_on_the_phone_page(client, world, net):
    order = await write(world, net)
    await approve(world, net, order)
    csrf = await sign_in(client, world.db, net.patient_user)
    listed = await client.get("/portal/prescriptions")
    assert f'data-testid="refill-{order.id}"' in listed.text
    assert f"/portal/deliveries/new?prescription={order.id}" in listed.text  # approved: get my medicine
    asked = await client.post(f"/portal/prescriptions/{order.id}/refill", data={"csrf_token": csrf, "note": "快吃完了"})
    assert asked.status_code == 303
    detail = await client.get(asked.headers["location"])
    assert "refill-asked" in detail.text and "Waiting for the doctor" in detail.text
    again = await client.post(f"/portal/prescriptions/{order.id}/refill", data={"csrf_token": csrf})
    assert again.status_code == 409 and "already waiting for the doctor" in again.text
    assert len((await world.db.scalars(select(RefillRequest))).all()) == 1


async def test_an_expired_prescription_says_why_there_is_no_refill(client, world, net):
    order = await write(world, net)
    await approve(world, net, order)
    await dispensing.mark_dispensed(world.db, order.id)
    await age_out(world.db, order, days=40)
    await sign_in(client, world.db, net.patient_user)
    listed = await client.get("/portal/prescriptions")
    assert f'data-testid="refill-{order.id}"' not in listed.text and "has expired" in listed.text


async def test_the_doctor_decides_a_refill_on_the_page(client, world, net):
    order = await write(world, net)
    await approve(world, net, order)
    await dispensing.mark_dispensed(world.db, order.id)
    request = await refills.request_refill(world.db, await world.principal(net.patient_user), order.id)
    csrf = await sign_in(client, world.db, net.doctor)
    inbox = await client.get("/prescriptions/refills")
    assert f'data-testid="refill-{request.id}"' in inbox.text and "王建国" in inbox.text
    page = await client.get(f"/prescriptions/refills/{request.id}")
    assert 'data-testid="refill-approve"' in page.text and "2 of 2 left" in page.text
    edit = await client.get(f"/prescriptions/refills/{request.id}/edit")
    assert 'value="amlodipine-5mg-tab" selected' in edit.text
    approved = await client.post(f"/prescriptions/refills/{request.id}/approve", data={"csrf_token": csrf})
    assert approved.status_code == 303
    await world.db.refresh(request)
    assert approved.headers["location"] == f"/prescriptions/{request.new_prescription_id}"


async def test_pages_default_to_chinese(client, world, net):
    await write(world, net)
    await sign_in(client, world.db, net.patient_user)
    listed = await client.get("/portal/prescriptions", headers={"Accept-Language": "zh-CN"})
    assert "苯磺酸氨氯地平片 5 mg" in listed.text and 'lang="zh-CN"' in listed.text
