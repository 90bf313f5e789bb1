"""The dashboard's numbers against cases whose times were chosen by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from carebridge.analytics.service import analytics_scope, consultation_analytics, make_filters
from carebridge.analytics.stats import percentile
from carebridge.errors import Forbidden, InvalidInput
from tests.analytics.conftest import NOW, TODAY, ago


async def report_for(world, user, **filters):  # noqa: ANN001, ANN201
    principal = await world.principal(user)
    return await consultation_analytics(world.db, principal, make_filters(today=TODAY, **filters), now=NOW)


def timing(report, urgency):  # noqa: ANN001, ANN201
    return next(t for t in report.timings if t.urgency == urgency)


async def test_median_and_p90_of_response_and_completion_times(world, net, cases):
    for i in range(1, 11):  # answered after 10, 20, ... 100 minutes; every other one signed
        await cases.add(ago(days=i), responses=[("triage", 10 * i)], signed=200 * i if i % 2 == 0 else None)
    await cases.add(ago(hours=1))  # waiting, not yet due
    report = await report_for(world, net.platform_admin)
    routine = timing(report, "routine")
    assert (routine.cases, routine.responded, routine.target_minutes) == (11, 10, 1440)
    assert routine.response_median == pytest.approx(55) and routine.response_p90 == pytest.approx(91)
    assert routine.within_target == 10 and routine.within_target_share == 1
    # signed after 400, 800, 1200, 1600, 2000 minutes
    assert routine.completed == 5
    assert routine.completion_median == pytest.approx(1200) and routine.completion_p90 == pytest.approx(1840)
    assert report.breaches["total"] == 0
    assert timing(report, "emergency").response_median is None


async def test_first_response_counts_whichever_move_answered_first(world, net, cases):
    await cases.add(ago(days=2), "urgent", responses=[("return_for_information", 30), ("triage", 500)],
                    resubmitted=400)
    await cases.add(ago(days=2), "urgent", responses=[("decline", 90)], state="declined", closed=90)
    urgent = timing(await report_for(world, net.platform_admin), "urgent")
    assert urgent.responded == 2 and urgent.response_median == pytest.approx(60)


async def test_breaches_late_answers_and_cases_left_waiting(world, net, cases):
    await cases.add(ago(days=1), "emergency", responses=[("triage", 20)])  # in time
    await cases.add(ago(days=1), "emergency", responses=[("accept", 45)])  # late
    await cases.add(ago(hours=3), "urgent")  # due an hour ago, still waiting: unanswered
    await cases.add(ago(hours=1), "urgent")  # due in an hour: not yet a breach
    # returned in time, resubmitted after 600 min, answered 200 min after the resubmission: late
    await cases.add(ago(days=2), "urgent", responses=[("return_for_information", 60), ("triage", 800)],
                    resubmitted=600)
    await cases.add(ago(hours=5), "urgent", state="cancelled", closed=60)  # withdrawn before its deadline
    await cases.add(ago(days=5), "routine", state="expired", closed=2000)  # expired unanswered
    report = await report_for(world, net.platform_admin)
    assert report.breaches == {"total": 4, "late": 2, "unanswered": 2}
    assert report.breaches_by_urgency == {"emergency": 1, "urgent": 2, "routine": 1}
    emergency = timing(report, "emergency")
    assert emergency.response_median == pytest.approx(32.5) and emergency.within_target == 1
    assert sum(w.breaches for w in report.weeks) == 4


async def test_share_handled_at_county_level_or_below(world, net, cases):
    p = net.patients
    await cases.add(ago(days=20), patient=p[0], responses=[("triage", 30)])
    await cases.referral(p[0], net.city, ago(days=19))  # left the county: up to a city hospital
    await cases.add(ago(days=20), patient=p[1], responses=[("triage", 30)])
    await cases.referral(p[1], net.city, ago(days=18), state="declined")  # did not go
    await cases.referral(p[1], net.county, ago(days=18))  # stayed in the county
    await cases.add(ago(days=60), patient=p[2])
    await cases.referral(p[2], net.city, ago(days=20))  # 40 days later: not this case's doing
    await cases.add(ago(days=10), patient=p[3], requester=net.village, target=net.city)
    await cases.add(ago(days=10), patient=p[3], requester=net.city, target=net.county)  # asked above county
    await cases.referral(p[3], net.township, ago(days=5), direction="down", source=net.county, state="completed")
    report = await report_for(world, net.platform_admin)
    county = report.county
    assert (county.eligible, county.kept, county.share, county.goal) == (4, 3, 0.75, 0.9)
    assert county.answered_within == 3 and county.answered_share == 0.75
    assert (report.referrals.up, report.referrals.down, report.referrals.up_above_county) == (4, 1, 3)
    assert report.referrals.by_state["up"] == {"requested": 3, "declined": 1}
    weekly = [w for w in report.weeks if w.county_eligible]
    assert sum(w.county_kept for w in weekly) == 3 and sum(w.county_eligible for w in weekly) == 4


async def test_counts_by_tier_facility_specialty_and_urgency(world, net, cases):
    await cases.add(ago(days=1), "emergency")
    await cases.add(ago(days=2), "urgent", requester=net.village)
    await cases.add(ago(days=3), "urgent", target=net.city)
    report = await report_for(world, net.platform_admin)
    assert report.submitted == 3
    assert [(g.key, g.count) for g in report.by_tier] == [("township_center", 2), ("village_clinic", 1)]
    assert [(int(g.key), g.count) for g in report.by_facility] == [(net.township.id, 2), (net.village.id, 1)]
    assert [(int(g.key), g.count) for g in report.by_target] == [(net.county.id, 2), (net.city.id, 1)]
    assert [(g.key, g.count) for g in report.by_urgency] == [("emergency", 1), ("urgent", 2)]
    assert [(g.key, g.count) for g in report.by_specialty] == [("", 3)]
    assert report.by_state == {"submitted": 3}


async def test_period_urgency_and_facility_filters(world, net, cases):
    await cases.add(ago(days=1), "emergency")
    await cases.add(ago(days=100), "routine")
    await cases.add(ago(days=2), "urgent", requester=net.township, target=net.other_county)
    assert (await report_for(world, net.platform_admin)).submitted == 2  # the last 90 days
    older = await report_for(world, net.platform_admin, since=TODAY - dt.timedelta(days=120))
    assert older.submitted == 3
    assert (await report_for(world, net.platform_admin, urgency="urgent")).submitted == 1
    assert (await report_for(world, net.platform_admin, facility_id=net.other_county.id)).submitted == 1
    assert (await report_for(world, net.platform_admin, since=TODAY, until=TODAY)).submitted == 0


async def test_who_sees_which_cases(world, net, cases):
    await cases.add(ago(days=1))  # township -> county
    await cases.add(ago(days=2), target=net.other_county)
    assert (await report_for(world, net.platform_admin)).submitted == 2
    mine = await report_for(world, net.county_admin)
    assert mine.submitted == 1 and not mine.network_wide and mine.facility_ids == [net.county.id]
    assert (await report_for(world, net.other_admin)).submitted == 1
    with pytest.raises(Forbidden):
        await report_for(world, net.county_admin, facility_id=net.other_county.id)
    for user in (net.doctor, net.county_doctor):
        with pytest.raises(Forbidden):
            analytics_scope(await world.principal(user))


def test_bad_filters_are_refused():
    with pytest.raises(InvalidInput):
        make_filters(dt.date(2025, 3, 2), dt.date(2025, 3, 1))
    with pytest.raises(InvalidInput):
        make_filters(dt.date(2020, 1, 1), dt.date(2025, 3, 1))
    with pytest.raises(InvalidInput):
        make_filters(urgency="soon")
    f = make_filters(today=TODAY)
    assert (f.since, f.until) == (dt.date(2024, 12, 13), TODAY)


async def test_percentile_matches_postgresql_percentile_cont(db):
    values = [7.0, 1.0, 3.0, 10.0, 4.5, 8.0, 2.0]
    assert percentile([], 0.5) is None and percentile([5.0], 0.9) == 5.0
    if db.get_bind().dialect.name != "postgresql":
        assert percentile(values, 0.5) == 4.5 and percentile(values, 0.9) == pytest.approx(8.8)
        return
    rows = ", ".join(f"({v})" for v in values)
    for p in (0.5, 0.9):
        expected = await db.scalar(text(
            f"SELECT percentile_cont({p}) WITHIN GROUP (ORDER BY v) FROM (VALUES {rows}) AS t(v)"))  # noqa: S608
        assert percentile(values, p) == pytest.approx(float(expected))
