"""The patient's "Who viewed my record": every access by someone else, in plain words, newest first."""

from __future__ import annotations

import datetime as dt

import pytest

from carebridge.access import emergency, grants
from carebridge.access.service import access_patient
from carebridge.audit.access_log import patient_access_log
from carebridge.auth.models import Role
from carebridge.auth.service import sign_in as password_sign_in
from carebridge.errors import Forbidden, NotFound
from carebridge.kit import i18n
from tests.access.conftest import consent, grant, practitioner, sign_in
from tests.factories import PASSWORD


@pytest.fixture
def english():  # noqa: ANN201
    i18n.set_locale("en")
    yield
    i18n.set_locale("zh_CN")


async def _log(world, user, **kw):  # noqa: ANN001, ANN202
    return await patient_access_log(world.db, await world.principal(user), **kw)


async def test_a_view_is_told_in_plain_words(world, scene, english):
    scene.home.name_en = "County People's Hospital"
    await practitioner(world.db, scene.doctor)
    await access_patient(world.db, await world.principal(scene.doctor), scene.patient.id, purpose="consultation")
    [item] = (await _log(world, scene.patient_user)).items
    when = item.at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    assert item.text == (f"Dr. {scene.doctor.display_name} (Cardiology, County People's Hospital) "
                         f"viewed your record for a consultation on {when}.")
    assert (item.denied, item.emergency, item.specialty) == (False, False, "Cardiology")


async def test_names_follow_the_language(world, scene):
    scene.home.name_en = "County People's Hospital"
    await practitioner(world.db, scene.doctor)
    await access_patient(world.db, await world.principal(scene.doctor), scene.patient.id)
    i18n.set_locale("zh_CN")
    [item] = (await _log(world, scene.patient_user)).items
    assert "心血管内科" in item.text and "县人民医院" in item.text and "Cardiology" not in item.text


async def test_refusals_and_emergencies_are_marked(client, world, scene, english):
    outsider = await world.token(scene.outsider)
    assert (await client.get(f"/api/v1/patients/{scene.patient.id}/consents", headers=outsider)).status_code == 404
    await emergency.emergency_lookup(world.db, await world.principal(scene.outsider), scene.patient.national_id)
    await emergency.start_break_glass(world.db, await world.principal(scene.outsider), scene.patient.id,
                                      "unconscious after a road accident", scene.other.id)
    await access_patient(world.db, await world.principal(scene.outsider), scene.patient.id)
    items = (await _log(world, scene.patient_user)).items
    assert [(i.action, i.denied, i.emergency) for i in items] == [
        ("read", False, True), ("break_glass", False, True), ("search", False, True), ("read", True, False)]
    assert "opened your record with emergency access" in items[1].text
    assert items[1].reason == "unconscious after a road accident"
    assert "looked you up by national ID" in items[2].text
    assert "tried to open your record but was refused" in items[3].text


async def test_own_actions_and_sign_ins_are_left_out(world, scene):
    await access_patient(world.db, await world.principal(scene.patient_user), scene.patient.id)
    await password_sign_in(world.db, scene.patient_user.username, PASSWORD)
    await consent(world, scene.patient)
    assert (await _log(world, scene.patient_user)).items == []


async def test_other_patients_events_are_not_shown(world, scene):
    await access_patient(world.db, await world.principal(scene.outsider), scene.other_patient.id)
    assert (await _log(world, scene.patient_user)).items == []
    assert len((await _log(world, scene.other_patient_user)).items) == 1


async def test_grants_and_consent_decisions_by_others_are_explained(world, scene, english):
    await consent(world, scene.patient)
    await grant(world, scene.patient, facility=scene.other, by=scene.admin, scope_all=True)
    row = await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    await grants.revoke_grant(world.db, await world.principal(scene.admin), row.id, "referral cancelled")
    texts = [i.text for i in (await _log(world, scene.patient_user)).items]
    assert "withdrew an access grant" in texts[0]
    assert f"gave {scene.outsider.display_name} access to your record" in texts[1]
    assert f"gave {scene.other.name_en} access to your record" in texts[2]


async def test_merged_duplicates_history_is_included(world, scene):
    duplicate = await world.patient(scene.other, name="张小明")
    await access_patient(world.db, await world.principal(scene.outsider), duplicate.id)
    duplicate.merged_into_id = scene.patient.id
    await world.db.flush()
    assert len((await _log(world, scene.patient_user)).items) == 1


async def test_newest_first_with_a_cursor(world, scene):
    doctor = await world.principal(scene.doctor)
    for _ in range(5):
        await access_patient(world.db, doctor, scene.patient.id)
    first = await _log(world, scene.patient_user, limit=3)
    second = await _log(world, scene.patient_user, limit=3, cursor=first.next_cursor)
    seqs = [i.seq for i in first.items + second.items]
    assert len(seqs) == 5 and seqs == sorted(seqs, reverse=True) and second.next_cursor is None


@pytest.mark.parametrize("who", ["doctor", "admin", "platform"])
async def test_only_patients_have_an_access_log(world, scene, who):
    with pytest.raises(Forbidden):
        await _log(world, getattr(scene, who))


async def test_reading_the_log_is_itself_audited_but_not_listed(world, scene):
    from tests.access.conftest import audit_rows

    await _log(world, scene.patient_user)
    [row] = await audit_rows(world.db, resource_type="AccessLog")
    assert (row.actor_user_id, row.patient_id, row.purpose) == (scene.patient_user.id, scene.patient.id,
                                                                "patient_self")


async def test_patient_and_clinician_in_one_account_sees_only_their_patient_record(world, scene):
    both = await world.user((Role.doctor, scene.other.id), patient_id=scene.other_patient.id)
    await access_patient(world.db, await world.principal(scene.doctor), scene.patient.id)
    assert (await _log(world, both)).items == []
    with pytest.raises(NotFound):
        await access_patient(world.db, await world.principal(both), scene.patient.id)


# --- API and page ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [(None, 401), ("doctor", 403), ("admin", 403), ("patient_user", 200)])
async def test_access_log_api_matrix(client, world, scene, who, status):
    await access_patient(world.db, await world.principal(scene.doctor), scene.patient.id)
    headers = await world.token(getattr(scene, who)) if who else {}
    response = await client.get("/api/v1/me/access-log", headers=headers)
    assert response.status_code == status
    if status == 200:
        [item] = response.json()["items"]
        assert item["who"] == scene.doctor.display_name and item["action"] == "read"


async def test_access_log_api_speaks_the_callers_language(client, world, scene):
    await access_patient(world.db, await world.principal(scene.doctor), scene.patient.id)
    headers = await world.token(scene.patient_user)
    english = await client.get("/api/v1/me/access-log", headers={**headers, "Accept-Language": "en"})
    assert english.json()["items"][0]["text"].startswith(f"Dr. {scene.doctor.display_name}")


@pytest.mark.parametrize("who, status", [(None, 303), ("doctor", 403), ("admin", 403), ("patient_user", 200)])
async def test_access_log_page_matrix(client, world, scene, who, status):
    if who:
        await sign_in(client, world.db, getattr(scene, who))
    assert (await client.get("/me/access-log")).status_code == status


async def test_access_log_page_lists_entries_and_loads_older_with_htmx(client, world, scene):
    await emergency.start_break_glass(world.db, await world.principal(scene.outsider), scene.patient.id,
                                      "unconscious after a road accident", scene.other.id)
    doctor = await world.principal(scene.doctor)
    for _ in range(35):
        await access_patient(world.db, doctor, scene.patient.id)
    await sign_in(client, world.db, scene.patient_user)
    page = await client.get("/me/access-log", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert page.text.count('data-testid="access-log-entry"') == 30
    assert 'data-testid="access-log-more"' in page.text
    more_url = page.text.split('hx-get="')[1].split('"')[0]
    more = await client.get(more_url, headers={"HX-Request": "true"})
    assert "<html" not in more.text
    assert more.text.count('data-testid="access-log-entry"') == 6
    assert 'data-testid="access-log-emergency"' in more.text and "unconscious after a road accident" in more.text


async def test_empty_access_log_says_so(client, world, scene):
    await sign_in(client, world.db, scene.patient_user)
    assert 'data-testid="access-log-empty"' in (await client.get("/me/access-log")).text


async def test_refused_changes_say_what_was_attempted(client, world, scene, english):
    response = await client.post(f"/api/v1/patients/{scene.patient.id}/consents", json={"status": "refused"},
                                 headers=await world.token(scene.outsider))
    assert response.status_code == 404
    [item] = (await _log(world, scene.patient_user)).items
    assert item.denied and "tried to change your sharing consent but was refused" in item.text
