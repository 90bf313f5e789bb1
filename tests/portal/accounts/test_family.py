"""Family members: a caregiver acts for an elderly parent only with the parent's recorded
permission (from the parent's own account, or signed paper recorded by staff where the parent is
registered); read-only or everything; revoked at once; every access says who acted for whom."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebridge.access.service import ACT, access_patient
from carebridge.audit.models import AuditEvent
from carebridge.errors import Forbidden, NotFound
from carebridge.portal.accounts.models import CaregiverPermission
from tests.portal.accounts.conftest import new_phone, profile, token_for_phone

PARENT_PATHS = ("record", "reports", "orders", "access-log")


async def _mother_account(client, app, scene) -> dict:  # noqa: ANN001
    headers = await token_for_phone(client, app, scene.mother.phone)
    assert (await profile(client, headers, "李秀英", scene.mother.national_id)).json()["link_status"] == "linked"
    return headers


async def _grant(client, mother: dict, scene, phone: str, scope: str = "all"):  # noqa: ANN001, ANN202
    return await client.post(f"/api/v1/portal/patients/{scene.mother.id}/caregivers", headers=mother,
                             json={"phone": phone, "name": "王小明", "relationship": "child", "scope": scope})


async def test_a_parent_lets_her_son_act_for_her_and_her_log_says_so(client, app, db, scene):
    son_phone = new_phone()
    son = await token_for_phone(client, app, son_phone)
    mother = await _mother_account(client, app, scene)
    granted = await _grant(client, mother, scene, son_phone)
    assert granted.status_code == 201, granted.text
    assert granted.json()["caregiver_user_id"] is not None and granted.json()["basis"] == "patient"

    family = (await client.get("/api/v1/portal/family", headers=son)).json()
    assert [(f["patient_id"], f["is_self"], f["scope"]) for f in family] == [(scene.mother.id, False, "all")]
    for path in PARENT_PATHS:
        answer = await client.get(f"/api/v1/portal/patients/{scene.mother.id}/{path}", headers=son)
        assert answer.status_code == 200, (path, answer.text)
    read = await db.scalar(select(AuditEvent).where(AuditEvent.patient_id == scene.mother.id,
                                                    AuditEvent.resource_type == "PortalRecord"))
    assert read.actor_role == "caregiver" and read.detail["basis"] == "proxy"
    assert read.detail["acting_for"] == scene.mother.id and read.detail["permission_id"] == granted.json()["id"]

    log = (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/access-log", headers=mother)).json()
    texts = [i["text"] for i in log["items"]]
    assert any("acting for you" in t and "viewed your record" in t for t in texts), texts


async def test_an_invitation_waits_for_the_phone_to_sign_in(client, app, scene):
    mother = await _mother_account(client, app, scene)
    daughter_phone = new_phone()
    granted = (await _grant(client, mother, scene, daughter_phone)).json()
    assert granted["caregiver_user_id"] is None
    daughter = await token_for_phone(client, app, daughter_phone)
    family = (await client.get("/api/v1/portal/family", headers=daughter)).json()
    assert [f["patient_id"] for f in family] == [scene.mother.id]
    assert (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/record", headers=daughter)).status_code == 200


async def test_revocation_holds_from_the_next_request(client, app, scene):
    son_phone = new_phone()
    son = await token_for_phone(client, app, son_phone)
    mother = await _mother_account(client, app, scene)
    permission = (await _grant(client, mother, scene, son_phone)).json()
    assert (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/record", headers=son)).status_code == 200
    revoked = await client.post(f"/api/v1/portal/caregivers/{permission['id']}/revoke", headers=mother,
                                json={"reason": "不再需要"})
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    for path in PARENT_PATHS:
        assert (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/{path}", headers=son)).status_code == 404
    assert (await client.get("/api/v1/portal/family", headers=son)).json() == []
    again = await client.post(f"/api/v1/portal/caregivers/{permission['id']}/revoke", headers=mother)
    assert again.status_code == 409


async def test_a_caregiver_may_step_back_but_not_hand_the_permission_on(client, app, scene):
    son_phone, cousin_phone = new_phone(), new_phone()
    son = await token_for_phone(client, app, son_phone)
    mother = await _mother_account(client, app, scene)
    permission = (await _grant(client, mother, scene, son_phone)).json()
    handed_on = await _grant(client, son, scene, cousin_phone)
    assert handed_on.status_code == 403
    listing = await client.get(f"/api/v1/portal/patients/{scene.mother.id}/caregivers", headers=son)
    assert listing.status_code == 403
    stepped_back = await client.post(f"/api/v1/portal/caregivers/{permission['id']}/revoke", headers=son)
    assert stepped_back.status_code == 200
    assert (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/record", headers=son)).status_code == 404


async def test_read_only_permission_reads_but_does_not_act(client, app, db, world, scene):
    son_phone = new_phone()
    son = await token_for_phone(client, app, son_phone)
    mother = await _mother_account(client, app, scene)
    await _grant(client, mother, scene, son_phone, scope="read")
    assert (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/record", headers=son)).status_code == 200
    son_user = (await client.get("/api/v1/portal/me", headers=son)).json()["user_id"]
    from carebridge.auth.models import User

    principal = await world.principal(await db.get(User, son_user))
    allowed = await access_patient(db, principal, scene.mother.id)
    assert allowed.basis == "proxy" and not allowed.may_act
    with pytest.raises(Forbidden):
        await access_patient(db, principal, scene.mother.id, action="book", mode=ACT)


async def test_full_permission_acts_and_the_patient_acts_for_herself(client, app, db, world, scene):
    from carebridge.auth.models import User

    son_phone = new_phone()
    son = await token_for_phone(client, app, son_phone)
    mother = await _mother_account(client, app, scene)
    await _grant(client, mother, scene, son_phone)
    for headers in (son, mother):
        user_id = (await client.get("/api/v1/portal/me", headers=headers)).json()["user_id"]
        principal = await world.principal(await db.get(User, user_id))
        assert (await access_patient(db, principal, scene.mother.id, action="book", mode=ACT)).may_act
    stranger = await world.principal(await db.get(User, (await client.get(
        "/api/v1/portal/me", headers=await token_for_phone(client, app, new_phone()))).json()["user_id"]))
    with pytest.raises(NotFound):
        await access_patient(db, stranger, scene.mother.id, action="book", mode=ACT)


async def test_staff_record_a_signed_paper_permission_where_the_parent_is_registered(client, app, db, world, scene):
    son_phone = new_phone()
    son = await token_for_phone(client, app, son_phone)
    body = {"phone": son_phone, "name": "王小明", "relationship": "child", "scope": "all",
            "reference": "授权委托书 2026-118"}
    path = f"/api/v1/portal/patients/{scene.mother.id}/paper-permissions"
    for outsider in (scene.other_doctor, scene.town_admin):
        assert (await client.post(path, json=body, headers=await world.token(outsider))).status_code == 404
    assert (await client.post(path, json=body, headers=son)).status_code == 404
    recorded = await client.post(path, json=body, headers=await world.token(scene.town_doctor))
    assert recorded.status_code == 201 and recorded.json()["basis"] == "paper"
    row = await db.get(CaregiverPermission, recorded.json()["id"])
    assert row.facility_id == scene.town.id and row.paper_reference == "授权委托书 2026-118"
    assert (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/record", headers=son)).status_code == 200
    withdrawn = await client.post(f"/api/v1/portal/caregivers/{row.id}/revoke",
                                  headers=await world.token(scene.town_doctor), json={"reason": "家属撤回"})
    assert withdrawn.status_code == 200
    assert (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/record", headers=son)).status_code == 404


async def test_only_the_patient_or_her_staff_may_revoke(client, app, world, scene):
    son_phone = new_phone()
    await token_for_phone(client, app, son_phone)
    mother = await _mother_account(client, app, scene)
    permission = (await _grant(client, mother, scene, son_phone)).json()
    stranger = await token_for_phone(client, app, new_phone())
    for headers in (stranger, await world.token(scene.other_doctor), await world.token(scene.town_admin)):
        answer = await client.post(f"/api/v1/portal/caregivers/{permission['id']}/revoke", headers=headers)
        assert answer.status_code == 404
    assert (await client.post("/api/v1/portal/caregivers/999999/revoke", headers=mother)).status_code == 404


async def test_inviting_ones_own_phone_is_refused(client, app, scene):
    mother = await _mother_account(client, app, scene)
    assert (await _grant(client, mother, scene, scene.mother.phone)).status_code == 422


async def test_granting_again_changes_the_scope_instead_of_adding_a_second_permission(client, app, db, scene):
    son_phone = new_phone()
    await token_for_phone(client, app, son_phone)
    mother = await _mother_account(client, app, scene)
    first = (await _grant(client, mother, scene, son_phone, "all")).json()
    second = (await _grant(client, mother, scene, son_phone, "read")).json()
    assert first["id"] == second["id"] and second["scope"] == "read"
    listing = (await client.get(f"/api/v1/portal/patients/{scene.mother.id}/caregivers", headers=mother)).json()
    assert len(listing) == 1


async def test_a_read_only_caregiver_sees_the_bill_but_cannot_pay_it_or_change_the_insurance(client, app, db, world,
                                                                                           scene):
    from carebridge.payments.service import PriceLine, open_charge

    son_phone = new_phone()
    son = await token_for_phone(client, app, son_phone)
    mother = await _mother_account(client, app, scene)
    await _grant(client, mother, scene, son_phone, scope="read")
    charge = await open_charge(db, None, patient_id=scene.mother.id, facility_id=scene.town.id, purpose="nursing",
                               purpose_id=1, lines=[PriceLine("WOUND", "Wound dressing", 8_000)])
    assert (await client.get(f"/api/v1/payments/charges/{charge.id}", headers=son)).status_code == 200
    paying = await client.post(f"/api/v1/payments/charges/{charge.id}/pay", headers=son)
    assert paying.status_code == 403 and paying.json()["code"] == "read_only_permission"
    coverage = await client.put(f"/api/v1/payments/coverage/{scene.mother.id}", headers=son,
                                json={"scheme": "resident", "member_number": "R1234567"})
    assert coverage.status_code == 403
    assert (await client.post(f"/api/v1/payments/charges/{charge.id}/pay", headers=mother)).status_code == 200


async def test_a_pharmacist_cannot_hand_a_record_to_a_phone_nor_staff_to_their_own(client, app, db, world, scene):
    from carebridge.auth.models import Role, User

    path = f"/api/v1/portal/patients/{scene.mother.id}/paper-permissions"
    body = {"phone": new_phone(), "name": "王小明", "relationship": "child", "scope": "all", "reference": "授权书 1"}
    pharmacist = await world.user((Role.pharmacist, scene.town.id))
    assert (await client.post(path, json=body, headers=await world.token(pharmacist))).status_code == 404
    doctor = await db.get(User, scene.town_doctor.id)
    doctor.phone = body["phone"]
    await db.flush()
    own = await client.post(path, json=body, headers=await world.token(scene.town_doctor))
    assert own.status_code == 422 and own.json()["details"]["field"] == "phone"
