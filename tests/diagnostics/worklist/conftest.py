"""Helpers for the worklist tests: orders made ready through the real services (order, study
arrival, completion), then placed in time where a test needs a known clock."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from carebridge.auth.models import Role, User
from carebridge.diagnostics import service, studies
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.diagnostics.studies import Arrival
from carebridge.kit.clock import utcnow
from carebridge.network.models import Practitioner, RosterShift
from tests.diagnostics.conftest import DiagNet, build_diag_net, place_order

_uid = itertools.count(1)


async def ready_order(world, db, dnet: DiagNet, modality: str = "CT", *, complete_at: dt.datetime | None = None,  # noqa: ANN001
                      acquired_at: dt.datetime | None = None, **kw) -> DiagnosisOrder:
    """An order whose study arrived and completed (so it is on the worklist and was auto-assigned);
    with `complete_at` its clock is moved to have started then (due = complete_at + target)."""
    order = await place_order(world, db, dnet, modality=modality, **kw)
    await studies.receive_item(db, Arrival(
        study_uid=f"2.25.{9000 + next(_uid)}", sending_facility_id=order.requesting_facility_id,
        hub_facility_id=order.hub_facility_id, modality=modality, order_id=order.id, single_object=True,
        acquired_at=acquired_at))
    await db.refresh(order)
    if complete_at is not None:
        order.study_complete_at, order.due_at = complete_at, complete_at + service.turnaround_target(order)
        await db.flush()
    return order


async def practitioner(db, user: User, title: str = "attending") -> Practitioner:  # noqa: ANN001
    found = Practitioner(user_id=user.id, title=title, license_no=f"LIC-{user.id}-{next(_uid)}", languages=["zh"])
    db.add(found)
    await db.flush()
    return found


async def on_duty(db, user: User, facility_id: int, now: dt.datetime | None = None, hours: int = 4) -> None:  # noqa: ANN001
    """A roster shift around `now` at the facility (a Practitioner row is made if the user has none)."""
    from sqlalchemy import select

    found = await db.scalar(select(Practitioner).where(Practitioner.user_id == user.id)) or await practitioner(db, user)
    now = now or utcnow()
    db.add(RosterShift(practitioner_id=found.id, facility_id=facility_id, starts_at=now - dt.timedelta(hours=1),
                       ends_at=now + dt.timedelta(hours=hours)))
    await db.flush()


async def hub_admin(world, dnet: DiagNet) -> User:  # noqa: ANN001
    return await world.user((Role.facility_admin, dnet.hub.id))


@pytest.fixture
async def dnet(world, db) -> DiagNet:  # noqa: ANN001
    """The shared diagnosis network, with its two hub doctors as attendings: the worklist's readers
    sign final reports, which takes an attending's title (or a reader profile)."""
    net = await build_diag_net(world, db)
    for user in (net.reader, net.reader2):
        await practitioner(db, user)
    return net
