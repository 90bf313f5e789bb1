"""The access decision table: who may read which patient, on what basis, and how much of the record."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from carebridge.access import emergency
from carebridge.access.service import READ, WRITE, access_patient, visible_patients_clause
from carebridge.auth.models import Role
from carebridge.errors import NotFound
from carebridge.records.models import Patient
from tests.access.conftest import audit_rows, consent, end_break_glass, entries, expire_grant, grant


async def _read(world, user, patient, **kw):  # noqa: ANN001, ANN202
    return await access_patient(world.db, await world.principal(user), patient.id, **kw)


async def _refused(world, user, patient, **kw) -> None:  # noqa: ANN001
    with pytest.raises(NotFound):
        await _read(world, user, patient, **kw)


async def test_clinician_reads_patient_registered_at_their_facility(world, scene):
    decided = await _read(world, scene.doctor, scene.patient)
    assert (decided.basis, decided.facility_id, decided.scope_all) == ("registration", scene.home.id, True)
    row = (await audit_rows(world.db, patient_id=scene.patient.id, action="read"))[-1]
    assert (row.outcome, row.actor_user_id, row.facility_id) == ("allowed", scene.doctor.id, scene.home.id)
    assert row.detail == {"basis": "registration"}


async def test_clinician_of_another_facility_is_refused_without_grant(world, scene):
    await _refused(world, scene.outsider, scene.patient)


async def test_grant_without_consent_opens_nothing(world, scene):
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    await _refused(world, scene.outsider, scene.patient)


@pytest.mark.parametrize("status", ["refused", "revoked"])
async def test_grant_under_refused_or_withdrawn_consent_opens_nothing(world, scene, status):
    await consent(world, scene.patient)
    if status == "refused":
        await consent(world, scene.patient, status="refused")
    else:
        await consent(world, scene.patient, status="revoked")
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    await _refused(world, scene.outsider, scene.patient)


async def test_grant_with_consent_opens_the_record_for_its_purpose(world, scene):
    await consent(world, scene.patient)
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True, purpose="consultation")
    decided = await _read(world, scene.outsider, scene.patient)
    assert (decided.basis, decided.purpose, decided.scope_all) == ("grant", "consultation", True)
    assert decided.facility_id == scene.other.id


async def test_grant_to_a_facility_covers_all_its_clinical_staff(world, scene):
    await consent(world, scene.patient)
    nurse = await world.user((Role.nurse, scene.other.id))
    await grant(world, scene.patient, facility=scene.other, by=scene.admin, scope_all=True)
    assert (await _read(world, nurse, scene.patient)).basis == "grant"
    assert (await _read(world, scene.outsider, scene.patient)).facility_id == scene.other.id
    other_admin_is_not_clinical = scene.other_admin
    await _refused(world, other_admin_is_not_clinical, scene.patient)


async def test_expired_grant_opens_nothing(world, scene):
    await consent(world, scene.patient)
    row = await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    assert (await _read(world, scene.outsider, scene.patient)).basis == "grant"
    await expire_grant(world.db, row)
    await _refused(world, scene.outsider, scene.patient)


async def test_revoked_grant_opens_nothing(world, scene):
    from carebridge.access.grants import revoke_grant

    await consent(world, scene.patient)
    row = await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    await revoke_grant(world.db, await world.principal(scene.admin), row.id, "consultation finished")
    await _refused(world, scene.outsider, scene.patient)


async def test_grant_narrowed_to_kinds_shows_only_those_entries(world, scene):
    observation, condition = await entries(world.db, scene.patient, scene.home)
    await consent(world, scene.patient)
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_kinds=["observation"])
    decided = await _read(world, scene.outsider, scene.patient)
    assert (decided.scope_all, decided.kinds) == (False, frozenset({"observation"}))
    assert decided.allows(observation) and not decided.allows(condition)
    from carebridge.records.models import RecordEntry

    visible = (await world.db.scalars(select(RecordEntry.id).where(
        RecordEntry.patient_id == scene.patient.id, decided.entry_filter()))).all()
    assert visible == [observation.id]


async def test_grant_of_single_entries(world, scene):
    observation, condition = await entries(world.db, scene.patient, scene.home)
    await consent(world, scene.patient)
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_entry_ids=[condition.id])
    decided = await _read(world, scene.outsider, scene.patient)
    assert decided.allows(condition) and not decided.allows(observation)


async def test_consent_narrows_a_whole_record_grant(world, scene):
    observation, condition = await entries(world.db, scene.patient, scene.home)
    await consent(world, scene.patient, scope_all=False, kinds=("condition",))
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    decided = await _read(world, scene.outsider, scene.patient)
    assert (decided.scope_all, decided.kinds) == (False, frozenset({"condition"}))
    assert decided.allows(condition) and not decided.allows(observation)


async def test_consent_narrowing_also_applies_to_entries_named_one_by_one(world, scene):
    observation, condition = await entries(world.db, scene.patient, scene.home)
    await consent(world, scene.patient, scope_all=False, kinds=("condition",))
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin,
                scope_entry_ids=[observation.id, condition.id])
    decided = await _read(world, scene.outsider, scene.patient)
    assert decided.allows(condition) and not decided.allows(observation)


async def test_consent_leaving_nothing_of_the_grant_refuses(world, scene):
    await consent(world, scene.patient, scope_all=False, kinds=("condition",))
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_kinds=["document"])
    await _refused(world, scene.outsider, scene.patient)


async def test_consent_does_not_limit_the_patients_own_hospitals(world, scene):
    await consent(world, scene.patient, status="refused")
    assert (await _read(world, scene.doctor, scene.patient)).scope_all is True


async def test_break_glass_opens_the_record_for_the_window_only(world, scene):
    principal = await world.principal(scene.outsider)
    await emergency.start_break_glass(world.db, principal, scene.patient.id, "unconscious, allergies unknown",
                                      scene.other.id)
    decided = await _read(world, scene.outsider, scene.patient)
    assert (decided.basis, decided.purpose, decided.scope_all) == ("break_glass", "emergency", True)
    row = (await audit_rows(world.db, patient_id=scene.patient.id, action="read"))[-1]
    assert row.detail == {"basis": "break_glass", "break_glass": True}
    assert (await _read(world, scene.outsider, scene.patient, mode=WRITE)).basis == "break_glass"
    await end_break_glass(world.db, scene.patient.id)
    await _refused(world, scene.outsider, scene.patient)


async def test_break_glass_window_is_four_hours(world, scene, settings):
    glass = await emergency.start_break_glass(world.db, await world.principal(scene.outsider), scene.patient.id,
                                              "cardiac arrest in the ward", scene.other.id)
    window = glass.expires_at - glass.started_at
    assert window == dt.timedelta(hours=settings.break_glass_hours) == dt.timedelta(hours=4)


async def test_patient_reads_only_their_own_record(world, scene):
    decided = await _read(world, scene.patient_user, scene.patient)
    assert (decided.basis, decided.purpose) == ("self", "patient_self")
    await _refused(world, scene.patient_user, scene.other_patient)


async def test_patient_cannot_write_their_record(world, scene):
    await _refused(world, scene.patient_user, scene.patient, mode=WRITE)


async def test_grant_gives_read_but_not_write(world, scene):
    await consent(world, scene.patient)
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    assert (await _read(world, scene.outsider, scene.patient, mode=READ)).basis == "grant"
    await _refused(world, scene.outsider, scene.patient, mode=WRITE)


@pytest.mark.parametrize("who", ["admin", "platform"])
async def test_administrators_do_not_read_records(world, scene, who):
    await _refused(world, getattr(scene, who), scene.patient)


async def test_missing_patient_is_the_same_not_found(world, scene):
    with pytest.raises(NotFound) as missing:
        await access_patient(world.db, await world.principal(scene.doctor), 10**9)
    with pytest.raises(NotFound) as forbidden:
        await _read(world, scene.doctor, scene.other_patient)
    assert missing.value.message == forbidden.value.message


async def test_merged_patient_id_leads_to_the_surviving_record(world, scene):
    duplicate = await world.patient(scene.other, name="张小明")
    duplicate.merged_into_id = scene.patient.id
    await world.db.flush()
    decided = await _read(world, scene.doctor, duplicate)
    assert decided.patient.id == scene.patient.id


async def test_search_clause_follows_the_same_bases(world, scene):
    async def visible(user):  # noqa: ANN001, ANN202
        clause = visible_patients_clause(await world.principal(user))
        ids = set((await world.db.scalars(select(Patient.id).where(clause))).all())
        return ids & {scene.patient.id, scene.other_patient.id}

    assert await visible(scene.doctor) == {scene.patient.id}
    assert await visible(scene.outsider) == {scene.other_patient.id}
    assert await visible(scene.patient_user) == {scene.patient.id}
    assert await visible(scene.admin) == set()
    await grant(world, scene.patient, user=scene.outsider, by=scene.admin, scope_all=True)
    assert await visible(scene.outsider) == {scene.patient.id, scene.other_patient.id}
