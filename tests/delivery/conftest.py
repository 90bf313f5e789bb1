"""A dispensing county hospital and another facility, their pharmacists, a doctor, two patients who
sign in, refills the doctor recorded through the records service, and the courier webhook's secret."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from carebridge.auth.models import Role, User
from carebridge.network.models import Facility
from carebridge.portal.delivery import courier
from carebridge.portal.delivery.sources import unregister_source
from carebridge.records import entries
from carebridge.records.models import MedicationStatement, Patient
from carebridge.records.schemas import MedicationIn
from tests.delivery import source

COURIER_SECRET = "sf-test-webhook-secret-0123456789"  # noqa: S105 - a test's own secret


@pytest.fixture(autouse=True)
def medication_source():  # noqa: ANN201
    source.register()
    yield
    unregister_source(source.KIND)


@pytest.fixture(autouse=True)
def courier_secret(settings, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setattr(settings, "delivery_courier_secrets", {"sf": SecretStr(COURIER_SECRET)})
    monkeypatch.setattr(settings, "delivery_fee_fen", 1000)
    monkeypatch.setattr(settings, "delivery_cold_chain_fee_fen", 2000)
    monkeypatch.setattr(settings, "delivery_free_over_fen", 0)


@dataclass
class Pharmacy:
    county: Facility
    other: Facility
    patient: Patient
    other_patient: Patient
    patient_user: User
    other_patient_user: User
    pharmacist: User
    other_pharmacist: User  # at the other facility
    doctor: User  # at the county hospital, where the patient is registered
    world: object

    async def refill(self, code: str = "C08CA01", display: str = "氨氯地平片", dose: str = "5mg", *,
                     patient: Patient | None = None) -> MedicationStatement:
        """The doctor records an intended refill through the records service."""
        return await entries.add_medication(
            self.world.db, await self.world.principal(self.doctor), (patient or self.patient).id,
            MedicationIn(display=display, code=code, code_system="ATC", dose=dose, status="intended"))


@pytest.fixture
async def pharmacy(world) -> Pharmacy:  # noqa: ANN001
    return await build_pharmacy(world)


async def build_pharmacy(world) -> Pharmacy:  # noqa: ANN001
    county = await world.facility("青山县人民医院")
    other = await world.facility("别的县医院")
    patient = await world.patient(county, name="李秀兰", birth_date=dt.date(1951, 4, 2))
    other_patient = await world.patient(county, name="赵大海")
    return Pharmacy(
        county, other, patient, other_patient,
        patient_user=await world.user((Role.patient, county.id), patient_id=patient.id),
        other_patient_user=await world.user((Role.patient, county.id), patient_id=other_patient.id),
        pharmacist=await world.user((Role.pharmacist, county.id)),
        other_pharmacist=await world.user((Role.pharmacist, other.id)),
        doctor=await world.user((Role.doctor, county.id)), world=world)


ADDRESS = {"recipient": "李秀兰", "phone": "13912345678", "region": "山西省 太原市 小店区",
           "detail": "坞城路 92 号 3 单元 501"}


def signed(body: dict | bytes, *, secret: str = COURIER_SECRET, at: int | None = None) -> tuple[bytes, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(time.time()) if at is None else at)
    return raw, {"Content-Type": "application/json", courier.TIMESTAMP_HEADER: stamp,
                 courier.SIGNATURE_HEADER: courier.signature(secret.encode(), stamp, raw)}


def event(tracking: str, kind: str, event_id: str, when: dt.datetime, location: str = "太原转运中心", **kw) -> dict:
    return {"event_id": event_id, "tracking_number": tracking, "event": kind, "time": when.isoformat(),
            "location": location, **kw}
