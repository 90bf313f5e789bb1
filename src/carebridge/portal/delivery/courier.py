"""The courier webhook: signed events that move a parcel's order (docs/delivery-webhook.md).

Checks, in order, each refusal written down in a transaction of its own (the request's rolls back):
unknown courier 404; no secret configured, timestamp missing or outside the tolerance window, or a
signature that does not match 401; an unreadable body 422; a tracking number we never handed out
404 (the courier retries; the pharmacy may not have typed it yet). The signature is HMAC-SHA256
under the courier's secret over `<timestamp>.<raw body>`, compared in constant time, so neither
the body nor the timestamp can be changed and an old request cannot be replayed later.

Authentic events are idempotent on the courier's event id: the first copy is kept (unique key) and
applied; a replay or a duplicate sent at the same moment changes nothing and is answered 200.
Out-of-order events never move an order backwards: a delivered parcel does not go back in transit.
An event the table refuses that happened before the order's last change (a late report of an
earlier scan) still joins the timeline at its own time; a later one is only kept here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.config import Settings, get_settings
from carebridge.errors import InvalidInput, NotAuthenticated, NotFound, PayloadTooLarge
from carebridge.kit.clock import utcnow
from carebridge.kit.events import always
from carebridge.kit.i18n import N_
from carebridge.portal.delivery import lifecycle, progress
from carebridge.portal.delivery.lifecycle import Action, Party
from carebridge.portal.delivery.models import CourierEvent, DeliveryEvent, DeliveryOrder
from carebridge.portal.delivery.schemas import CourierEventIn

SIGNATURE_HEADER = "X-CareBridge-Signature"
TIMESTAMP_HEADER = "X-CareBridge-Timestamp"
MAX_BODY_BYTES = 16 * 1024
KEPT_BODY_CHARS = 8000
EVENT_ACTIONS = {"picked_up": Action.track, "in_transit": Action.track, "delivered": Action.deliver,
                 "failed": Action.fail, "returned": Action.return_}


def demo_secret(settings: Settings, courier: str) -> str:
    """Demo mode only: each courier's secret derived from the app secret, never stored in code."""
    return hmac.new(settings.require_secret().encode(), f"carebridge delivery courier {courier}".encode(),
                    hashlib.sha256).hexdigest()


def courier_secret(settings: Settings, courier: str) -> bytes | None:
    configured = settings.delivery_courier_secrets.get(courier)
    if configured is not None:
        return configured.get_secret_value().encode()
    return demo_secret(settings, courier).encode() if settings.demo_mode else None


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Call:
    """One request to the webhook as it arrived."""

    courier: str
    headers: Mapping[str, str]
    body: bytes
    remote_ip: str = ""


@dataclass(frozen=True)
class Receipt:
    outcome: str  # applied, timeline (late report joined the timeline), out_of_order, duplicate
    order_id: int


def _refuse(session: AsyncSession, call: Call, outcome: str, problem: str, error: Exception,
            parsed: CourierEventIn | None = None) -> Exception:
    """Writes the refused call down whatever becomes of the request, and gives back the error to raise."""
    row = _row(call, outcome, problem, parsed)

    async def keep(own: AsyncSession) -> None:
        own.add(row)

    always(session, keep)
    return error


def _row(call: Call, outcome: str, problem: str = "", parsed: CourierEventIn | None = None) -> CourierEvent:
    return CourierEvent(
        courier=call.courier[:20], outcome=outcome, problem=problem[:200], remote_ip=call.remote_ip[:64],
        body=call.body[:KEPT_BODY_CHARS * 4].decode("utf-8", errors="replace")[:KEPT_BODY_CHARS],
        event_id=parsed.event_id if parsed else "", tracking_number=parsed.tracking_number if parsed else "",
        event=parsed.event if parsed else "", occurred_at=parsed.time if parsed else None,
        location=parsed.location if parsed else "")


def _check_signature(session: AsyncSession, call: Call, settings: Settings, now: dt.datetime) -> None:
    secret = courier_secret(settings, call.courier)
    if secret is None:
        raise _refuse(session, call, "refused", "no secret configured for this courier",
                      NotAuthenticated(N_("this courier is not set up to send events"), code="courier_not_configured"))
    stamp = call.headers.get(TIMESTAMP_HEADER.lower(), "")
    try:
        sent = int(stamp)
    except ValueError:
        raise _refuse(session, call, "refused", "timestamp header missing or not a number",
                      NotAuthenticated(N_("signature timestamp missing"), code="bad_timestamp")) from None
    if abs(now.timestamp() - sent) > settings.delivery_webhook_tolerance_seconds:
        raise _refuse(session, call, "stale", f"timestamp {sent} outside the tolerance window",
                      NotAuthenticated(N_("signature timestamp outside the allowed window"), code="stale_timestamp"))
    supplied = call.headers.get(SIGNATURE_HEADER.lower(), "")
    if not hmac.compare_digest(signature(secret, stamp, call.body).encode(), supplied.encode()):
        raise _refuse(session, call, "bad_signature", "signature does not match",
                      NotAuthenticated(N_("signature does not match"), code="bad_signature"))


def _parse(session: AsyncSession, call: Call) -> CourierEventIn:
    try:
        return CourierEventIn.model_validate(json.loads(call.body))
    except (ValueError, ValidationError) as exc:
        raise _refuse(session, call, "invalid", str(exc).splitlines()[0],
                      InvalidInput(N_("the event is not in the documented format"),
                                   details={"problem": str(exc)[:500]})) from None


async def receive(session: AsyncSession, call: Call, now: dt.datetime | None = None) -> Receipt:
    settings, now = get_settings(), now or utcnow()
    if call.courier not in settings.delivery_couriers:
        raise _refuse(session, call, "refused", "unknown courier", NotFound(N_("unknown courier")))
    if len(call.body) > MAX_BODY_BYTES:
        raise _refuse(session, call, "refused", "body too large", PayloadTooLarge(N_("the event is too large")))
    _check_signature(session, call, settings, now)
    event = _parse(session, call)
    receipt = await record_event(session, call, event)
    if receipt is None:
        raise _refuse(session, call, "unknown_tracking", "no order has this tracking number",
                      NotFound(N_("no parcel with this tracking number")), event)
    return receipt


async def record_event(session: AsyncSession, call: Call, event: CourierEventIn) -> Receipt | None:
    """An authentic event (the signature was checked): kept once per event id and applied; None
    when no order has its tracking number."""
    # Locked: two events of one parcel arriving together are applied one after the other.
    order = await session.scalar(select(DeliveryOrder).where(
        DeliveryOrder.courier == call.courier, DeliveryOrder.tracking_number == event.tracking_number.upper())
        .with_for_update())
    if order is None:
        return None
    row = _row(call, "received", parsed=event)
    row.order_id, row.dedupe_key = order.id, f"{call.courier}:{event.event_id}"
    if not await _first_copy(session, row):
        duplicate = _row(call, "duplicate", parsed=event)
        duplicate.order_id = order.id
        session.add(duplicate)
        return Receipt("duplicate", order.id)
    row.outcome = await _apply(session, order, event, get_settings().delivery_couriers[call.courier])
    return Receipt(row.outcome, order.id)


async def _first_copy(session: AsyncSession, row: CourierEvent) -> bool:
    """Inserting the event's key is the test: on PostgreSQL a concurrent copy waits here for the
    first to commit and then fails on the unique key, so it can never be applied twice."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def _apply(session: AsyncSession, order: DeliveryOrder, event: CourierEventIn, courier_name: str) -> str:
    action = EVENT_ACTIONS[event.event]
    who = progress.Who(Party.courier, courier_name, role="courier")
    details = {"courier_event": event.event, "location": event.location, "note": event.note,
               "occurred_at": event.time}
    if (lifecycle.State(order.state), action) in lifecycle.TABLE:
        await progress.move(session, order, action, who, **details)
        return "applied"
    last_change = await session.scalar(select(func.max(DeliveryEvent.occurred_at)).where(
        DeliveryEvent.order_id == order.id, DeliveryEvent.action != Action.track.value))
    if last_change is not None and event.time <= last_change:
        await progress.record(session, order, action.value, who, **details)
        return "timeline"
    return "out_of_order"
