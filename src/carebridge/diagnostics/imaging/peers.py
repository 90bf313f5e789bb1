"""The DICOM peers a facility admin registers: their modalities and PACS, by AE title.

The listener accepts an association only from an active registered AE title. The peer's facility is
the sending facility of everything it stores and the only facility whose studies it may query and
retrieve (with those of the hub, for a hub's own PACS). Each peer names the reading hub whose
reconciliation queue takes its studies that match no order; a matched study follows its order."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.diagnostics.imaging.models import DicomPeer
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility, ServiceKind, ServiceOffering
from carebridge.network.offerings import find_service_providers
from carebridge.network.service import audit_change, can_manage_facility, check_facility_admin, get_facility

# PS3.5 6.2 AE: 16 characters of the default repertoire, no backslash or control characters.
AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")
HOST = re.compile(r"^[A-Za-z0-9.:_-]{1,255}$")


@dataclass(frozen=True)
class PeerRef:
    """What the listener keeps of a peer for the length of an association."""

    id: int
    ae_title: str
    facility_id: int
    hub_facility_id: int | None
    host: str
    port: int | None


@dataclass(frozen=True)
class PeerData:
    ae_title: str
    description: str = ""
    host: str = ""
    port: int | None = None
    hub_facility_id: int | None = None
    active: bool = True


def ref_of(peer: DicomPeer) -> PeerRef:
    return PeerRef(peer.id, peer.ae_title, peer.facility_id, peer.hub_facility_id, peer.host, peer.port)


async def peer_by_ae(session: AsyncSession, ae_title: str) -> PeerRef | None:
    peer = await session.scalar(select(DicomPeer).where(DicomPeer.ae_title == ae_title.strip(),
                                                        DicomPeer.active.is_(True)))
    return ref_of(peer) if peer is not None else None


async def reading_hubs(session: AsyncSession, facility_id: int) -> list[Facility]:
    """Hubs a peer of this facility may send to: the facility itself when it reads images, then the
    facilities offering it imaging reading, nearest higher tier first."""
    hubs = [m.facility for m in await find_service_providers(
        session, kind=ServiceKind.imaging_reading, for_facility_id=facility_id, limit=50)]
    reads_itself = await session.scalar(select(ServiceOffering.id).where(
        ServiceOffering.facility_id == facility_id, ServiceOffering.kind == ServiceKind.imaging_reading.value,
        ServiceOffering.active.is_(True)).limit(1))
    return ([await get_facility(session, facility_id)] if reads_itself else []) + hubs


def _check(data: PeerData) -> PeerData:
    ae = data.ae_title.strip()
    if not AE_TITLE.match(ae):
        raise InvalidInput(N_("an AE title has 1 to 16 letters, digits, spaces or symbols (no backslash)"),
                           details={"field": "ae_title"})
    if ae == get_settings().dicom_ae_title.strip():
        raise InvalidInput(N_("this is CareBridge's own AE title"), details={"field": "ae_title"})
    host = data.host.strip()
    if bool(host) != (data.port is not None):
        raise InvalidInput(N_("give both host and port (for C-MOVE), or neither"), details={"field": "host"})
    if host and not HOST.match(host):
        raise InvalidInput(N_("the host is not a valid name or address"), details={"field": "host"})
    if data.port is not None and not 1 <= data.port <= 65535:
        raise InvalidInput(N_("the port must be between 1 and 65535"), details={"field": "port"})
    if len(data.description) > 200:
        raise InvalidInput(N_("the description is too long"), details={"field": "description"})
    return PeerData(ae, data.description.strip(), host, data.port, data.hub_facility_id, data.active)


async def _hub(session: AsyncSession, facility_id: int, wanted: int | None) -> int | None:
    hubs = await reading_hubs(session, facility_id)
    if wanted is None:
        return hubs[0].id if hubs else None
    if not any(h.id == wanted for h in hubs):
        raise InvalidInput(N_("that facility does not read images for yours"), details={"field": "hub_facility_id"})
    return wanted


async def list_peers(session: AsyncSession, principal: Principal, facility_id: int) -> list[DicomPeer]:
    check_facility_admin(principal, facility_id)
    return list((await session.scalars(select(DicomPeer).where(DicomPeer.facility_id == facility_id)
                                       .order_by(DicomPeer.ae_title))).all())


async def register_peer(session: AsyncSession, principal: Principal, facility_id: int, data: PeerData) -> DicomPeer:
    check_facility_admin(principal, facility_id)
    data = _check(data)
    peer = DicomPeer(facility_id=facility_id, hub_facility_id=await _hub(session, facility_id, data.hub_facility_id),
                     ae_title=data.ae_title, description=data.description, host=data.host, port=data.port,
                     active=data.active, created_by_id=principal.user_id)
    try:
        async with session.begin_nested():
            session.add(peer)
            await session.flush()
    except IntegrityError:
        raise Conflict(N_("this AE title is already registered"), code="duplicate_ae_title") from None
    await audit_change(session, principal, "dicom_peer_register", "DicomPeer", peer.id, facility_id,
                       ae_title=peer.ae_title)
    return peer


async def get_peer(session: AsyncSession, principal: Principal, peer_id: int) -> DicomPeer:
    peer = await session.get(DicomPeer, peer_id)
    if peer is None or not can_manage_facility(principal, peer.facility_id):
        raise NotFound(N_("DICOM peer not found"))
    return peer


async def update_peer(session: AsyncSession, principal: Principal, peer_id: int, data: PeerData) -> DicomPeer:
    peer = await get_peer(session, principal, peer_id)
    data = _check(data)
    hub = await _hub(session, peer.facility_id, data.hub_facility_id)
    if data.ae_title != peer.ae_title and await session.scalar(
            select(DicomPeer.id).where(DicomPeer.ae_title == data.ae_title)):
        raise Conflict(N_("this AE title is already registered"), code="duplicate_ae_title")
    peer.ae_title, peer.description, peer.host, peer.port = data.ae_title, data.description, data.host, data.port
    peer.hub_facility_id, peer.active, peer.updated_at = hub, data.active, utcnow()
    await session.flush()
    await audit_change(session, principal, "dicom_peer_update", "DicomPeer", peer.id, peer.facility_id,
                       ae_title=peer.ae_title, active=peer.active)
    return peer
