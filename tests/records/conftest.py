"""Helpers for the records tests: valid national IDs, a two-facility network with staff of each
kind, and small file samples whose bytes really are what they claim to be."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from carebridge.audit.models import AuditEvent
from carebridge.auth.models import Role
from carebridge.records.identifiers import national_id_check_char

_serial = itertools.count(1)
PASSWORD = "correct-horse-battery"


def national_id(birth: dt.date = dt.date(1980, 5, 17), sex: str = "female", area: str = "110105") -> str:
    """A valid 18-character resident ID for the birth date and sex (odd 17th digit = male)."""
    n = next(_serial) % 100
    sex_digit = 1 if sex == "male" else 2
    first17 = f"{area}{birth:%Y%m%d}{n:02d}{sex_digit}"
    return first17 + national_id_check_char(first17)


# A tiny but real PNG (1x1), a minimal PDF, a JPEG header and a DICOM Part 10 preamble.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb") + b"\x00" * 64 + b"\xff\xd9"
DICOM = b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00\x00\x00\x00\x00"


@dataclass
class Clinic:
    """Facility A (where the patient is registered) and B (elsewhere), with people of each role."""

    a: object
    b: object
    doctor_a: object
    nurse_a: object
    doctor_b: object
    admin_a: object
    patient: object
    patient_user: object
    headers: dict


@pytest.fixture
async def clinic(world) -> Clinic:
    a = await world.facility("县医院A")
    b = await world.facility("乡镇卫生院B")
    patient = await world.patient(a, name="张三", sex="male", birth_date=dt.date(1970, 3, 1),
                                  national_id=national_id(dt.date(1970, 3, 1), "male"))
    doctor_a = await world.user((Role.doctor, a.id))
    nurse_a = await world.user((Role.nurse, a.id))
    doctor_b = await world.user((Role.doctor, b.id))
    admin_a = await world.user((Role.facility_admin, a.id))
    patient_user = await world.user((Role.patient, a.id), patient_id=patient.id)
    headers = {}
    for key, user in [("doctor_a", doctor_a), ("nurse_a", nurse_a), ("doctor_b", doctor_b),
                      ("admin_a", admin_a), ("patient", patient_user)]:
        headers[key] = await world.token(user)
    return Clinic(a, b, doctor_a, nurse_a, doctor_b, admin_a, patient, patient_user, headers)


async def audit_rows(db, **where) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.seq)
    for column, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, column) == value)
    return list((await db.scalars(stmt)).all())


async def sign_in(client, user) -> str:
    """Signs the browser client in; returns the CSRF token for forms."""
    response = await client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 303, response.text
    page = await client.get("/account")  # every user has it (patients' dashboard is the portal)
    marker = 'name="csrf_token" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start:page.text.index('"', start)]
