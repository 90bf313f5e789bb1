"""A small network for access tests: two facilities, their staff and admins, patients at each,
patients who sign in, and helpers to act as one of them over HTTP."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update

from carebridge.access import grants as grant_service
from carebridge.access import service as access
from carebridge.access.models import AccessGrant, BreakGlass
from carebridge.audit.models import AuditEvent
from carebridge.auth import service as auth
from carebridge.auth.models import Role, User
from carebridge.kit.clock import utcnow
from carebridge.network.models import Department, Facility, Practitioner
from carebridge.records.models import Condition, Observation, Patient
from carebridge.web.deps import SESSION_COOKIE

_seq = itertools.count(1)


@dataclass
class Scene:
    home: Facility
    other: Facility
    patient: Patient
    other_patient: Patient
    doctor: User
    outsider: User
    admin: User
    other_admin: User
    platform: User
    patient_user: User
    other_patient_user: User


async def make_scene(world) -> Scene:  # noqa: ANN001
    home = await world.facility("县人民医院")
    other = await world.facility("市中心医院")
    patient = await world.patient(home, name="张小明", sex="male", birth_date=dt.date(1971, 3, 4))
    other_patient = await world.patient(other, name="李四")
    doctor = await world.user((Role.doctor, home.id))
    outsider = await world.user((Role.doctor, other.id))
    admin = await world.user((Role.facility_admin, home.id))
    other_admin = await world.user((Role.facility_admin, other.id))
    platform = await world.user((Role.platform_admin, None))
    patient_user = await world.user((Role.patient, home.id), patient_id=patient.id)
    other_patient_user = await world.user((Role.patient, other.id), patient_id=other_patient.id)
    return Scene(home, other, patient, other_patient, doctor, outsider, admin, other_admin, platform,
                 patient_user, other_patient_user)


@pytest.fixture
async def scene(world) -> Scene:  # noqa: ANN001
    return await make_scene(world)


async def sign_in(client, db, user: User) -> str:  # noqa: ANN001
    """A second-factor-verified browser session for this user; returns its CSRF token."""
    token, web_session = await auth.start_session(db, user, ip="203.0.113.7", mfa_verified=True)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token)
    return web_session.csrf_token


async def consent(world, patient: Patient, *, status: str = "granted", scope_all: bool = True,  # noqa: ANN001
                  kinds: tuple[str, ...] = ()) -> None:
    """The patient records their own consent through the service."""
    user = await world.db.scalar(select(User).where(User.patient_id == patient.id))
    if user is None:
        user = await world.user((Role.patient, await _any_facility(world, patient)), patient_id=patient.id)
    await access.record_consent(world.db, await world.principal(user), patient.id, status=status,
                                scope_all=scope_all, scope_kinds=kinds)


async def _any_facility(world, patient: Patient) -> int:  # noqa: ANN001
    from carebridge.records.models import PatientRegistration

    return await world.db.scalar(select(PatientRegistration.facility_id).where(
        PatientRegistration.patient_id == patient.id).limit(1))


async def grant(world, patient: Patient, *, user: User | None = None, facility: Facility | None = None,  # noqa: ANN001
                by: User, hours: float = 24, **scope) -> AccessGrant:
    return await grant_service.grant_access(
        world.db, patient_id=patient.id, purpose=scope.pop("purpose", "consultation"),
        expires_at=utcnow() + dt.timedelta(hours=hours), granted_by=by.id,
        grantee_user_id=user.id if user else None, grantee_facility_id=facility.id if facility else None,
        source_type="consultation", source_id=next(_seq), **scope)


async def expire_grant(db, grant_row: AccessGrant) -> None:  # noqa: ANN001
    await db.execute(update(AccessGrant).where(AccessGrant.id == grant_row.id)
                     .values(expires_at=utcnow() - dt.timedelta(minutes=1)))


async def end_break_glass(db, patient_id: int) -> None:  # noqa: ANN001
    """Moves the window into the past, as if the hours had gone by."""
    await db.execute(update(BreakGlass).where(BreakGlass.patient_id == patient_id)
                     .values(started_at=utcnow() - dt.timedelta(hours=5), expires_at=utcnow() - dt.timedelta(hours=1)))


async def entries(db, patient: Patient, facility: Facility) -> tuple[Observation, Condition]:  # noqa: ANN001
    now = utcnow()
    observation = Observation(patient_id=patient.id, occurred_at=now, facility_id=facility.id, code_system="LOINC",
                              code="8867-4", display="Heart rate", value_num=72, unit="/min")
    condition = Condition(patient_id=patient.id, occurred_at=now, facility_id=facility.id, code_system="ICD-10",
                          code="I10", display="Essential hypertension")
    db.add_all([observation, condition])
    await db.flush()
    return observation, condition


async def practitioner(db, user: User, specialty: str = "心血管内科", specialty_en: str = "Cardiology") -> None:  # noqa: ANN001
    n = next(_seq)
    department = Department(code=f"dept_test_{n}", name=specialty, name_en=specialty_en)
    db.add(department)
    await db.flush()
    db.add(Practitioner(user_id=user.id, title="attending", specialty_id=department.id, license_no=f"LIC-T-{n:05d}"))
    await db.flush()


async def audit_rows(db, **where) -> list[AuditEvent]:  # noqa: ANN001
    query = select(AuditEvent).order_by(AuditEvent.seq).execution_options(populate_existing=True)
    for column, value in where.items():
        query = query.where(getattr(AuditEvent, column) == value)
    return list((await db.scalars(query)).all())
