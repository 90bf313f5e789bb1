"""The records pages as a browser uses them (cookie session + CSRF, htmx fragments)."""

import datetime as dt
import re

from sqlalchemy import func, select

from carebridge.records.models import Patient, RecordEntry
from tests.records.conftest import PDF, PNG, national_id, sign_in

HTMX = {"HX-Request": "true"}


async def test_search_page_and_live_results(client, clinic):
    await sign_in(client, clinic.doctor_a)
    page = await client.get("/patients")
    assert page.status_code == 200 and 'data-testid="patient-search"' in page.text
    live = await client.get("/patients", params={"q": "张"}, headers=HTMX)
    assert "<html" not in live.text
    assert f'data-patient-id="{clinic.patient.id}"' in live.text
    assert clinic.patient.national_id not in live.text and clinic.patient.national_id_masked in live.text
    none = await client.get("/patients", params={"q": "无此人"}, headers=HTMX)
    assert 'data-testid="no-results"' in none.text


async def test_registration_form_with_duplicate_confirmation(client, clinic, db):
    csrf = await sign_in(client, clinic.doctor_b)
    form = {"csrf_token": csrf, "name": "张三", "sex": "male", "birth_date": "1970-03-01", "phone": ""}
    first = await client.post("/patients/new", data=form)
    assert first.status_code == 409
    assert 'data-testid="possible-duplicates"' in first.text and 'data-testid="confirm-not-duplicate"' in first.text
    before = await db.scalar(select(func.count()).select_from(Patient))
    confirmed = await client.post("/patients/new", data={**form, "confirm_not_duplicate": "1"})
    assert confirmed.status_code == 303
    assert await db.scalar(select(func.count()).select_from(Patient)) == before + 1
    new_page = await client.get(confirmed.headers["location"])
    assert new_page.status_code == 200 and "张三" in new_page.text


async def test_registration_form_offers_registering_a_known_patient_here(client, clinic):
    csrf = await sign_in(client, clinic.doctor_b)
    form = {"csrf_token": csrf, "name": "张三", "sex": "male", "birth_date": "1970-03-01",
            "national_id": clinic.patient.national_id}
    known = await client.post("/patients/new", data=form)
    assert known.status_code == 409 and 'data-testid="existing-patient"' in known.text
    action = f"/patients/{clinic.patient.id}/register-here"
    assert action in known.text
    here = await client.post(action, data={"csrf_token": csrf, "national_id": clinic.patient.national_id})
    assert here.status_code == 303 and here.headers["location"] == f"/patients/{clinic.patient.id}"
    assert (await client.get(here.headers["location"])).status_code == 200


async def test_registration_form_shows_validation_errors_and_keeps_input(client, clinic):
    csrf = await sign_in(client, clinic.doctor_a)
    nid = national_id(dt.date(1990, 1, 1), "male")
    bad = nid[:17] + ("1" if nid[17] != "1" else "2")
    response = await client.post("/patients/new", data={"csrf_token": csrf, "name": "赵六", "sex": "male",
                                                        "birth_date": "1990-01-01", "national_id": bad})
    assert response.status_code == 422
    assert 'data-testid="form-error"' in response.text and 'value="赵六"' in response.text


async def test_patient_page_shows_header_allergies_charts_forms_and_timeline(client, clinic):
    csrf = await sign_in(client, clinic.doctor_a)
    pid = clinic.patient.id
    for day, (systolic, diastolic) in enumerate([(150, 95), (138, 88), (128, 82)], start=1):
        for code, value in (("8480-6", systolic), ("8462-4", diastolic)):
            saved = await client.post(f"/patients/{pid}/entries/observation", data={
                "csrf_token": csrf, "code": code, "value": str(value), "occurred_at": f"2024-05-0{day}T08:30"})
            assert saved.status_code == 303, saved.text[:500]
    for value in ("7.9", "7.1"):
        await client.post(f"/patients/{pid}/entries/observation",
                          data={"csrf_token": csrf, "code": "4548-4 糖化血红蛋白", "value": value})
    await client.post(f"/patients/{pid}/entries/allergy", data={"csrf_token": csrf, "display": "青霉素"})
    page = await client.get(f"/patients/{pid}")
    text = page.text
    assert 'data-testid="allergy-banner"' in text and "青霉素" in text
    assert clinic.patient.national_id_masked in text and clinic.patient.national_id not in text
    assert 'data-chart="blood-pressure"' in text and 'data-chart="4548-4"' in text
    assert text.count('class="point s0"') >= 3 and text.count('class="point s1"') >= 3  # both BP series
    assert 'class="band s0"' in text and "2024-05-01" in text
    for testid in ("obs-code", "obs-value-input", "obs-unit", "obs-submit", "doc-file", "upload-progress"):
        assert f'data-testid="{testid}"' in text
    assert 'value="8480-6" data-unit="mm[Hg]" data-low="90" data-high="139"' in text
    assert text.count('data-testid="timeline-item"') == 9
    assert '<script src="/static/records.js" defer></script>' in text


async def test_rejected_entry_form_rerenders_with_message_and_input(client, clinic, db):
    csrf = await sign_in(client, clinic.doctor_a)
    before = await db.scalar(select(func.count()).select_from(RecordEntry))
    response = await client.post(f"/patients/{clinic.patient.id}/entries/observation",
                                 data={"csrf_token": csrf, "code": "8480-7", "value": "120"})
    assert response.status_code == 422
    assert 'data-testid="form-error"' in response.text and 'value="8480-7"' in response.text
    assert await db.scalar(select(func.count()).select_from(RecordEntry)) == before
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    late = await client.post(f"/patients/{clinic.patient.id}/entries/condition",
                             data={"csrf_token": csrf, "code": "I10", "occurred_at": future.strftime("%Y-%m-%dT%H:%M")})
    assert late.status_code == 422
    no_csrf = await client.post(f"/patients/{clinic.patient.id}/entries/condition", data={"code": "I10"})
    assert no_csrf.status_code == 403


async def test_void_from_the_page_shows_the_entry_voided(client, clinic):
    csrf = await sign_in(client, clinic.doctor_a)
    saved = await client.post(f"/patients/{clinic.patient.id}/entries/condition", data={"csrf_token": csrf,
                                                                                       "code": "J45.9"})
    entry_id = int(re.search(r"#entry-(\d+)", saved.headers["location"]).group(1))
    short = await client.post(f"/entries/{entry_id}/void", data={"csrf_token": csrf, "reason": "x"})
    assert short.status_code == 422
    voided = await client.post(f"/entries/{entry_id}/void", data={"csrf_token": csrf, "reason": "wrong patient"})
    assert voided.status_code == 303
    page = await client.get(f"/patients/{clinic.patient.id}")
    item = page.text[page.text.index(f'id="entry-{entry_id}"'):]
    item = item[:item.index("</li>")]
    assert "is-voided" in item and 'data-testid="voided-tag"' in item and "wrong patient" in item


async def test_upload_through_htmx_redirects_and_errors_render_under_the_form(client, clinic, db):
    csrf = await sign_in(client, clinic.doctor_a)
    path = f"/patients/{clinic.patient.id}/documents"
    ok = await client.post(path, data={"csrf_token": csrf, "title": "心电图"}, headers=HTMX,
                           files={"file": ("ecg.png", PNG, "image/png")})
    assert ok.status_code == 204 and ok.headers["HX-Redirect"].startswith(f"/patients/{clinic.patient.id}")
    before = await db.scalar(select(func.count()).select_from(RecordEntry))
    bad = await client.post(path, data={"csrf_token": csrf}, headers=HTMX,
                            files={"file": ("ecg.pdf", PNG, "application/pdf")})
    assert bad.status_code == 415 and 'data-testid="upload-error"' in bad.text and "<html" not in bad.text
    assert await db.scalar(select(func.count()).select_from(RecordEntry)) == before
    plain = await client.post(path, data={"csrf_token": csrf}, files={"file": ("r.pdf", PDF, "application/pdf")})
    assert plain.status_code == 303
    page = await client.get(f"/patients/{clinic.patient.id}")
    assert 'data-testid="doc-open"' in page.text and '<iframe class="doc-frame"' in page.text
    assert '<img class="doc-image"' in page.text


async def test_timeline_fragment_filters_and_loads_more(client, clinic, db):
    csrf = await sign_in(client, clinic.doctor_a)
    for i in range(30):
        await client.post(f"/patients/{clinic.patient.id}/entries/observation",
                          data={"csrf_token": csrf, "code": "8867-4", "value": str(60 + i)})
    await client.post(f"/patients/{clinic.patient.id}/entries/condition", data={"csrf_token": csrf, "code": "I10"})
    url = f"/patients/{clinic.patient.id}/timeline"
    conditions = await client.get(url, params={"kind": "condition"}, headers=HTMX)
    assert conditions.text.count('data-testid="timeline-item"') == 1 and 'data-kind="condition"' in conditions.text
    first = await client.get(url, headers=HTMX)
    assert first.text.count('data-testid="timeline-item"') == 25
    cursor = re.search(r"cursor=([A-Za-z0-9_-]+)", first.text).group(1)
    more = await client.get(url, params={"cursor": cursor}, headers=HTMX)
    assert more.text.count('data-testid="timeline-item"') == 6 and 'data-testid="timeline-more"' not in more.text


async def test_my_record_is_read_only_for_the_patient(client, clinic, world):
    doctor = await world.principal(clinic.doctor_a)
    from carebridge.records import service
    from carebridge.records.schemas import ObservationIn

    await service.add_observation(world.db, doctor, clinic.patient.id, ObservationIn(code="8867-4", value=70))
    await sign_in(client, clinic.patient_user)
    page = await client.get("/me/record")
    assert page.status_code == 200
    assert 'data-testid="timeline-item"' in page.text and "张三" in page.text
    assert 'data-testid="add-entry"' not in page.text and 'data-testid="void-open"' not in page.text
    fragment = await client.get("/me/record/timeline", params={"kind": "observation"}, headers=HTMX)
    assert fragment.status_code == 200 and 'data-testid="void-open"' not in fragment.text
    other = await world.patient(clinic.a, name="别人", national_id=None)
    assert (await client.get(f"/patients/{other.id}")).status_code == 404


async def test_my_record_without_a_linked_patient_is_404(client, clinic):
    await sign_in(client, clinic.doctor_a)
    assert (await client.get("/me/record")).status_code == 404


async def test_edit_demographics_page(client, clinic):
    csrf = await sign_in(client, clinic.doctor_a)
    form = await client.get(f"/patients/{clinic.patient.id}/edit")
    assert clinic.patient.national_id in form.text  # the full ID only on the edit form of a registering site
    saved = await client.post(f"/patients/{clinic.patient.id}/edit", data={
        "csrf_token": csrf, "name": "张三", "sex": "male", "birth_date": "1970-03-01",
        "national_id": clinic.patient.national_id, "phone": "13600001111", "address": "", "name_en": "Zhang San"})
    assert saved.status_code == 303
    bad = await client.post(f"/patients/{clinic.patient.id}/edit", data={
        "csrf_token": csrf, "name": "张三", "sex": "female", "birth_date": "1970-03-01",
        "national_id": clinic.patient.national_id})
    assert bad.status_code == 422 and 'data-testid="form-error"' in bad.text
