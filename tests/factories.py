"""Arranging test data through the real services (no hand-built rows where a service exists)."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth import service as auth
from carebridge.auth.models import Role, User
from carebridge.auth.principal import Principal
from carebridge.network.models import Facility, Tier
from carebridge.records.models import Patient, PatientRegistration

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


class World:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def facility(self, name: str = "", tier: Tier = Tier.county_hospital, **kw) -> Facility:
        n = next(_seq)
        facility = Facility(code=f"F{n:05d}", name=name or f"测试医院{n}", name_en=name or f"Test Hospital {n}",
                            tier=tier.value, **kw)
        self.db.add(facility)
        await self.db.flush()
        return facility

    async def user(self, *roles: tuple[Role | str, int | None], username: str = "",
                   patient_id: int | None = None, password: str = PASSWORD) -> User:
        n = next(_seq)
        return await auth.create_user(self.db, username=username or f"user{n}", display_name=f"User {n}",
                                      password=password, roles=list(roles), patient_id=patient_id)

    async def principal(self, user: User) -> Principal:
        return await auth.load_principal(self.db, user, via="token")

    async def token(self, user: User) -> dict[str, str]:
        """Authorization header of a fresh API token for this user."""
        secret, _ = await auth.create_api_token(self.db, await self.principal(user), "test")
        return {"Authorization": f"Bearer {secret}"}

    async def patient(self, facility: Facility, name: str = "", **kw) -> Patient:
        n = next(_seq)
        patient = Patient(name=name or f"患者{n}", sex=kw.pop("sex", "female"),
                          birth_date=kw.pop("birth_date", dt.date(1960, 1, 1)),
                          national_id=kw.pop("national_id", f"1101051960{n:08d}"), **kw)
        self.db.add(patient)
        await self.db.flush()
        self.db.add(PatientRegistration(patient_id=patient.id, facility_id=facility.id, mrn=f"MRN{n:06d}"))
        await self.db.flush()
        return patient
