"""Demo referrals that follow the demo consultations: some opinions send the patient up (a few
beyond the county, which the county-share figure counts), and patients who went up come back down
for rehabilitation or follow-up with a plan for the local doctor. Grants follow the patient, and
arrival registers the patient at the receiving facility, as the referral service does."""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING

from sqlalchemy import select

from carebridge.access.models import AccessGrant
from carebridge.demo.bulk import BulkWriter
from carebridge.network.models import TIER_LEVEL, Tier
from carebridge.records.models import PatientRegistration
from carebridge.referrals.models import Referral

if TYPE_CHECKING:
    from carebridge.demo.consultations import DemoCase, Network

COUNTY = TIER_LEVEL[Tier.county_hospital]
PLAN = "出院后继续康复训练，监测血压血糖，两周后复诊；如有胸痛、气促加重立即转诊"
STEPS = (("accepted", 2, 24), ("arrived", 12, 72), ("completed", 3 * 24, 14 * 24))  # hours after the previous


def _progress(rng: random.Random, start: dt.datetime, anchor: dt.datetime) -> tuple[str, dt.datetime, str]:
    """(state, when it last changed, reason) along the lifecycle, cut at the anchor."""
    if rng.random() < 0.06:
        return "declined", start + dt.timedelta(hours=rng.uniform(1, 12)), "床位已满，建议转往其他医院"
    state, at = "requested", start
    for step, low, high in STEPS:
        nxt = at + dt.timedelta(hours=rng.uniform(low, high))
        if nxt >= anchor:
            break
        state, at = step, nxt
    return state, at, ""


def _up_target(c: DemoCase, net: Network, rng: random.Random):  # noqa: ANN202
    """Beyond the county for a few (the opinion's hospital, or the county's hub), else the county."""
    if TIER_LEVEL[c.target.tier] > COUNTY and rng.random() < 0.15:
        return c.target
    county = c.origin if c.origin.tier == Tier.county_hospital else None
    spec = c.origin
    while county is None and spec.hub:
        spec = net.by_code[spec.hub]
        county = spec if spec.tier == Tier.county_hospital else None
    if county is None:
        return None
    if rng.random() < 0.04:
        return net.by_code[county.hub]
    return county if county is not c.origin and rng.random() < 0.1 else None


def _plan(rng: random.Random, cases: list[DemoCase], net: Network, anchor: dt.datetime) -> list[dict]:
    rows = []
    for c in cases:
        signed = next((e[3] for e in c.events if e[0] == "sign_opinion"), None)
        target = _up_target(c, net, rng) if signed else None
        if target is None:
            continue
        at = signed + dt.timedelta(hours=rng.uniform(1, 48))
        if at >= anchor:
            continue
        state, changed, why = _progress(rng, at, anchor)
        rows.append(_row(c.profile.id, c.origin, target, "up", "emergency" if c.urgency == "emergency" else
                         rng.choice(["capability_gap", "specialist_needed", "equipment"]), c.requester, at, changed,
                         state, why))
        if state == "completed" and rng.random() < 0.7:
            back = changed + dt.timedelta(hours=rng.uniform(2, 48))
            if back < anchor:
                doctor = net.doctors.get(target.code)
                state2, changed2, why2 = _progress(rng, back, anchor)
                rows.append(_row(c.profile.id, target, c.origin, "down", rng.choice(["rehabilitation", "follow_up"]),
                                 doctor[0].user_id if doctor else c.requester, back, changed2, state2, why2))
    return rows


def _row(patient_id: int, source, to, direction: str, reason: str, by: int, at: dt.datetime,  # noqa: ANN001
         changed: dt.datetime, state: str, why: str) -> dict:
    down = direction == "down"
    return {"patient_id": patient_id, "from_facility_id": source.id, "to_facility_id": to.id, "direction": direction,
            "reason": reason, "summary": "会诊意见建议转诊" if not down else "病情稳定，转回基层继续治疗",
            "plan": PLAN if down else "", "follow_up_days": 14 if down else None, "state": state,
            "state_reason": why, "requested_by_id": by, "created_at": at, "updated_at": changed,
            "ended_at": changed if state in ("completed", "declined") else None, "grant_id": None}


async def write_referrals(bulk: BulkWriter, rng: random.Random, cases: list[DemoCase], net: Network,
                          anchor: dt.datetime) -> None:
    rows = _plan(rng, cases, net, anchor)
    grants = []
    for row, rid, gid in zip(rows, await bulk.ids(Referral.__table__, len(rows)),
                             await bulk.ids(AccessGrant.__table__, len(rows)), strict=True):
        row["id"], row["grant_id"] = rid, gid
        ends = row["ended_at"] + dt.timedelta(days=30) if row["ended_at"] else row["created_at"] + dt.timedelta(
            days=365)
        grants.append({"id": gid, "patient_id": row["patient_id"], "grantee_user_id": None,
                       "grantee_facility_id": row["to_facility_id"], "purpose": "referral", "scope_all": True,
                       "scope_kinds": [], "scope_entry_ids": [], "source_type": "referral", "source_id": rid,
                       "granted_by_id": row["requested_by_id"], "created_at": row["created_at"], "expires_at": ends,
                       "revoked_at": None, "revoked_by_id": None, "revoke_reason": None})
    await bulk.insert(AccessGrant.__table__, grants)  # before the referrals that point at them
    await bulk.insert(Referral.__table__, rows)
    patients = {row["patient_id"] for row in rows}
    known = select(PatientRegistration.patient_id, PatientRegistration.facility_id).where(
        PatientRegistration.patient_id.in_(patients))
    registered = {(p, f) for p, f in (await bulk.session.execute(known)).all()}
    arrivals = []
    for row in rows:
        key = (row["patient_id"], row["to_facility_id"])
        if row["state"] in ("arrived", "completed") and key not in registered:
            registered.add(key)
            arrivals.append({"patient_id": key[0], "facility_id": key[1], "mrn": f"REF{row['id']:07d}",
                             "registered_at": row["updated_at"]})
    for row, reg_id in zip(arrivals, await bulk.ids(PatientRegistration.__table__, len(arrivals)), strict=True):
        row["id"] = reg_id
    await bulk.insert(PatientRegistration.__table__, arrivals)

