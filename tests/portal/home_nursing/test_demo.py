"""The demo's home nursing: a catalogue, two nurses with credentials and positions, and the demo
patient with a finished, rated visit and an upcoming one the demo nurse has accepted."""

from __future__ import annotations

from sqlalchemy import select

from carebridge.auth.models import User
from carebridge.demo.seed import load_demo
from carebridge.kit.blobs import LocalBlobStore
from carebridge.kit.clock import utcnow
from carebridge.portal.home_nursing import nurses
from carebridge.portal.home_nursing.models import NursingOrder, NursingService
from tests.demo.test_seed import TODAY


async def test_demo_has_home_nursing_to_show(db, tmp_path) -> None:  # noqa: ANN001
    await load_demo(db, scale=0.01, blobs=LocalBlobStore(tmp_path), today=TODAY)
    patient = await db.scalar(select(User).where(User.username == "demo.patient"))
    orders = (await db.scalars(select(NursingOrder).where(NursingOrder.patient_id == patient.patient_id)
                               .order_by(NursingOrder.window_start))).all()
    assert [o.state for o in orders] == ["completed", "accepted"]
    done, upcoming = orders
    assert done.rating == 5 and done.window_end < utcnow() and done.paid_at is not None
    nurse = await db.scalar(select(User).where(User.username == "demo.nurse"))
    assert upcoming.nurse_user_id == nurse.id and upcoming.window_start > utcnow()
    services = (await db.scalars(select(NursingService).where(NursingService.facility_id == done.facility_id))).all()
    assert len(services) == 8
    staff = await nurses.nurses_of(db, done.facility_id)
    assert len(staff) == 2 and all(n.profile and n.profile.base_latitude for n in staff)
    assert {c for n in staff for c in n.credentials} >= {"assessor", "wound", "maternal_newborn"}
