"""The opinion pages: the lead writes and signs from the form, a refused signature keeps what was
typed, the requester acknowledges beside the opinion and records the outcome, a member writes a
section, and the signed report shows on the patient's timeline."""

from __future__ import annotations

import re

import pytest

from carebridge.consultations import opinion, team
from tests.auth.conftest import login_as
from tests.consultations.opinion_helpers import sign_opinion
from tests.consultations.test_opinion_service import accepted_case

FORM = {"assessment": "Paroxysmal AF.", "diagnoses": "I48.9\nI10 Essential hypertension",
        "recommendations": "Apixaban 5 mg bid.", "treatment_plan": "", "referral_advice": "refer_up",
        "referral_note": "Ablation work-up", "follow_up_days": "28"}


@pytest.fixture
async def browser(consult_app, client):  # noqa: ANN001, ANN201
    return client


async def test_the_lead_writes_and_signs_from_the_form(browser, world, db, net):
    case = await accepted_case(world, db, net)
    csrf = await login_as(browser, db, net.county_doctor)
    url = f"/consultations/{case.id}"
    page = await browser.get(url)
    assert 'data-testid="action-sign_opinion"' in page.text and 'data-testid="opinion-edit"' in page.text
    editor = await browser.get(f"{url}/opinion")
    assert editor.status_code == 200 and 'data-testid="opinion-assessment"' in editor.text
    unsigned = await browser.post(f"{url}/opinion", data={**FORM, "recommendations": "", "csrf_token": csrf,
                                                          "intent": "sign"})
    assert unsigned.status_code == 409 and "Recommendations" in unsigned.text
    assert "Paroxysmal AF." in unsigned.text  # the saved draft is shown again, nothing lost
    bad = await browser.post(f"{url}/opinion", data={**FORM, "diagnoses": "Q99x9 nonsense", "csrf_token": csrf})
    assert bad.status_code == 422 and "Q99x9 nonsense" in bad.text and "not a valid ICD-10 code" in bad.text
    signed = await browser.post(f"{url}/opinion", data={**FORM, "csrf_token": csrf, "intent": "sign"})
    assert signed.status_code == 303 and signed.headers["location"] == f"{url}#opinion"
    page = await browser.get(url)
    assert 'data-verified="true"' in page.text and "Opinion signed" in page.text
    stored = await opinion.opinion_of(db, case.id)
    assert stored.content_hash in page.text and 'data-testid="opinion-pdf"' in page.text
    assert 'data-testid="action-acknowledge"' not in page.text  # that is the requester's step


async def test_the_requester_acknowledges_records_the_outcome_and_sees_the_report_on_the_timeline(
        browser, world, db, net):
    case = await accepted_case(world, db, net)
    csrf = await login_as(browser, db, net.county_doctor)
    await browser.post(f"/consultations/{case.id}/opinion", data={**FORM, "csrf_token": csrf, "intent": "sign"})
    browser.cookies.clear()
    csrf = await login_as(browser, db, net.requester)
    url = f"/consultations/{case.id}"
    page = await browser.get(url)
    assert page.text.count('data-testid="action-acknowledge"') == 1
    assert 'data-testid="opinion-start-referral"' in page.text
    assert (await browser.post(f"{url}/actions/acknowledge", data={"csrf_token": csrf})).status_code == 303
    page = await browser.get(url)
    assert "Acknowledged" in page.text and 'data-testid="opinion-follow-up-due"' in page.text
    done = await browser.post(f"{url}/outcome", data={"csrf_token": csrf, "outcome": "In sinus rhythm.", "close": "1"})
    assert done.status_code == 303
    page = await browser.get(url)
    assert "Closed" in page.text and "In sinus rhythm." in page.text and "Outcome recorded" in page.text
    timeline = await browser.get(f"/patients/{net.patient.id}")
    assert f"Consultation opinion #{case.id}" in timeline.text
    pdf = await browser.get(f"/api/v1/consultations/{case.id}/opinion.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    referral = await browser.post(f"{url}/referral", data={"csrf_token": csrf, "reason": "specialist_needed"})
    assert referral.status_code == 303 and re.match(r"^/referrals/\d+$", referral.headers["location"])


async def test_a_member_writes_a_section_and_an_addendum(browser, world, db, net):
    case = await accepted_case(world, db, net)
    await team.invite_member(db, await world.principal(net.county_doctor), case.id, net.city_doctor.id)
    csrf = await login_as(browser, db, net.city_doctor)
    url = f"/consultations/{case.id}"
    assert 'data-testid="opinion-section-edit"' in (await browser.get(url)).text
    editor = await browser.get(f"{url}/opinion")
    assert 'data-testid="opinion-section-text"' in editor.text and 'data-testid="opinion-assessment"' not in editor.text
    saved = await browser.post(f"{url}/opinion/section", data={"csrf_token": csrf, "text": "Neurology: no deficit."})
    assert saved.status_code == 303
    assert "Neurology: no deficit." in (await browser.get(f"{url}/opinion")).text
    refused = await browser.post(f"{url}/opinion", data={**FORM, "csrf_token": csrf})
    assert refused.status_code == 403
    early = await browser.post(f"{url}/opinion/addenda", data={"csrf_token": csrf, "text": "too early"})
    assert early.status_code == 409 and "an addendum follows a signed opinion" in early.text
    await sign_opinion(db, await world.principal(net.county_doctor), case.id)
    short = await browser.post(f"{url}/opinion/addenda", data={"csrf_token": csrf, "text": "ok"})
    assert short.status_code == 422 and ">ok</textarea>" in short.text  # shown again with what was typed
    added = await browser.post(f"{url}/opinion/addenda", data={"csrf_token": csrf, "text": "Repeat the CT if worse."})
    assert added.status_code == 303
    assert 'data-testid="opinion-addenda"' in (await browser.get(url)).text


async def test_pages_refuse_anonymous_outsiders_missing_csrf_and_unsigned_reads(browser, world, db, net):
    case = await accepted_case(world, db, net)
    url = f"/consultations/{case.id}/opinion"
    assert (await browser.get(url)).status_code in (302, 303, 401)
    await login_as(browser, db, net.outsider)
    assert (await browser.get(url)).status_code == 404
    browser.cookies.clear()
    await login_as(browser, db, net.requester)
    assert (await browser.get(url)).status_code == 404  # a draft is not the requester's to read
    assert (await browser.post(url, data=FORM)).status_code == 403  # no CSRF token
