"""Who reads an order: the hub's readers, automatic assignment, assignment by hand, reader profiles.

`on_ready` is called by studies.py when an order's study completes and the order enters the
worklist. It picks among the hub's doctors:
1. subspecialty: a reader whose profile lists modalities or body parts reads only those; one who
   cannot sign a final report (a resident) gets an order only where a preliminary read is wanted
   (a two-step order still waiting for its preliminary report);
2. on duty now (a network roster shift at the hub), then
3. the closest fit (explicitly listed modality and body part), then
4. the lightest current load (orders on the worklist assigned to them), then
5. whoever was assigned least recently.
With nobody on duty the best-placed reader still gets it: an unassigned order is read by nobody in
particular, and the escalation sweep calls the on-call reader if it comes close to its target.

Assignment is not a lifecycle move: it leaves `version` alone, so reassigning never makes a reader's
signature fail as stale."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import record_denial
from carebridge.audit import service as audit
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.diagnostics import service
from carebridge.diagnostics.lifecycle import ON_WORKLIST, Party, State
from carebridge.diagnostics.models import DiagnosisOrder, Modality
from carebridge.diagnostics.reading_models import ReaderProfile, ReadingAssignment
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Practitioner, RosterShift, Title
from carebridge.notifications.service import notify

BODY_PART_MAX = 64
NOTE_MAX = 500
NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Reader:
    """A doctor at a hub as assignment sees them: the profile in force (stored or default) and now."""

    user_id: int
    name: str
    title: str | None
    modalities: tuple[str, ...]
    body_parts: tuple[str, ...]
    can_sign_final: bool
    reads: bool
    has_profile: bool
    on_duty: bool
    load: int
    last_assigned_at: dt.datetime | None

    def fit(self, order: DiagnosisOrder) -> int | None:
        """None when this reader should not get the order; else how many of its modality and body
        part their profile names explicitly (a closer fit ranks first)."""
        if not self.reads or (not self.can_sign_final and not wants_preliminary(order)):
            return None
        part = normal_part(order.body_part)
        if self.modalities and order.modality not in self.modalities:
            return None
        if self.body_parts and part not in self.body_parts:
            return None
        return int(bool(self.modalities)) + int(bool(self.body_parts))

    def rank(self, fit: int) -> tuple:
        return (not self.on_duty, -fit, self.load, self.last_assigned_at or NEVER, self.user_id)


def wants_preliminary(order: DiagnosisOrder) -> bool:
    return order.two_step and order.state == State.ready.value


def normal_part(value: str) -> str:
    # DICOM BodyPartExamined is upper case (CHEST, HEAD); people type "chest" as often.
    return " ".join(value.split()).upper()


def default_can_sign_final(title: str | None) -> bool:
    """Without a reader profile, only an attending or above signs final: an unknown title cannot."""
    return title in (Title.attending.value, Title.associate_chief.value, Title.chief.value)


async def _doctors(session: AsyncSession, hub_id: int) -> list[tuple[User, str | None]]:
    rows = await session.execute(
        select(User, Practitioner.title).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .outerjoin(Practitioner, Practitioner.user_id == User.id)
        .where(RoleAssignment.role == Role.doctor.value, RoleAssignment.facility_id == hub_id, User.is_active)
        .order_by(User.id))
    return [(user, title) for user, title in rows.all()]


async def current_load(session: AsyncSession, user_ids: list[int]) -> dict[int, int]:
    counts = dict.fromkeys(user_ids, 0)
    if user_ids:
        rows = await session.execute(
            select(DiagnosisOrder.assigned_reader_id, func.count()).where(
                DiagnosisOrder.assigned_reader_id.in_(user_ids),
                DiagnosisOrder.state.in_([s.value for s in ON_WORKLIST]))
            .group_by(DiagnosisOrder.assigned_reader_id))
        counts.update({user_id: n for user_id, n in rows.all()})
    return counts


async def on_duty_users(session: AsyncSession, hub_id: int, user_ids: list[int], now: dt.datetime) -> set[int]:
    if not user_ids:
        return set()
    return set((await session.scalars(
        select(Practitioner.user_id).join(RosterShift, RosterShift.practitioner_id == Practitioner.id)
        .where(Practitioner.user_id.in_(user_ids), RosterShift.facility_id == hub_id,
               RosterShift.starts_at <= now, RosterShift.ends_at > now))).all())


async def _last_assigned(session: AsyncSession, user_ids: list[int]) -> dict[int, dt.datetime]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(ReadingAssignment.reader_user_id, func.max(ReadingAssignment.assigned_at))
        .where(ReadingAssignment.reader_user_id.in_(user_ids)).group_by(ReadingAssignment.reader_user_id))
    return {user_id: at for user_id, at in rows.all()}


async def hub_readers(session: AsyncSession, hub_id: int, now: dt.datetime | None = None) -> list[Reader]:
    """Every doctor at the hub with the profile in force, on duty now, load and last assignment."""
    now = now or utcnow()
    doctors = await _doctors(session, hub_id)
    ids = [user.id for user, _ in doctors]
    profiles = {p.user_id: p for p in (await session.scalars(select(ReaderProfile).where(
        ReaderProfile.facility_id == hub_id, ReaderProfile.user_id.in_(ids)))).all()} if ids else {}
    duty, load, last = (await on_duty_users(session, hub_id, ids, now), await current_load(session, ids),
                        await _last_assigned(session, ids))
    readers = []
    for user, title in doctors:
        p = profiles.get(user.id)
        readers.append(Reader(
            user.id, user.display_name, title, tuple(p.modalities) if p else (), tuple(p.body_parts) if p else (),
            p.can_sign_final if p else default_can_sign_final(title), p.reads if p else True, p is not None,
            user.id in duty, load[user.id], last.get(user.id)))
    return readers


def choose_reader(order: DiagnosisOrder, readers: list[Reader]) -> Reader | None:
    fitting = [(r, fit) for r in readers if (fit := r.fit(order)) is not None]
    return min(fitting, key=lambda item: item[0].rank(item[1]))[0] if fitting else None


async def _record_assignment(session: AsyncSession, order: DiagnosisOrder, reader_id: int | None,
                             by: int | None, note: str, now: dt.datetime) -> None:
    order.assigned_reader_id = reader_id
    session.add(ReadingAssignment(order_id=order.id, reader_user_id=reader_id, assigned_at=now,
                                  assigned_by_id=by, note=note[:NOTE_MAX]))
    await session.flush()
    party = Party.system if by is None else Party.reader
    await service.record_event(session, by, order, party, "assign" if reader_id else "unassign", note)
    if reader_id is not None and reader_id != by:
        await notify(session, [reader_id], kind="diagnosis", title=f"diagnosis #{order.id}: assigned to you",
                     body=f"{order.urgency} · {order.modality} {order.body_part}".strip(),
                     link=f"/diagnosis/worklist?mine=me#order-{order.id}")


async def on_ready(session: AsyncSession, order: DiagnosisOrder, now: dt.datetime | None = None) -> int | None:
    """Assigns the order that just entered the worklist (or whose preliminary report was just signed,
    when the caller wants an attending chosen for the final read). Returns the reader's user id."""
    now = now or utcnow()
    reader = choose_reader(order, await hub_readers(session, order.hub_facility_id, now))
    if reader is None:
        return None
    await _record_assignment(session, order, reader.user_id, None, reader.name, now)
    return reader.user_id


async def may_sign_final(session: AsyncSession, user_id: int, hub_id: int) -> bool:
    """For report signing: the reader's profile at the hub, else their title (resident: preliminary only)."""
    profile = await session.scalar(select(ReaderProfile).where(ReaderProfile.user_id == user_id,
                                                               ReaderProfile.facility_id == hub_id))
    if profile is not None:
        return profile.can_sign_final
    return default_can_sign_final(await session.scalar(select(Practitioner.title).where(
        Practitioner.user_id == user_id)))


# --- by hand -----------------------------------------------------------------------------------


def coordinates(principal: Principal, hub_id: int) -> bool:
    """Doctors and administrators of a hub assign its orders by hand."""
    return principal.has_role(Role.doctor, hub_id) or principal.has_role(Role.facility_admin, hub_id)


async def coordinated_order(session: AsyncSession, principal: Principal, order_id: int) -> DiagnosisOrder:
    order = await session.get(DiagnosisOrder, order_id)
    if order is None or not coordinates(principal, order.hub_facility_id):
        record_denial(session, principal, order.patient_id if order else None, action="diagnosis_assign",
                      resource_type="DiagnosisOrder", resource_id=order_id, purpose=Purpose.diagnosis.value)
        raise NotFound(N_("diagnosis order not found"))
    return order


async def assign_by_hand(session: AsyncSession, principal: Principal, order_id: int, reader_id: int | None,
                         note: str = "") -> DiagnosisOrder:
    """Names the reader of an order on the worklist (None: nobody in particular)."""
    order = await coordinated_order(session, principal, order_id)
    if order.state not in ON_WORKLIST:
        raise Conflict(N_("this order is not waiting to be read"), code="not_on_worklist")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(N_("the note is too long (at most 500 characters)"), details={"field": "note"})
    if reader_id is not None:
        reader = next((r for r in await hub_readers(session, order.hub_facility_id) if r.user_id == reader_id), None)
        if reader is None:
            raise InvalidInput(N_("choose a doctor of the reading hub"), details={"field": "reader_user_id"})
        if not reader.can_sign_final and not wants_preliminary(order):
            raise InvalidInput(N_("this reader may write preliminary reports only"),
                               details={"field": "reader_user_id"})
    if reader_id == order.assigned_reader_id:
        return order
    await _record_assignment(session, order, reader_id, principal.user_id, note, utcnow())
    await service.audit_order(session, principal.actor(order.hub_facility_id), order, "assign",
                              detail={"reader_user_id": reader_id})
    return order


# --- reader profiles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileInput:
    modalities: list[str]
    body_parts: list[str]
    can_sign_final: bool
    reads: bool = True


def check_readers_view(principal: Principal, hub_id: int) -> None:
    if not coordinates(principal, hub_id):
        raise Forbidden(N_("only the hub's doctors and administrators see its readers"))


def _clean_profile(data: ProfileInput) -> tuple[list[str], list[str]]:
    known = {m.value for m in Modality}
    modalities = sorted({m.strip().upper() for m in data.modalities if m.strip()})
    if unknown := [m for m in modalities if m not in known]:
        raise InvalidInput(N_("unknown modality"), details={"field": "modalities", "unknown": unknown})
    parts = sorted({normal_part(p) for p in data.body_parts if p.strip()})
    if any(len(p) > BODY_PART_MAX for p in parts) or len(parts) > 50:
        raise InvalidInput(N_("body parts: at most 50, each at most 64 characters"), details={"field": "body_parts"})
    return modalities, parts


async def set_profile(session: AsyncSession, principal: Principal, hub_id: int, user_id: int,
                      data: ProfileInput) -> ReaderProfile:
    """The hub's administrators set who reads what and who signs final: signing is a privilege, so
    a doctor cannot grant it to themselves."""
    if not principal.has_role(Role.facility_admin, hub_id):
        raise Forbidden(N_("only the hub's administrators set reader profiles"))
    if user_id == principal.user_id:  # an administrator who also reads would otherwise sign final on their own say
        raise Forbidden(N_("another administrator sets your own reader profile"))
    modalities, parts = _clean_profile(data)
    if user_id not in {user.id for user, _ in await _doctors(session, hub_id)}:
        raise NotFound(N_("no such doctor at this hub"))
    profile = await session.scalar(select(ReaderProfile).where(ReaderProfile.user_id == user_id,
                                                               ReaderProfile.facility_id == hub_id))
    if profile is None:
        profile = ReaderProfile(user_id=user_id, facility_id=hub_id)
        session.add(profile)
    profile.modalities, profile.body_parts = modalities, parts
    profile.can_sign_final, profile.reads = data.can_sign_final, data.reads
    profile.updated_at, profile.updated_by_id = utcnow(), principal.user_id
    await session.flush()
    await audit.append(session, audit.Entry(
        action="reader_profile", outcome="success", actor=principal.actor(hub_id), resource_type="ReaderProfile",
        resource_id=profile.id, facility_id=hub_id,
        detail={"user_id": user_id, "modalities": modalities, "body_parts": parts,
                "can_sign_final": data.can_sign_final, "reads": data.reads}))
    return profile
