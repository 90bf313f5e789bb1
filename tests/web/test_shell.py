from carebridge.auth.models import Role


async def test_healthz_reports_version_and_engine(client, engine):
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "0.1.0"
    assert body["database"] == engine.dialect.name


async def test_dashboard_redirects_anonymous_browser_to_login(client):
    response = await client.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/dashboard")


async def test_sign_in_sets_session_and_shows_dashboard(client, world):
    facility = await world.facility()
    await world.user((Role.doctor, facility.id), username="dr.wang")
    response = await client.post("/login", data={"username": "dr.wang", "password": "correct-horse-battery"})
    assert response.status_code == 303
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert "Doctor" in page.text and "doctor ·" not in page.text
    assert 'name="csrf_token"' in page.text


async def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, world):
    facility = await world.facility()
    await world.user((Role.doctor, facility.id), username="dr.li")
    response = await client.post("/login", data={"username": "dr.li", "password": "nope-nope-nope"})
    assert response.status_code == 401
    unknown = await client.post("/login", data={"username": "nobody", "password": "nope-nope-nope"})
    assert unknown.status_code == 401


async def test_unsafe_form_without_csrf_token_is_refused(client, world):
    facility = await world.facility()
    await world.user((Role.doctor, facility.id), username="dr.zhao")
    await client.post("/login", data={"username": "dr.zhao", "password": "correct-horse-battery"})
    response = await client.post("/logout", data={})
    assert response.status_code == 403
    assert (await client.get("/dashboard")).status_code == 200


async def test_unknown_api_route_answers_json_error(client):
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_language_switch_translates_pages(client):
    await client.get("/i18n/en")
    english = await client.get("/login")
    await client.get("/i18n/zh_CN")
    chinese = await client.get("/login")
    assert "Sign in" in english.text
    assert "登录" in chinese.text


async def test_a_browser_with_no_language_preference_gets_chinese(client):
    page = await client.get("/login", headers={"Accept-Language": ""})
    assert "登录" in page.text
    assert 'lang="zh-CN"' in page.text


async def test_accept_language_english_gets_english_errors(client):
    response = await client.get("/api/v1/no-such-thing", headers={"Accept-Language": "zh-CN"})
    chinese = response.json()["message"]
    response = await client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert response.json()["message"] == "there is no such page or resource"
    assert chinese == "没有这个页面或资源"
