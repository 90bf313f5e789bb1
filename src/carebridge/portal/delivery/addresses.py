"""The addresses a patient's medicine went to, offered again next time. The caller has authorised
the patient (`access_patient`); these functions only check and store."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.errors import InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.delivery.models import DeliveryAddress

PHONE = re.compile(r"\+?[0-9][0-9 -]{5,18}[0-9]")
LIMITS = {"recipient": (1, 50), "phone": (7, 20), "region": (2, 100), "detail": (4, 200)}
MESSAGES = {"recipient": N_("give the recipient's name"), "phone": N_("give a phone number the courier can call"),
            "region": N_("give the province, city and district"),
            "detail": N_("give the street, building and room")}
KEPT = 20  # remembered addresses offered per patient, most recently used first


@dataclass(frozen=True)
class AddressInput:
    recipient: str
    phone: str
    region: str
    detail: str

    def checked(self) -> AddressInput:
        values = {name: " ".join(str(getattr(self, name)).split()) for name in LIMITS}
        for name, (low, high) in LIMITS.items():
            if not low <= len(values[name]) <= high or (name == "phone" and not PHONE.fullmatch(values[name])):
                raise InvalidInput(MESSAGES[name], details={"field": name})
        return AddressInput(**values)


async def remembered(session: AsyncSession, patient_id: int) -> list[DeliveryAddress]:
    return list((await session.scalars(
        select(DeliveryAddress).where(DeliveryAddress.patient_id == patient_id, DeliveryAddress.forgotten_at.is_(None))
        .order_by(DeliveryAddress.last_used_at.desc(), DeliveryAddress.id.desc()).limit(KEPT))).all())


async def remember(session: AsyncSession, patient_id: int, address: AddressInput, user_id: int) -> DeliveryAddress:
    """The same address again only moves to the top of the list."""
    same = await session.scalar(select(DeliveryAddress).where(
        DeliveryAddress.patient_id == patient_id, DeliveryAddress.forgotten_at.is_(None),
        DeliveryAddress.recipient == address.recipient, DeliveryAddress.phone == address.phone,
        DeliveryAddress.region == address.region, DeliveryAddress.detail == address.detail).limit(1))
    if same is not None:
        same.last_used_at = utcnow()
        return same
    row = DeliveryAddress(patient_id=patient_id, recipient=address.recipient, phone=address.phone,
                          region=address.region, detail=address.detail, created_by_id=user_id)
    session.add(row)
    await session.flush()
    return row


async def remembered_one(session: AsyncSession, patient_id: int, address_id: int) -> DeliveryAddress:
    """Another patient's address id is the same 404 as a missing one."""
    row = await session.get(DeliveryAddress, address_id)
    if row is None or row.patient_id != patient_id or row.forgotten_at is not None:
        raise NotFound(N_("address not found"), details={"field": "address_id"})
    return row


async def forget(session: AsyncSession, patient_id: int, address_id: int) -> None:
    row = await remembered_one(session, patient_id, address_id)
    row.forgotten_at = utcnow()


def as_input(row: DeliveryAddress) -> AddressInput:
    return AddressInput(row.recipient, row.phone, row.region, row.detail)
