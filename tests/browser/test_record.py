"""The shared record as people use it: a doctor finds a patient, adds a blood pressure reading and
uploads a report; the patient then sees, in plain words, that the doctor opened the record."""

import pytest

from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser

# A minimal but valid one-page PDF.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


async def test_doctor_finds_patient_adds_observation_and_uploads_document(page, live_server, tmp_path):
    world = live_server.world
    await sign_in(page, world["doctor"], world["password"], world["totp_secret"])
    await page.goto("/patients")
    await page.fill("[data-testid=patient-search]", "王秀")
    result = page.locator("[data-testid=patient-result]").first
    await result.wait_for()
    await page.shots("search")
    assert world["patient_name"] in await result.inner_text()
    await result.locator("a").first.click()
    await page.wait_for_url(f"**/patients/{world['patient_id']}**")

    await page.fill("[data-testid=obs-code]", "8480-6")
    await page.fill("[data-testid=obs-value-input]", "168")
    await page.fill("[data-testid=obs-unit]", "mm[Hg]")
    await page.click("[data-testid=obs-submit]")
    await page.locator("[data-testid=saved]").wait_for()
    observation = page.locator("[data-testid=timeline-item][data-kind=observation]").first
    assert "168" in await observation.inner_text()
    await page.shots("observation-added")

    report = tmp_path / "discharge-summary.pdf"
    report.write_bytes(PDF)
    await page.locator("[data-testid=form-document] summary").click()
    await page.set_input_files("[data-testid=doc-file]", str(report))
    await page.fill("[data-testid=doc-title]", "出院小结")
    await page.click("[data-testid=doc-submit]")
    document = page.locator("[data-testid=timeline-item][data-kind=document]").filter(has_text="出院小结")
    await document.first.wait_for()
    await page.shots("document-uploaded")
    await document.first.locator("[data-testid=doc-open]").click()
    viewer = document.first.locator("[data-testid=doc-view] iframe, [data-testid=doc-view] object")
    await viewer.first.wait_for()
    await page.shots("document-inline")


async def test_patient_sees_who_viewed_the_record_on_a_phone(phone, browser, live_server):
    world = live_server.world
    doctor_context = await browser.new_context(base_url=live_server.base_url)
    doctor_page = await doctor_context.new_page()
    await sign_in(doctor_page, world["doctor"], world["password"], world["totp_secret"])
    await doctor_page.goto(f"/patients/{world['patient_id']}")
    await doctor_context.close()

    await sign_in(phone, world["patient_user"], world["password"])
    await phone.goto("/me/access-log")
    entry = phone.locator("[data-testid=access-log-entry]").first
    await entry.wait_for()
    await phone.shots("who-viewed-my-record")
    text = await entry.inner_text()
    assert "陈明" in text
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
