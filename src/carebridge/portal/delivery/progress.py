"""Moving an order along its lifecycle: one conditional UPDATE, one timeline row, one audit row,
the source told when the medicine reached the patient, and the patient's open page told after commit.

Every move goes through `move`, whoever makes it (patient, pharmacy, courier webhook, payment
callback), so the timeline is complete by construction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from carebridge.audit import service as audit
from carebridge.errors import Conflict
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.portal.delivery import lifecycle, notices, sources
from carebridge.portal.delivery.lifecycle import Action, Party, State
from carebridge.portal.delivery.models import DeliveryEvent, DeliveryOrder


@dataclass(frozen=True)
class Who:
    """Who made a move, as the timeline and the audit trail name them."""

    party: Party
    name: str = ""
    user_id: int | None = None
    role: str = ""
    ip: str = ""

    def audit_actor(self, facility_id: int | None) -> audit.Actor:
        return audit.Actor(user_id=self.user_id, name=self.name, role=self.role or self.party.value,
                           facility_id=facility_id, ip=self.ip)


def who_is(principal, party: Party) -> Who:  # noqa: ANN001 - a Principal
    return Who(party, principal.display_name, principal.user_id, principal.primary_role, principal.ip)


SYSTEM = Who(Party.system, "system")


async def record(session: AsyncSession, order: DeliveryOrder, action: str, who: Who, *, courier_event: str = "",
                 location: str = "", note: str = "", occurred_at: dt.datetime | None = None) -> DeliveryEvent:
    """A timeline row for what happened to the order now (or at `occurred_at`, a courier's time)."""
    now = utcnow()
    row = DeliveryEvent(order_id=order.id, action=action, state=order.state, courier_event=courier_event,
                        party=who.party.value, actor_user_id=who.user_id, actor_name=who.name[:100],
                        location=location[:200], note=note[:500], occurred_at=occurred_at or now, recorded_at=now)
    session.add(row)
    await session.flush()
    return row


async def move(session: AsyncSession, order: DeliveryOrder, action: Action, who: Who, *, note: str = "",
               location: str = "", occurred_at: dt.datetime | None = None, courier_event: str = "",
               **changes: object) -> DeliveryEvent:
    """Moves the order (409 if the table has no such move from its state, 403 if `who` may not make
    it) and writes everything that goes with the move. `changes` are further columns to set."""
    to = lifecycle.next_state(order.state, action, {who.party}, order.method)
    now = utcnow()
    values = {"state": to.value, "version": order.version + 1, "updated_at": now, **changes}
    if to in lifecycle.TERMINAL and order.closed_at is None:
        values["closed_at"] = now
    if to is State.cancelled:
        values["claim_key"] = None  # the source may be ordered again
    # Conditional on the version read: two moves racing from the same state cannot both win.
    moved = await session.execute(update(DeliveryOrder).where(DeliveryOrder.id == order.id,
                                                              DeliveryOrder.version == order.version)
                                  .values(**values).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        raise Conflict(N_("the order changed meanwhile; reload and try again"), code="stale_order",
                       details={"order_id": order.id})
    for name, value in values.items():  # what the UPDATE wrote, without marking the object dirty again
        set_committed_value(order, name, value)
    event = await record(session, order, action.value, who, courier_event=courier_event, location=location,
                         note=note, occurred_at=occurred_at)
    await audit.append(session, audit.Entry(
        action=f"delivery_{action.value}"[:32], outcome="success", actor=who.audit_actor(order.facility_id),
        patient_id=order.patient_id, resource_type="DeliveryOrder", resource_id=order.id,
        purpose="patient_self" if who.party is Party.patient else "treatment",
        facility_id=order.facility_id, detail={"state": order.state, **({"note": note} if note else {})}))
    if to in lifecycle.DISPENSED:
        await sources.dispensed(session, order.source_kind, order.source_id)
    await notices.order_moved(session, order, event)
    return event
