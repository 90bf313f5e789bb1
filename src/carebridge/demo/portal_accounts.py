"""Patient accounts in the demo, made through the real services:
- demo.patient (王建国, phone 13800138000) has a verified-phone portal account linked to his record;
  in the demo he can also sign in at /portal with that phone and the code the server log prints;
- he looks after his elderly mother, the oldest woman on file: she has no smartphone, so a doctor
  where she is registered recorded her signed paper permission; he acts for her;
- someone signed up from another phone with his name and ID number: the claim waits at his
  township centre for demo.doctor to check (/portal/staff/links), and his "who viewed my record"
  says that someone asked to link an account to it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import access_patient
from carebridge.auth import service as auth
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.kit.clock import utcnow
from carebridge.portal.accounts import family, service
from carebridge.portal.accounts.models import LinkStatus, PortalAccount
from carebridge.records.models import Patient, PatientRegistration

PAPER_FORM = "家属代办授权书 2024-0318（原件存乡镇卫生院病案室）"
CLAIMANT_PHONE = "13900139001"


async def _elderly_mother(session: AsyncSession, son: Patient) -> tuple[Patient, int] | None:
    """The oldest woman on file whose facility has a doctor to record her paper permission."""
    rows = (await session.execute(
        select(Patient, RoleAssignment.user_id)
        .join(PatientRegistration, PatientRegistration.patient_id == Patient.id)
        .join(RoleAssignment, (RoleAssignment.facility_id == PatientRegistration.facility_id)
              & (RoleAssignment.role == Role.doctor.value))
        .where(Patient.id != son.id, Patient.sex == "female", Patient.national_id.is_not(None))
        .order_by(Patient.birth_date, Patient.id, RoleAssignment.user_id).limit(1))).first()
    return (rows[0], rows[1]) if rows else None


async def write_portal_accounts(session: AsyncSession, showcase_patient_id: int) -> None:
    user = await session.scalar(select(User).where(User.username == "demo.patient"))
    patient = await session.get(Patient, showcase_patient_id)
    town_id = await session.scalar(select(PatientRegistration.facility_id).where(
        PatientRegistration.patient_id == patient.id).order_by(PatientRegistration.id).limit(1))
    session.add(PortalAccount(user_id=user.id, phone=patient.phone, phone_verified_at=utcnow(),
                              real_name=patient.name, national_id=patient.national_id, sex=patient.sex,
                              birth_date=patient.birth_date, link_status=LinkStatus.linked.value, facility_id=town_id))
    await session.flush()
    found = await _elderly_mother(session, patient)
    if found is not None:
        mother, doctor_id = found
        doctor = await auth.load_principal(session, await session.get(User, doctor_id), via="session")
        await family.record_paper_permission(session, doctor, mother.id, family.CaregiverInput(
            phone=patient.phone, name=patient.name, relationship="child", scope="all"), PAPER_FORM)
        son = await auth.load_principal(session, user, via="session")
        # He looked at her record once: her "who viewed my record" shows a family member acting for her.
        await access_patient(session, son, mother.id, purpose=Purpose.patient_self, resource_type="PortalRecord")
    await _waiting_claim(session, patient)


async def _waiting_claim(session: AsyncSession, claimed: Patient) -> None:
    signed = await service.sign_in_with_phone(session, CLAIMANT_PHONE, ip="127.0.0.1")
    principal = await auth.load_principal(session, signed.user, via="session")
    await service.complete_profile(session, principal, claimed.name, claimed.national_id)
    await auth.end_session(session, signed.web_session)
