"""The account page: details, language, password, sessions; CSRF on its forms."""

from __future__ import annotations

from sqlalchemy import select

from carebridge.auth.models import Role, WebSession
from tests.auth.conftest import csrf_from, page_csrf, sign_in


async def test_account_page_matrix(client, world, db):
    assert (await client.get("/account")).status_code == 303
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    facility = await world.facility()
    patient = await world.patient(facility)
    await world.user((Role.patient, facility.id), username="pat.account", patient_id=patient.id)
    await sign_in(client, "pat.account")
    page = await client.get("/account")
    assert page.status_code == 200
    assert "pat.account" in page.text
    assert "/admin/users" not in page.text


async def test_profile_name_and_language_are_saved(client, world, db):
    facility = await world.facility()
    user = await world.user((Role.doctor, facility.id), username="dr.profile")
    await sign_in(client, "dr.profile")
    csrf = await page_csrf(client)
    saved = await client.post("/account/profile", data={"display_name": "王医生", "locale": "en", "csrf_token": csrf})
    assert saved.status_code == 303
    assert "cb_lang=en" in "; ".join(saved.headers.get_list("set-cookie"))
    await db.refresh(user)
    assert (user.display_name, user.locale) == ("王医生", "en")
    assert "Your details were saved." in (await client.get(saved.headers["location"])).text

    bad = await client.post("/account/profile", data={"display_name": "Someone Else", "locale": "fr",
                                                      "csrf_token": csrf})
    assert bad.status_code == 422
    await db.refresh(user)
    assert user.display_name == "王医生"  # nothing half-written

    api = await client.patch("/api/v1/auth/me", json={"locale": ""}, headers={"X-CSRF-Token": csrf})
    assert api.status_code == 200 and api.json()["locale"] is None
    assert (await client.patch("/api/v1/auth/me", json={"role": "platform_admin"},
                               headers={"X-CSRF-Token": csrf})).status_code == 422


async def test_forms_need_the_csrf_token(client, world):
    facility = await world.facility()
    await world.user((Role.doctor, facility.id), username="dr.forms")
    await sign_in(client, "dr.forms")
    without = await client.post("/account/profile", data={"display_name": "Changed"})
    assert without.status_code == 403
    wrong = await client.post("/account/profile", data={"display_name": "Changed", "csrf_token": "forged"})
    assert wrong.status_code == 403
    right = await client.post("/account/profile", data={"display_name": "Changed",
                                                        "csrf_token": await page_csrf(client)})
    assert right.status_code == 303


async def test_password_change_checks_and_ends_other_sessions(client, other_client, world, db):
    facility = await world.facility()
    await world.user((Role.doctor, facility.id), username="dr.pw")
    await sign_in(client, "dr.pw")
    await sign_in(other_client, "dr.pw")
    assert (await other_client.get("/dashboard")).status_code == 200
    csrf = await page_csrf(client)
    form = {"current_password": "correct-horse-battery", "new_password": "a-much-better-secret",
            "repeat_password": "a-much-better-secret", "csrf_token": csrf}
    wrong = await client.post("/account/password", data={**form, "current_password": "not-my-password"})
    assert wrong.status_code == 422
    weak = await client.post("/account/password", data={**form, "new_password": "short", "repeat_password": "short"})
    assert weak.status_code == 422
    differ = await client.post("/account/password", data={**form, "repeat_password": "something-else-entirely"})
    assert differ.status_code == 422
    changed = await client.post("/account/password", data=form)
    assert changed.status_code == 303
    assert (await client.get("/dashboard")).status_code == 200  # this session stays
    assert (await other_client.get("/dashboard")).status_code == 303  # the other one ended
    client.cookies.clear()
    assert (await sign_in(client, "dr.pw")).status_code == 401
    assert (await sign_in(client, "dr.pw", "a-much-better-secret")).status_code == 303


async def test_sessions_are_listed_and_others_signed_out(client, other_client, world, db):
    facility = await world.facility()
    user = await world.user((Role.nurse, facility.id), username="nurse.sessions")
    await sign_in(client, "nurse.sessions")
    await sign_in(other_client, "nurse.sessions")
    page = await client.get("/account")
    assert "198.51.100.20" in page.text and "203.0.113.7" in page.text
    listed = (await client.get("/api/v1/auth/sessions")).json()
    assert sorted(s["current"] for s in listed) == [False, True]
    ended = await client.post("/account/sessions/end-others", data={"csrf_token": csrf_from(page.text)})
    assert ended.status_code == 303
    assert (await other_client.get("/dashboard")).status_code == 303
    assert (await client.get("/dashboard")).status_code == 200
    open_sessions = (await db.scalars(select(WebSession).where(WebSession.user_id == user.id,
                                                               WebSession.ended_at.is_(None)))).all()
    assert len(open_sessions) == 1


async def test_password_change_over_the_api(client, world, db):
    facility = await world.facility()
    await world.user((Role.pharmacist, facility.id), username="ph.api")
    await sign_in(client, "ph.api")
    csrf = await page_csrf(client)
    response = await client.post("/api/v1/auth/password", headers={"X-CSRF-Token": csrf},
                                 json={"current_password": "correct-horse-battery",
                                       "new_password": "another-good-secret"})
    assert response.status_code == 200
    assert response.json() == {"sessions_ended": 0}


async def test_sign_out_ends_the_session(client, world):
    facility = await world.facility()
    await world.user((Role.doctor, facility.id), username="dr.bye")
    await sign_in(client, "dr.bye")
    csrf = await page_csrf(client)
    cookie = client.cookies["cb_session"]
    assert (await client.post("/logout", data={"csrf_token": csrf})).status_code == 303
    client.cookies.set("cb_session", cookie)
    assert (await client.get("/dashboard")).status_code == 303
