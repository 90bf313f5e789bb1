"""The demo's consultations and referrals: every timeline follows the lifecycle table, the
participants can open what they are shown, and the dashboard has a realistic network to show."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from sqlalchemy import select

from carebridge.access.models import AccessGrant
from carebridge.analytics.service import consultation_analytics, make_filters
from carebridge.auth import service as auth
from carebridge.auth.models import User
from carebridge.consultations import service as consultations
from carebridge.consultations.lifecycle import LIFECYCLE
from carebridge.consultations.models import CaseEvent, CaseSharedItem, ConsultationCase
from carebridge.demo.seed import load_demo
from carebridge.kit.blobs import LocalBlobStore
from carebridge.referrals.models import Referral
from tests.analytics.conftest import TARGET

TODAY = dt.date(2025, 3, 12)
MIDNIGHT = dt.datetime(2025, 3, 11, 16, 0, tzinfo=dt.UTC)  # the start of TODAY in China


async def test_demo_cases_follow_the_lifecycle_and_are_shared_as_submission_shares(db, tmp_path):
    await load_demo(db, scale=0.2, blobs=LocalBlobStore(tmp_path), today=TODAY)
    cases = (await db.scalars(select(ConsultationCase))).all()
    assert 100 <= len(cases) <= 140
    assert {c.urgency for c in cases} == set(TARGET)
    assert {"draft", "submitted", "closed", "declined", "cancelled"} <= {c.state for c in cases}
    timelines = defaultdict(list)
    for e in (await db.scalars(select(CaseEvent).order_by(CaseEvent.at, CaseEvent.id))).all():
        timelines[e.case_id].append(e)
    shared = defaultdict(set)
    for item in (await db.scalars(select(CaseSharedItem))).all():
        shared[item.case_id].add(item.entry_id)
    grants = {g.source_id: g for g in (await db.scalars(select(AccessGrant).where(
        AccessGrant.source_type == "consultation"))).all()}
    for case in cases:
        events = timelines[case.id]
        assert events[0].action == "request" and events[-1].to_state == case.state
        assert all(e.at < MIDNIGHT for e in events)
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_state == before.to_state
            assert LIFECYCLE.lookup(after.from_state, after.action).to == after.to_state
        assert 1 <= len(shared[case.id]) <= 3
        if case.state == "draft":
            assert case.id not in grants and case.target_facility_id is None
            continue
        last = max(e.at for e in events if e.action in ("submit", "resubmit"))
        assert case.due_at == last + dt.timedelta(minutes=TARGET[case.urgency])
        grant = grants[case.id]
        assert grant.grantee_facility_id == case.target_facility_id
        assert set(grant.scope_entry_ids) == shared[case.id]


async def test_the_demo_cardiologist_opens_a_case_with_its_shared_items(db, tmp_path):
    await load_demo(db, scale=0.2, blobs=LocalBlobStore(tmp_path), today=TODAY)
    user = await db.scalar(select(User).where(User.username == "demo.cardiologist"))
    principal = await auth.load_principal(db, user, via="token")
    case = await db.scalar(select(ConsultationCase).where(ConsultationCase.assigned_expert_id == user.id)
                           .order_by(ConsultationCase.id).limit(1))
    view = await consultations.access_case(db, principal, case.id)
    assert view.patient is not None and len(view.shared) >= 1


async def test_the_demo_dashboard_shows_a_network_near_its_goal(db, tmp_path):
    await load_demo(db, scale=0.2, blobs=LocalBlobStore(tmp_path), today=TODAY)
    admin = await db.scalar(select(User).where(User.username == "demo.admin"))
    principal = await auth.load_principal(db, admin, via="token")
    report = await consultation_analytics(db, principal, make_filters(today=TODAY), now=MIDNIGHT)
    assert report.submitted >= 100 and len(report.by_tier) >= 3 and len(report.by_specialty) >= 5
    assert 0.8 <= report.county.share < 1.0
    assert 0 < report.breaches["total"] < report.submitted * 0.25
    assert report.referrals.up and report.referrals.down
    directions = Counter((await db.scalars(select(Referral.direction))).all())
    assert directions["up"] > directions["down"] > 0
