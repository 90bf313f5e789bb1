"""Appending to and verifying the hash-chained trail.

Each row's hash covers its own fields and the previous row's hash, so altering, removing or
reordering any row breaks every link after it. Appends bump the single `audit_head` row first:
that row lock (PostgreSQL) or write lock (SQLite) serialises appends so the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit.models import AuditEvent, AuditHead
from carebridge.kit import events
from carebridge.kit.clock import utcnow

GENESIS_HASH = "0" * 64
HEAD_ID = 1


@dataclass(frozen=True)
class Actor:
    """Who acted, as the trail records it (a Principal, or nobody for failed sign-ins)."""

    user_id: int | None = None
    name: str = ""
    role: str = ""
    facility_id: int | None = None
    ip: str = ""


@dataclass
class Entry:
    action: str
    outcome: str
    actor: Actor = field(default_factory=Actor)
    patient_id: int | None = None
    resource_type: str = ""
    resource_id: str | int = ""
    purpose: str = ""
    facility_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _canonical(event: AuditEvent) -> bytes:
    fields = {
        "seq": event.seq,
        "at": event.at.astimezone(dt.UTC).isoformat(),
        "actor_user_id": event.actor_user_id,
        "actor_name": event.actor_name,
        "actor_role": event.actor_role,
        "facility_id": event.facility_id,
        "patient_id": event.patient_id,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "purpose": event.purpose,
        "outcome": event.outcome,
        "ip": event.ip,
        "detail": event.detail or {},
    }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(event)).hexdigest()


async def append(session: AsyncSession, entry: Entry) -> AuditEvent:
    bumped = await session.execute(
        update(AuditHead.__table__)
        .where(AuditHead.__table__.c.id == HEAD_ID)
        .values(seq=AuditHead.__table__.c.seq + 1)
        .returning(AuditHead.__table__.c.seq, AuditHead.__table__.c.last_hash)
    )
    seq, prev_hash = bumped.one()
    now = utcnow()
    event = AuditEvent(
        seq=seq,
        # Truncated to milliseconds so the hashed text is identical on every engine.
        at=now.replace(microsecond=now.microsecond // 1000 * 1000),
        actor_user_id=entry.actor.user_id,
        actor_name=entry.actor.name,
        actor_role=entry.actor.role,
        facility_id=entry.facility_id if entry.facility_id is not None else entry.actor.facility_id,
        patient_id=entry.patient_id,
        action=entry.action,
        resource_type=entry.resource_type,
        resource_id=str(entry.resource_id),
        purpose=entry.purpose,
        outcome=entry.outcome,
        ip=entry.actor.ip,
        detail=entry.detail,
        prev_hash=prev_hash,
    )
    event.hash = compute_hash(prev_hash, event)
    await session.execute(
        update(AuditHead.__table__).where(AuditHead.__table__.c.id == HEAD_ID).values(last_hash=event.hash)
    )
    session.add(event)
    await session.flush()
    return event


def append_even_if_rolled_back(session: AsyncSession, entry: Entry) -> None:
    """For denials and failed sign-ins: the request's own transaction will roll back, but the
    attempt must still be written down, so it is appended in a transaction of its own after."""

    async def _write(own: AsyncSession) -> None:
        await append(own, entry)

    events.always(session, _write)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    reason: str = ""


async def _walk(session: AsyncSession, batch: int = 5000) -> AsyncIterator[AuditEvent]:
    last = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1].seq


async def verify_chain(session: AsyncSession) -> VerifyResult:
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    async for event in _walk(session):
        if event.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"row {expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return VerifyResult(False, checked, event.seq, "link to the previous row is broken")
        if compute_hash(prev_hash, event) != event.hash:
            return VerifyResult(False, checked, event.seq, "row content does not match its hash")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = await session.get(AuditHead, HEAD_ID)
    if head is not None and (head.seq != checked or head.last_hash != prev_hash):
        return VerifyResult(False, checked, checked + 1, f"rows after {checked} were removed")
    return VerifyResult(True, checked)
