"""User administration: who may see, create, deactivate; pages and API; route matrices."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from carebridge.auth.models import Role, User
from tests.auth.conftest import csrf_from, login_as, sign_in


async def test_user_api_matrix(client, world):
    home, away = await world.facility(), await world.facility()
    doctor = await world.user((Role.doctor, home.id))
    admin = await world.user((Role.facility_admin, home.id))
    away_doctor = await world.user((Role.doctor, away.id))
    root = await world.user((Role.platform_admin, None))
    assert (await client.get("/api/v1/users")).status_code == 401
    assert (await client.get(f"/api/v1/users/{doctor.id}")).status_code == 401
    assert (await client.get("/api/v1/users", headers=await world.token(doctor))).status_code == 403
    admin_headers = await world.token(admin)
    listed = await client.get("/api/v1/users?limit=200", headers=admin_headers)
    assert listed.status_code == 200
    ids = {u["id"] for u in listed.json()["items"]}
    assert {doctor.id, admin.id} <= ids and away_doctor.id not in ids and root.id not in ids
    assert (await client.get(f"/api/v1/users/{away_doctor.id}", headers=admin_headers)).status_code == 404
    assert (await client.get(f"/api/v1/users/{doctor.id}", headers=admin_headers)).status_code == 200
    everyone = await client.get("/api/v1/users?limit=200", headers=await world.token(root))
    assert {doctor.id, away_doctor.id, root.id} <= {u["id"] for u in everyone.json()["items"]}


async def test_user_list_pages_with_a_cursor(client, world):
    facility = await world.facility()
    admin = await world.user((Role.facility_admin, facility.id))
    for _ in range(4):
        await world.user((Role.nurse, facility.id))
    headers = await world.token(admin)
    first = (await client.get("/api/v1/users?limit=2", headers=headers)).json()
    second = (await client.get(f"/api/v1/users?limit=2&cursor={first['next_cursor']}", headers=headers)).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    assert not {u["id"] for u in first["items"]} & {u["id"] for u in second["items"]}
    assert (await client.get("/api/v1/users?cursor=%%%", headers=headers)).status_code == 422


async def test_facility_admin_creates_staff_only_at_their_facility(client, world, db):
    home, away = await world.facility(), await world.facility()
    admin = await world.user((Role.facility_admin, home.id))
    headers = await world.token(admin)
    made = await client.post("/api/v1/users", headers=headers, json={
        "username": "Nurse.Ma", "display_name": "马护士", "role": "nurse", "facility_id": home.id})
    assert made.status_code == 201
    body = made.json()
    assert body["username"] == "nurse.ma" and body["initial_password"]
    assert body["roles"] == [{"role": "nurse", "facility_id": home.id, "facility_name": home.name}]
    assert (await sign_in(client, "nurse.ma", body["initial_password"])).status_code == 303

    elsewhere = await client.post("/api/v1/users", headers=headers, json={
        "username": "dr.away", "display_name": "Away", "role": "doctor", "facility_id": away.id})
    assert elsewhere.status_code == 403
    platform = await client.post("/api/v1/users", headers=headers, json={
        "username": "root2", "display_name": "Root", "role": "platform_admin"})
    assert platform.status_code == 403
    taken = await client.post("/api/v1/users", headers=headers, json={
        "username": "nurse.ma", "display_name": "Again", "role": "nurse", "facility_id": home.id})
    assert taken.status_code == 409
    unknown_role = await client.post("/api/v1/users", headers=headers, json={
        "username": "x.y", "display_name": "X", "role": "wizard", "facility_id": home.id})
    assert unknown_role.status_code == 422
    count = await db.scalar(select(func.count()).select_from(User).where(User.username.in_(["dr.away", "root2"])))
    assert count == 0


async def test_platform_admin_bad_facility_leaves_nothing_half_written(client, world, db):
    root = await world.user((Role.platform_admin, None))
    response = await client.post("/api/v1/users", headers=await world.token(root), json={
        "username": "dr.nowhere", "display_name": "Nowhere", "role": "doctor", "facility_id": 987654321,
        "password": "a-fine-long-password"})
    assert response.status_code == 422
    assert await db.scalar(select(User.id).where(User.username == "dr.nowhere")) is None


async def test_deactivation_ends_sessions_and_tokens(client, other_client, world, db):
    facility = await world.facility()
    admin = await world.user((Role.facility_admin, facility.id))
    doctor = await world.user((Role.doctor, facility.id), username="dr.leaving")
    doctor_headers = await world.token(doctor)
    await sign_in(other_client, "dr.leaving")
    assert (await other_client.get("/dashboard")).status_code == 200
    response = await client.post(f"/api/v1/users/{doctor.id}/deactivate", headers=await world.token(admin))
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert (await other_client.get("/dashboard")).status_code == 303
    assert (await client.get("/api/v1/auth/me", headers=doctor_headers)).status_code == 401
    assert (await sign_in(client, "dr.leaving")).status_code == 401
    again = await client.post(f"/api/v1/users/{doctor.id}/activate", headers=await world.token(admin))
    assert again.json()["is_active"] is True


async def test_facility_admin_cannot_switch_off_people_who_also_work_elsewhere(client, world):
    home, away = await world.facility(), await world.facility()
    admin = await world.user((Role.facility_admin, home.id))
    both = await world.user((Role.doctor, home.id), (Role.doctor, away.id))
    response = await client.post(f"/api/v1/users/{both.id}/deactivate", headers=await world.token(admin))
    assert response.status_code == 403
    self_off = await client.post(f"/api/v1/users/{admin.id}/deactivate", headers=await world.token(admin))
    assert self_off.status_code == 422


async def test_granting_roles(client, world):
    home, away = await world.facility(), await world.facility()
    admin = await world.user((Role.facility_admin, home.id))
    nurse = await world.user((Role.nurse, home.id))
    headers = await world.token(admin)
    ok = await client.post(f"/api/v1/users/{nurse.id}/roles", headers=headers,
                           json={"role": "technician", "facility_id": home.id})
    assert ok.status_code == 200
    assert {r["role"] for r in ok.json()["roles"]} == {"nurse", "technician"}
    away_grant = await client.post(f"/api/v1/users/{nurse.id}/roles", headers=headers,
                                   json={"role": "doctor", "facility_id": away.id})
    assert away_grant.status_code == 403


async def test_user_admin_pages(client, world, db):
    home = await world.facility(name="Home County Hospital")
    admin = await world.user((Role.facility_admin, home.id), username="admin.pages")
    await world.user((Role.doctor, home.id), username="dr.listed")
    csrf = await login_as(client, db, admin)
    listing = await client.get("/admin/users")
    assert listing.status_code == 200
    assert "dr.listed" in listing.text and f'value="{home.code}"' in listing.text
    created = await client.post("/admin/users", data={
        "username": "tech.new", "display_name": "新技师", "role": "technician", "facility_code": home.code,
        "csrf_token": csrf})
    assert created.status_code == 201
    initial = re.search(r'class="token-secret">([^<]+)<', created.text).group(1)
    assert (await client.get("/admin/users?q=tech.new")).text.count("tech.new") >= 1
    new_id = await db.scalar(select(User.id).where(User.username == "tech.new"))
    deactivated = await client.post(f"/admin/users/{new_id}/deactivate", data={"csrf_token": csrf})
    assert deactivated.status_code == 303
    page = await client.get(deactivated.headers["location"])
    assert "tech.new" in page.text
    client.cookies.clear()
    assert (await sign_in(client, "tech.new", initial)).status_code == 401

    no_csrf = await client.post("/admin/users", data={"username": "x", "display_name": "x", "role": "nurse"})
    assert no_csrf.status_code in (303, 401, 403)


async def test_user_admin_page_matrix(client, world, db):
    home, away = await world.facility(), await world.facility()
    away_doctor = await world.user((Role.doctor, away.id))
    assert (await client.get("/admin/users")).status_code == 303  # anonymous: to sign-in
    doctor = await world.user((Role.doctor, home.id))
    await login_as(client, db, doctor)
    assert (await client.get("/admin/users")).status_code == 403
    client.cookies.clear()
    admin = await world.user((Role.facility_admin, home.id))
    csrf = await login_as(client, db, admin)
    assert (await client.get(f"/admin/users/{away_doctor.id}")).status_code == 404
    assert (await client.post(f"/admin/users/{away_doctor.id}/deactivate",
                              data={"csrf_token": csrf})).status_code == 404
    elsewhere = await client.post("/admin/users", data={
        "username": "dr.sneaky", "display_name": "Sneaky", "role": "doctor", "facility_code": away.code,
        "csrf_token": csrf})
    assert elsewhere.status_code == 403
    assert csrf_from(elsewhere.text) == csrf
