"""What the case page shows about time and people: the overdue / escalated badge, expert
suggestions for the coordinator or lead, and the session schedule with its slot picker.

Times on pages are shown in the configured display zone (the network works in China Standard
Time) and labelled with it; the API and invitations carry UTC."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.consultations import escalation, scheduling, service, suggestions
from carebridge.consultations.lifecycle import Action, Actor, State
from carebridge.consultations.models import ConsultationCase
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_

SLOT_MOVES = frozenset({Action.schedule.value, Action.reschedule.value})  # booked from the schedule section


@dataclass(frozen=True)
class SlotChoice:
    value: str  # the slot's start, ISO 8601 UTC (what the form posts)
    label: str  # start–end in the display zone


@dataclass(frozen=True)
class DayChoices:
    date: str
    weekday: str  # a msgid: the template translates it
    slots: list[SlotChoice]


WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))


@dataclass
class Panels:
    zone: str
    overdue: bool = False
    breaches: list[escalation.BreachView] = field(default_factory=list)
    suggestions: suggestions.Suggestions | None = None
    schedule: scheduling.ScheduleView | None = None
    days: list[DayChoices] = field(default_factory=list)
    slot_moves: frozenset[str] = SLOT_MOVES

    def local(self, moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return moment.astimezone(ZoneInfo(self.zone)).strftime(fmt) if moment else ""


def is_overdue(case: ConsultationCase, now: dt.datetime | None = None) -> bool:
    return (case.state in escalation.UNANSWERED and case.due_at is not None and case.due_at <= (now or utcnow()))


def day_choices(slots: list[scheduling.Slot], zone: str) -> list[DayChoices]:
    tz = ZoneInfo(zone)
    days = []
    for day, group in groupby(slots, key=lambda s: s.starts_at.astimezone(tz).date()):
        days.append(DayChoices(day.isoformat(), WEEKDAYS[day.weekday()], [SlotChoice(
            s.starts_at.astimezone(dt.UTC).isoformat(),
            f"{s.starts_at.astimezone(tz):%H:%M}–{s.ends_at.astimezone(tz):%H:%M}") for s in group]))
    return days


async def case_panels(session: AsyncSession, principal: Principal, view: service.CaseView) -> Panels:
    case = view.case
    panels = Panels(zone=get_settings().display_timezone, overdue=is_overdue(case),
                    breaches=await escalation.breaches_of_case(session, case.id))
    if {Actor.coordinator, Actor.expert} & view.parts and case.state in suggestions.SUGGEST_STATES:
        panels.suggestions = await suggestions.suggest_experts(session, principal, case.id)
    if case.mode == "live" and case.state not in (State.draft.value, State.submitted.value, State.triaged.value,
                                                  State.returned.value):
        panels.schedule = await scheduling.schedule_view(session, principal, case.id)
        panels.days = day_choices(panels.schedule.slots, panels.zone)
    return panels

