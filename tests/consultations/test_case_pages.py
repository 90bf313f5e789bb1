"""The consultation pages: request from the form, the case page with its buttons, the list."""

from __future__ import annotations

import pytest

from tests.auth.conftest import login_as


@pytest.fixture
async def browser(consult_app, client):  # noqa: ANN001, ANN201
    return client


async def test_a_doctor_asks_and_the_specialist_accepts_from_the_pages(browser, world, db, net):
    csrf = await login_as(browser, db, net.requester)
    form = await browser.get(f"/consultations/new?patient_id={net.patient.id}")
    assert form.status_code == 200 and "Heart rate" in form.text and net.specialty in form.text
    sent = await browser.post("/consultations/new", data={
        "csrf_token": csrf, "patient_id": net.patient.id, "question": "Is this atrial fibrillation?",
        "urgency": "urgent", "mode": "async", "specialty": net.specialty,
        "shared_entry_ids": [net.entries[0].id], "send": "1"})
    assert sent.status_code == 303, sent.text
    url = sent.headers["location"]
    browser.cookies.clear()
    csrf = await login_as(browser, db, net.county_doctor)
    page = await browser.get(url)
    assert page.status_code == 200 and "Submitted" in page.text and "Heart rate" in page.text
    assert "Essential hypertension" not in page.text and 'data-testid="action-triage"' in page.text
    for action in ("triage", "accept"):
        moved = await browser.post(f"{url}/actions/{action}", data={"csrf_token": csrf})
        assert moved.status_code == 303, moved.text
    page = await browser.get(url)
    assert "Accepted" in page.text and 'data-testid="action-sign_opinion"' in page.text
    listed = await browser.get("/consultations")
    assert url in listed.text


async def test_pages_refuse_outsiders_and_anonymous(browser, world, db, net):
    anonymous = await browser.get("/consultations")
    assert anonymous.status_code in (302, 303, 401)
    await login_as(browser, db, net.city_doctor)
    assert (await browser.get(f"/consultations/new?patient_id={net.patient.id}")).status_code == 404
    assert (await browser.get("/consultations/999999")).status_code == 404


async def test_shared_items_are_named_in_the_readers_language(browser, world, db, net):
    """Coded items are named by their code, as on the patient page, not by the English display."""
    csrf = await login_as(browser, db, net.requester)
    browser.cookies.set("cb_lang", "zh_CN")
    form = await browser.get(f"/consultations/new?patient_id={net.patient.id}")
    assert "心率" in form.text and "Heart rate" not in form.text
    sent = await browser.post("/consultations/new", data={
        "csrf_token": csrf, "patient_id": net.patient.id, "question": "房颤吗？", "specialty": net.specialty,
        "shared_entry_ids": [net.entries[0].id, net.entries[1].id]})
    page = await browser.get(sent.headers["location"])
    assert "心率" in page.text and "原发性高血压" in page.text and "Essential hypertension" not in page.text
