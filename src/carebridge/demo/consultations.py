"""Demo consultation cases and referrals for the last 90 days, so the dashboards have a network to
show: every state, urgency and tier, timelines that follow the lifecycle table, response times
around the targets (about one case in ten late), shared items with the grant submission creates,
and up- and down-referrals (some patients leave the county, most stay).

Times are drawn backwards from midnight at the start of `today` (China time), so nothing lies in
the future and the same `today` gives the same cases. Rows go in through the bulk writer."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from carebridge.access.models import AccessGrant
from carebridge.auth.models import Role
from carebridge.consultations.models import CaseEvent, CaseSharedItem, ConsultationCase
from carebridge.demo.bulk import BulkWriter
from carebridge.demo.clinical import EntrySink
from carebridge.demo.consultation_referrals import write_referrals
from carebridge.demo.network import OFFERINGS, FacilitySpec
from carebridge.demo.patients import PatientProfile
from carebridge.demo.staff import CHINA, Person
from carebridge.network.models import TIER_LEVEL

SEED = 20250301
DAYS = 90
TARGET_MIN = {"emergency": 30, "urgent": 120, "routine": 24 * 60}
SPECIALTIES = {"cardiology": 30, "internal_medicine": 18, "neurology": 12, "endocrinology": 10, "pediatrics": 8,
               "respiratory": 6, "oncology": 6, "obstetrics": 5, "surgery": 5}
QUESTIONS = {
    "cardiology": "胸闷反复发作，心电图ST段改变，请协助判断是否需要冠脉造影",
    "internal_medicine": "发热伴咳嗽一周，抗感染效果欠佳，请协助调整治疗方案",
    "neurology": "突发言语不清伴右侧肢体无力，请协助评估是否溶栓",
    "endocrinology": "2型糖尿病血糖控制不佳，请协助调整降糖方案",
    "pediatrics": "患儿反复高热伴皮疹，请协助诊断",
    "respiratory": "慢阻肺急性加重，请协助评估是否需要无创通气",
    "oncology": "肺部占位，请协助制定进一步检查及治疗方案",
    "obstetrics": "孕32周血压升高，请协助评估妊娠期高血压处理",
    "surgery": "右下腹痛伴发热，请协助判断是否需要手术",
}
REASONS = {"decline": "非本院开展专科，建议改向上级医院申请", "return_for_information": "请补充近期心电图及血常规结果",
           "cancel": "患者病情好转，暂不需要会诊"}


@dataclass
class DemoCase:
    id: int
    profile: PatientProfile
    origin: FacilitySpec
    target: FacilitySpec
    specialty: str
    urgency: str
    mode: str
    requester: int
    coordinator: int
    expert: int
    events: list[tuple[str, str, str, dt.datetime, int, str]] = field(default_factory=list)
    state: str = "draft"
    due_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    accepted: bool = False

    def move(self, action: str, to: str, at: dt.datetime, actor: int, part: str) -> None:
        self.events.append((action, self.state, to, at, actor, part))
        self.state = to


class Network:
    """Who works where, and which hub above a facility answers a specialty."""

    def __init__(self, specs: list[FacilitySpec], staff: list[Person]) -> None:
        self.by_code = {s.code: s for s in specs}
        self.doctors: dict[str, list[Person]] = {}
        self.admins: dict[str, int] = {}
        for p in staff:
            if p.role == Role.doctor:
                for site in [p.facility, *(s for s, _ in p.sites)]:
                    self.doctors.setdefault(site.code, []).append(p)
            elif p.role == Role.facility_admin:
                self.admins.setdefault(p.facility.code, p.user_id)

    def answering(self, origin: FacilitySpec, specialty: str, skip: int) -> FacilitySpec | None:
        """The nearest hub above that offers the specialty; `skip` passes over that many (a hub
        reassigns, or the doctor asked a higher centre)."""
        found, spec = [], origin
        while spec.hub:
            spec = self.by_code[spec.hub]
            offered = OFFERINGS.get(spec.tier)
            if offered and specialty in offered[0] and TIER_LEVEL[spec.tier] > TIER_LEVEL[origin.tier]:
                found.append(spec)
        return found[min(skip, len(found) - 1)] if found else None

    def expert(self, target: FacilitySpec, specialty: str, rng: random.Random) -> int:
        doctors = self.doctors.get(target.code, [])
        matching = [d for d in doctors if d.specialty == specialty] or doctors
        return rng.choice(matching).user_id

    def requester(self, origin: FacilitySpec) -> int | None:
        own = [d for d in self.doctors.get(origin.code, []) if d.facility is origin]
        return own[0].user_id if own else None


def _submitted_at(rng: random.Random, anchor: dt.datetime, days: int) -> dt.datetime:
    day = rng.randrange(days)
    hour = rng.choices([rng.uniform(8, 18), rng.uniform(18, 24), rng.uniform(0, 8)], [80, 14, 6])[0]
    local = anchor.astimezone(CHINA) - dt.timedelta(days=day + 1) + dt.timedelta(hours=hour)
    return local.astimezone(dt.UTC)


def _minutes(m: float) -> dt.timedelta:
    return dt.timedelta(minutes=m)


def _respond(c: DemoCase, rng: random.Random, at: dt.datetime) -> None:
    """The receiving side's first answer, then the rest of the lifecycle; `at` is the submission."""
    target = TARGET_MIN[c.urgency]
    c.due_at = at + _minutes(target)
    outcome = rng.choices(["triage", "decline", "return", "expire", "cancel"], [84, 5, 7, 1.5, 2.5])[0]
    if outcome == "cancel":
        c.move("cancel", "cancelled", at + _minutes(target * rng.uniform(0.1, 0.9)), c.requester, "requester")
        return
    if outcome == "expire":
        c.move("expire", "expired", at + _minutes(target * 3), c.coordinator, "system")
        return
    answered = at + _minutes(target * min(rng.lognormvariate(-1.05, 0.8), 6))  # p90 near the target
    if outcome == "decline":
        c.move("decline", "declined", answered, c.coordinator, "coordinator")
        return
    if outcome == "return":
        c.move("return_for_information", "returned", answered, c.coordinator, "coordinator")
        if rng.random() < 0.25:
            c.move("cancel", "cancelled", answered + _minutes(rng.uniform(60, 2000)), c.requester, "requester")
            return
        again = answered + _minutes(rng.uniform(60, 1440))
        c.move("resubmit", "submitted", again, c.requester, "requester")
        c.due_at = again + _minutes(target)
        answered = again + _minutes(target * min(rng.lognormvariate(-1.05, 0.8), 6))
    c.move("triage", "triaged", answered, c.coordinator, "coordinator")
    _answer(c, rng, answered + _minutes(target * rng.uniform(0.05, 0.4)))


def _answer(c: DemoCase, rng: random.Random, at: dt.datetime) -> None:
    c.move("accept", "accepted", at, c.expert, "expert")
    c.accepted = True
    quick = c.urgency == "emergency"
    if c.mode == "live":
        at += _minutes(rng.uniform(5, 60))
        c.move("schedule", "scheduled", at, c.expert, "expert")
        at += _minutes(rng.uniform(15, 60) if quick else rng.uniform(120, 2 * 1440))
        c.move("start_session", "in_session", at, c.expert, "expert")
        at += _minutes(rng.uniform(20, 60))
    else:
        at += _minutes(rng.uniform(30, 120) if quick else rng.uniform(180, 2 * 1440))
    c.move("sign_opinion", "opinion_signed", at, c.expert, "expert")
    at += _minutes(rng.uniform(30, 3 * 1440))
    c.move("acknowledge", "acknowledged", at, c.requester, "requester")
    c.move("close", "closed", at + _minutes(rng.uniform(60, 7 * 1440)), c.requester, "requester")


def _cut(c: DemoCase, anchor: dt.datetime) -> None:
    """Keep what happened before the anchor: recent cases are still under way."""
    c.events = [e for e in c.events if e[3] < anchor]
    c.state = c.events[-1][2]
    if c.state in ("closed", "declined", "cancelled", "expired"):
        c.closed_at = c.events[-1][3]
    c.accepted = any(e[0] == "accept" for e in c.events)


def _cases(rng: random.Random, patients: list[PatientProfile], net: Network, count: int,
           anchor: dt.datetime, days: int) -> list[DemoCase]:
    eligible = [p for p in patients if p.consent == "granted"]
    made: list[DemoCase] = []
    for _ in range(count * 2):
        if len(made) == count or not eligible:
            break
        profile = rng.choice(eligible)
        county = [r for r in profile.registrations if r.tier.value == "county_hospital"]
        origin = county[0] if county and rng.random() < 0.25 else profile.home
        specialty = rng.choices(list(SPECIALTIES), list(SPECIALTIES.values()))[0]
        target = net.answering(origin, specialty, 1 if rng.random() < 0.12 else 0)
        requester = net.requester(origin)
        if target is None or requester is None or not net.doctors.get(target.code):
            continue
        urgency = rng.choices(["emergency", "urgent", "routine"], [12, 33, 55])[0]
        mode = "live" if rng.random() < (0.7 if urgency == "emergency" else 0.35) else "async"
        case = DemoCase(0, profile, origin, target, specialty, urgency, mode, requester,
                        net.admins.get(target.code) or net.expert(target, specialty, rng),
                        net.expert(target, specialty, rng))
        at = _submitted_at(rng, anchor, days)
        case.move("request", "draft", at - _minutes(rng.uniform(3, 30)), requester, "requester")
        if rng.random() > 0.02:  # a few drafts never sent
            case.move("submit", "submitted", at, requester, "requester")
            _respond(case, rng, at)
        _cut(case, anchor)
        made.append(case)
    return made


async def write_consultations(bulk: BulkWriter, patients: list[PatientProfile], staff: list[Person],
                              specs: list[FacilitySpec], departments: dict[str, int], entries: EntrySink,
                              today: dt.date, *, count: int | None = None, days: int = DAYS) -> None:
    """About 0.6 cases per demo patient over the last `days` (bench/analytics.py asks for more)."""
    rng = random.Random(SEED)
    anchor = dt.datetime.combine(today, dt.time(), CHINA).astimezone(dt.UTC)
    net = Network(specs, staff)
    cases = _cases(rng, patients, net, count or max(30, round(0.6 * len(patients))), anchor, days)
    latest: dict[int, list[int]] = {}
    for row in sorted(entries.spine, key=lambda r: r["occurred_at"]):
        latest.setdefault(row["patient_id"], []).append(row["id"])
    cases = [c for c in cases if latest.get(c.profile.id)]
    for c, cid in zip(cases, await bulk.ids(ConsultationCase.__table__, len(cases)), strict=True):
        c.id = cid
    await bulk.insert(ConsultationCase.__table__, [_case_row(c, departments) for c in cases])
    events = [e for c in cases for e in _event_rows(c)]
    for row, eid in zip(events, await bulk.ids(CaseEvent.__table__, len(events)), strict=True):
        row["id"] = eid
    await bulk.insert(CaseEvent.__table__, events)
    shared = {c.id: latest[c.profile.id][-rng.randint(1, 3):] for c in cases}
    await bulk.insert(CaseSharedItem.__table__, [{"case_id": cid, "entry_id": e} for cid, ids in shared.items()
                                                  for e in ids])
    sent = [c for c in cases if c.state != "draft"]
    grants = await bulk.ids(AccessGrant.__table__, len(sent))
    await bulk.insert(AccessGrant.__table__, [_grant_row(c, gid, shared[c.id]) for c, gid in zip(sent, grants,
                                                                                                  strict=True)])
    await write_referrals(bulk, rng, cases, net, anchor)


def _case_row(c: DemoCase, departments: dict[str, int]) -> dict:
    sent = c.state != "draft"
    created, updated = c.events[0][3], c.events[-1][3]
    return {"id": c.id, "patient_id": c.profile.id, "requesting_facility_id": c.origin.id,
            "requesting_doctor_id": c.requester, "question": QUESTIONS[c.specialty],
            "clinical_summary": "", "urgency": c.urgency, "mode": c.mode,
            "specialty_department_id": departments[c.specialty], "named_expert_id": None,
            "target_facility_id": c.target.id if sent else None,
            "assigned_expert_id": c.expert if c.accepted else None, "state": c.state,
            "due_at": c.due_at if sent else None, "created_at": created, "updated_at": updated,
            "closed_at": c.closed_at, "version": len(c.events)}


def _event_rows(c: DemoCase) -> list[dict]:
    return [{"case_id": c.id, "at": at, "actor_user_id": None if part == "system" else actor, "actor_part": part,
             "action": action,
             "from_state": "" if action == "request" else from_state, "to_state": to_state,
             "note": REASONS.get(action, "")} for action, from_state, to_state, at, actor, part in c.events]


def _grant_row(c: DemoCase, grant_id: int, entry_ids: list[int]) -> dict:
    """What submission creates: the target facility may read exactly the shared entries, until 30
    days after the case ends."""
    submitted = next(e[3] for e in c.events if e[0] == "submit")
    ends = c.closed_at + dt.timedelta(days=30) if c.closed_at else submitted + dt.timedelta(days=3650)
    return {"id": grant_id, "patient_id": c.profile.id, "grantee_user_id": None, "grantee_facility_id": c.target.id,
            "purpose": "consultation", "scope_all": False, "scope_kinds": [], "scope_entry_ids": sorted(entry_ids),
            "source_type": "consultation", "source_id": c.id, "granted_by_id": c.requester, "created_at": submitted,
            "expires_at": ends, "revoked_at": None, "revoked_by_id": None, "revoke_reason": None}
