"""Double reads for quality: after a final signature a random share of reports (the hub's
`double_read_percent`) is queued for a second reading by another attending at the hub.

The second reader reads blind: until they submit their own impression, the order's report (draft,
versions, addenda, PDF) is hidden from them everywhere reports are shown. Then they see the first
reading and grade it on the RADPEER scale: 1 agreement; 2 a discrepancy a reader would not
ordinarily be expected to catch; 3 one that should be caught most of the time; each 2 or 3 with
"a" (unlikely to matter clinically) or "b" (likely to matter). Discrepancies are counted per first
reader for the hub's administrator, who sees counts and orders, not clinical text.

Picking: an attending of the hub who neither signed this report nor has opened it (per the audit
trail) is drawn at random; when there is none the double read waits unassigned until an eligible
attending takes it. `chooser` is the system's CSPRNG; tests replace it with a seeded Random."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit.models import AuditEvent
from carebridge.auth.principal import Principal
from carebridge.diagnostics import reading_settings, service
from carebridge.diagnostics import report_notices as notices
from carebridge.diagnostics.models import DiagnosisOrder
from carebridge.diagnostics.report_models import DoubleRead, ReportVersion
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_

GRADES = ("1", "2a", "2b", "3a", "3b")
DISCREPANT = GRADES[1:]
QUEUED, READ, GRADED = "queued", "read", "graded"
TEXT_MAX, COMMENT_MAX = 20000, 2000
# Audit actions that show (some of) an order's report to the person doing them.
SEEING_ACTIONS = ("diagnosis_read", "diagnosis_reading", "diagnosis_report_read", "diagnosis_report_pdf",
                  "diagnosis_report_draft", "diagnosis_report_preliminary", "diagnosis_report_final")

chooser: random.Random = secrets.SystemRandom()


def picked(percent: int) -> bool:
    return percent > 0 and chooser.randrange(100) < percent


async def blinded(session: AsyncSession, user_id: int, order_id: int) -> bool:
    """True while this user owes the order a blind second reading."""
    return await session.scalar(select(DoubleRead.id).where(
        DoubleRead.order_id == order_id, DoubleRead.second_reader_id == user_id,
        DoubleRead.second_read_at.is_(None))) is not None


async def _have_seen(session: AsyncSession, order_id: int, user_ids: list[int]) -> set[int]:
    if not user_ids:
        return set()
    rows = await session.scalars(select(AuditEvent.actor_user_id).where(
        AuditEvent.resource_type == "DiagnosisOrder", AuditEvent.resource_id == str(order_id),
        AuditEvent.actor_user_id.in_(user_ids), AuditEvent.action.in_(SEEING_ACTIONS),
        AuditEvent.outcome.in_(("allowed", "success"))).distinct())
    return set(rows.all())


async def eligible(session: AsyncSession, order: DiagnosisOrder, first_reader_id: int) -> list[int]:
    attendings = await reading_settings.attendings_at(session, order.hub_facility_id)
    others = [u for u in attendings if u not in (first_reader_id, order.preliminary_reader_id)]
    seen = await _have_seen(session, order.id, others)
    return [u for u in others if u not in seen]


async def maybe_select(session: AsyncSession, order: DiagnosisOrder, version: ReportVersion) -> DoubleRead | None:
    """Called in the final signature's transaction."""
    hub = await reading_settings.settings_for(session, order.hub_facility_id)
    if not picked(hub.double_read_percent):
        return None
    candidates = await eligible(session, order, version.signed_by_id)
    second = chooser.choice(candidates) if candidates else None
    item = DoubleRead(order_id=order.id, version_id=version.id, hub_facility_id=order.hub_facility_id,
                      first_reader_id=version.signed_by_id, second_reader_id=second, state=QUEUED)
    session.add(item)
    await session.flush()
    if second is not None:
        await notices.double_read_assigned(session, order, second, item.id)
    return item


@dataclass(frozen=True)
class DoubleReadView:
    item: DoubleRead
    order: DiagnosisOrder
    first: ReportVersion | None = None  # shown only once the second reading is in
    may_read: bool = False
    may_grade: bool = False
    may_take: bool = False


async def _load(session: AsyncSession, item_id: int) -> DoubleRead:
    item = await session.get(DoubleRead, item_id)
    if item is None:
        raise NotFound(N_("double read not found"))
    return item


async def _may_take(session: AsyncSession, principal: Principal, item: DoubleRead, order: DiagnosisOrder) -> bool:
    return item.second_reader_id is None and principal.user_id in await eligible(session, order, item.first_reader_id)


async def access_double_read(session: AsyncSession, principal: Principal, item_id: int) -> DoubleReadView:
    """The second reader (or an eligible taker of an unassigned one); the first reader once graded."""
    item = await _load(session, item_id)
    order = await session.get(DiagnosisOrder, item.order_id)
    mine = item.second_reader_id == principal.user_id
    first_after = item.first_reader_id == principal.user_id and item.state == GRADED
    if not (mine or first_after or await _may_take(session, principal, item, order)):
        raise NotFound(N_("double read not found"))
    order, _ = await service.read_order(session, principal, order.id, action="diagnosis_double_read")
    revealed = item.second_read_at is not None
    first = await session.get(ReportVersion, item.version_id) if revealed else None
    return DoubleReadView(item, order, first, may_read=mine and item.state == QUEUED,
                          may_grade=mine and item.state == READ, may_take=not mine and item.second_reader_id is None)


async def take(session: AsyncSession, principal: Principal, item_id: int) -> DoubleRead:
    item = await _load(session, item_id)
    order = await session.get(DiagnosisOrder, item.order_id)
    if not await _may_take(session, principal, item, order):
        raise Conflict(N_("you cannot take this double read (it is taken, or you have read or signed the report)"),
                       code="not_eligible")
    item.second_reader_id = principal.user_id
    await session.flush()
    await service.audit_order(session, principal.actor(order.hub_facility_id), order, "double_read_take")
    return item


async def _mine(session: AsyncSession, principal: Principal, item_id: int,
                state: str) -> tuple[DoubleRead, DiagnosisOrder]:
    item = await _load(session, item_id)
    if item.second_reader_id != principal.user_id:
        raise NotFound(N_("double read not found"))
    if item.state != state:
        raise Conflict(N_("this step of the double read is done already or not yet possible"), code="double_read_state",
                       details={"state": item.state})
    return item, await session.get(DiagnosisOrder, item.order_id)


async def submit_reading(session: AsyncSession, principal: Principal, item_id: int, impression: str) -> DoubleRead:
    item, order = await _mine(session, principal, item_id, QUEUED)
    impression = (impression or "").strip()
    if not 3 <= len(impression) <= TEXT_MAX:
        raise InvalidInput(N_("write your impression (3 to 20000 characters)"), details={"field": "impression"})
    item.second_impression, item.second_read_at, item.state = impression, utcnow(), READ
    await session.flush()
    await service.audit_order(session, principal.actor(order.hub_facility_id), order, "double_read_submit")
    return item


async def grade(session: AsyncSession, principal: Principal, item_id: int, score: str, comment: str = "") -> DoubleRead:
    item, order = await _mine(session, principal, item_id, READ)
    comment = (comment or "").strip()
    if score not in GRADES:
        raise InvalidInput(N_("grade 1, 2a, 2b, 3a or 3b"), details={"field": "grade", "options": list(GRADES)})
    if score in DISCREPANT and len(comment) < 3:
        raise InvalidInput(N_("describe the discrepancy"), details={"field": "comment"})
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(N_("the comment is too long (at most 2000 characters)"), details={"field": "comment"})
    item.grade, item.comment, item.graded_at, item.state = score, comment, utcnow(), GRADED
    await session.flush()
    await service.audit_order(session, principal.actor(order.hub_facility_id), order, "double_read_grade",
                              detail={"grade": score})
    return item


async def my_queue(session: AsyncSession, principal: Principal) -> list[DoubleReadView]:
    """Assigned to me and not graded, then unassigned ones at hubs where I could take them. Lists
    name the orders only (no patient data), so they are not audited as reads."""
    hubs = sorted(principal.facilities_with("doctor"))
    rows = (await session.scalars(select(DoubleRead).where(
        DoubleRead.state != GRADED, or_(DoubleRead.second_reader_id == principal.user_id,
                                        DoubleRead.second_reader_id.is_(None) & DoubleRead.hub_facility_id.in_(hubs)))
        .order_by(DoubleRead.selected_at, DoubleRead.id).limit(200))).all()
    mine, open_ones = [], []
    for r in rows:
        order = await session.get(DiagnosisOrder, r.order_id)
        if r.second_reader_id == principal.user_id:
            mine.append(DoubleReadView(r, order, may_read=r.state == QUEUED, may_grade=r.state == READ))
        elif await _may_take(session, principal, r, order):
            open_ones.append(DoubleReadView(r, order, may_take=True))
    return mine + open_ones


@dataclass
class ReaderStats:
    reader_id: int
    graded: int = 0
    by_grade: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))

    @property
    def discrepancies(self) -> int:
        return sum(self.by_grade[g] for g in DISCREPANT)

    @property
    def significant(self) -> int:
        return self.by_grade["2b"] + self.by_grade["3b"]

    @property
    def rate(self) -> float:
        return self.discrepancies / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class HubQuality:
    hub_id: int
    readers: list[ReaderStats]
    pending: int
    discrepancies: list[DoubleRead]


async def hub_quality(session: AsyncSession, principal: Principal, hub_id: int,
                      since: dt.datetime | None = None) -> HubQuality:
    """For the hub's administrator: graded double reads per first reader, open ones, discrepancies."""
    await reading_settings.access_settings(session, principal, hub_id, manage=True)
    graded = select(DoubleRead.first_reader_id, DoubleRead.grade, func.count()).where(
        DoubleRead.hub_facility_id == hub_id, DoubleRead.state == GRADED)
    if since is not None:
        graded = graded.where(DoubleRead.graded_at >= since)
    readers: dict[int, ReaderStats] = {}
    for reader_id, score, n in (await session.execute(graded.group_by(DoubleRead.first_reader_id,
                                                                      DoubleRead.grade))).all():
        stats = readers.setdefault(reader_id, ReaderStats(reader_id))
        stats.graded += n
        stats.by_grade[score] += n
    pending = await session.scalar(select(func.count()).select_from(DoubleRead).where(
        DoubleRead.hub_facility_id == hub_id, DoubleRead.state != GRADED)) or 0
    wrong = select(DoubleRead).where(DoubleRead.hub_facility_id == hub_id, DoubleRead.grade.in_(DISCREPANT))
    if since is not None:
        wrong = wrong.where(DoubleRead.graded_at >= since)
    found = (await session.scalars(wrong.order_by(DoubleRead.graded_at.desc(), DoubleRead.id.desc()).limit(500))).all()
    ranked = sorted(readers.values(), key=lambda s: (-s.rate, -s.graded, s.reader_id))
    return HubQuality(hub_id, ranked, pending, list(found))
