"""Every portal URL that names a patient, every kind of caller: changing the patient id in the URL
gives a 404 to anyone not allowed to act for that patient (a stranger with their own account, a
caregiver of someone else, staff of another facility), the same as for a patient that does not
exist; the patient and a permitted family member are let in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from carebridge.web.deps import SESSION_COOKIE
from tests.access.conftest import sign_in
from tests.portal.accounts.conftest import allow_resend, national_id, new_phone, outbox, profile, token_for_phone
from tests.portal.accounts.test_pages import CSRF

API = ["/api/v1/portal/patients/{pid}/record", "/api/v1/portal/patients/{pid}/reports",
       "/api/v1/portal/patients/{pid}/orders", "/api/v1/portal/patients/{pid}/access-log"]
PAGES = ["/portal/records?patient_id={pid}", "/portal/reports?patient_id={pid}",
         "/portal/orders?patient_id={pid}", "/portal/access-log?patient_id={pid}"]


async def _switch(client, patient_id: int):  # noqa: ANN001, ANN202
    """The switcher is a form: POST with the page's CSRF token."""
    csrf = CSRF.search((await client.get("/portal/me")).text).group(1)
    return await client.post("/portal/act", data={"patient_id": str(patient_id), "csrf_token": csrf})


@dataclass
class Callers:
    mother: dict  # the patient herself (bearer)
    son: dict  # may act for her
    stranger: dict  # their own account and record, nothing to do with her
    other_carer: dict  # acts for someone else
    son_phone: str
    stranger_phone: str


@pytest.fixture
async def callers(client, app, db, world, scene) -> Callers:  # noqa: ANN001
    son_phone, stranger_phone, carer_phone = new_phone(), new_phone(), new_phone()
    son = await token_for_phone(client, app, son_phone)
    stranger = await token_for_phone(client, app, stranger_phone)
    await profile(client, stranger, "路人甲", national_id(dt.date(1985, 3, 3), "male"))
    other_carer = await token_for_phone(client, app, carer_phone)
    mother = await token_for_phone(client, app, scene.mother.phone)
    await profile(client, mother, "李秀英", scene.mother.national_id)
    granted = await client.post(f"/api/v1/portal/patients/{scene.mother.id}/caregivers", headers=mother,
                                json={"phone": son_phone, "relationship": "child"})
    assert granted.status_code == 201
    # the stranger lets the other carer act for *them*: a permission, but not for the mother
    stranger_me = (await client.get("/api/v1/portal/me", headers=stranger)).json()
    await client.post(f"/api/v1/portal/patients/{stranger_me['patient_id']}/caregivers", headers=stranger,
                      json={"phone": carer_phone, "relationship": "other"})
    await allow_resend(db)
    return Callers(mother, son, stranger, other_carer, son_phone, stranger_phone)


async def test_the_api_answers_404_to_everyone_not_allowed(client, world, scene, callers):
    missing = 10**9
    staff = await world.token(scene.other_doctor)
    for path in API:
        for who, headers in (("stranger", callers.stranger), ("other carer", callers.other_carer),
                             ("other facility", staff)):
            answer = await client.get(path.format(pid=scene.mother.id), headers=headers)
            assert answer.status_code == 404, (path, who, answer.text)
            assert answer.json()["code"] == "not_found"
        assert (await client.get(path.format(pid=missing), headers=callers.son)).status_code == 404
        assert (await client.get(path.format(pid=scene.mother.id))).status_code == 401
        for who, headers in (("patient", callers.mother), ("son", callers.son)):
            assert (await client.get(path.format(pid=scene.mother.id), headers=headers)).status_code == 200, (path, who)


async def _browser_as(client, app, phone: str) -> None:  # noqa: ANN001
    client.cookies.clear()
    await client.post("/portal/signin/code", data={"phone": phone})
    signed = await client.post("/portal/signin", data={"phone": phone, "code": outbox(app).last_code(phone)})
    assert signed.status_code == 303 and SESSION_COOKIE in client.cookies


async def test_the_pages_answer_404_when_the_patient_id_is_changed(client, app, scene, callers):
    await _browser_as(client, app, callers.stranger_phone)
    for path in PAGES:
        answer = await client.get(path.format(pid=scene.mother.id))
        assert answer.status_code == 404, path
        assert "李秀英" not in answer.text
    assert (await _switch(client, scene.mother.id)).status_code == 404
    for path in PAGES:
        assert (await client.get(path.format(pid=10**9))).status_code == 404

    await _browser_as(client, app, callers.son_phone)
    for path in PAGES:
        answer = await client.get(path.format(pid=scene.mother.id))
        assert answer.status_code == 200, path
    assert (await _switch(client, scene.mother.id)).status_code == 303


async def test_revocation_takes_effect_on_the_next_page_and_the_switcher_falls_back(client, app, db, scene, callers):
    await _browser_as(client, app, callers.son_phone)
    await _switch(client, scene.mother.id)
    assert "李秀英" in (await client.get("/portal/records")).text
    permission = (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/caregivers",
                                   headers=callers.mother)).json()[0]
    revoked = await client.post(f"/api/v1/portal/caregivers/{permission['id']}/revoke", headers=callers.mother)
    assert revoked.status_code == 200
    for path in PAGES:
        assert (await client.get(path.format(pid=scene.mother.id))).status_code == 404, path
    assert (await _switch(client, scene.mother.id)).status_code == 404
    home = await client.get("/portal")  # the remembered choice is gone; no refusal, no parent
    assert home.status_code == 200 and "李秀英" not in home.text
    assert (await client.get("/portal/records")).status_code == 303  # acting for nobody: back home


async def test_staff_family_page_is_for_staff_where_the_patient_is_registered(client, world, scene, callers):
    path = f"/portal/staff/patients/{scene.mother.id}/family"
    for user, expected in ((scene.other_doctor, 404), (scene.town_admin, 403), (scene.town_doctor, 200)):
        await sign_in(client, world.db, user)
        answer = await client.get(path)
        assert answer.status_code == expected, user.username
    assert callers.son_phone in answer.text  # staff see whom the permission names, in full
